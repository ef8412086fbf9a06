'use strict';

// `aem-upload upload` and `aem-upload plan` (docs/cli.md) as a user runs
// them: the real command in child processes, against the emulator, with a
// .env file, signals, a pseudo-terminal (`script`), journals and shards.

const fs = require('fs');
const path = require('path');
const { spawn, execFileSync } = require('child_process');
const net = require('net');
const { useEmulator, tempDir, bytes } = require('./helpers/emulator');
const { sha256 } = require('./helpers/http');

const BIN = path.join(__dirname, '..', 'bin', 'aem-upload.js');
const HWM = path.join(__dirname, 'fixtures', 'peak-rss.js');
const PASSWORD = 'canary-password-7f3a';
const env = useEmulator({ storage: 'digest', auth: { basic: { admin: PASSWORD } } });

let work;
beforeEach(() => {
  work = tempDir('aem-cli-');
  env.emulator.reset();
  env.emulator.configure({ faults: { routes: null } });
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

/** Runs the command in `cwd` (default: the test's folder, with its .env). */
function cli(args, { cwd = work, extraEnv = {}, onStdout } = {}) {
  const childEnv = { ...process.env, ...extraEnv };
  for (const key of ['AEM_URL', 'AEM_USERNAME', 'AEM_PASSWORD', 'AEM_BEARER_TOKEN', 'TARGET_FOLDER']) {
    if (!(key in extraEnv)) delete childEnv[key];
  }
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => {
    out.stdout += d;
    if (onStdout) onStdout(out.stdout, child);
  });
  child.stderr.on('data', (d) => { out.stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, ...out })));
  return Object.assign(exited, { child });
}

function dotEnv(dir = work, extra = '') {
  fs.writeFileSync(path.join(dir, '.env'), `AEM_URL=${env.emulator.url}\nAEM_USERNAME=admin\nAEM_PASSWORD=${PASSWORD}\n${extra}`);
}

/** `count` files of `size` bytes in `folders` folders under dir/name. */
function tree(name, count, folders = 1, size = 100) {
  const top = path.join(work, name);
  const files = [];
  for (let i = 0; i < count; i += 1) {
    const rel = folders > 1 ? `f${String(i % folders).padStart(3, '0')}/file-${i}.bin` : `file-${i}.bin`;
    const file = path.join(top, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const data = bytes(size + (i % 7), i + 1);
    fs.writeFileSync(file, data);
    files.push({ rel, size: data.length, sha256: sha256(data) });
  }
  return { top, files };
}

function assetsUnder(prefix) {
  return env.emulator.state().assets.filter((a) => a.path.startsWith(prefix));
}

test('uploads a folder as the README shows (AEM_URL in .env), quietly, exit 0', async () => {
  dotEnv();
  const { top, files } = tree('photos', 12, 3);
  const r = await cli(['upload', top, '--target', '/content/dam/x']);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^aem-upload: 12 files: 12 uploaded; .* to http:\/\/127\.0\.0\.1:\d+\/content\/dam\/x\n$/);
  const landed = new Map(assetsUnder('/content/dam/x/photos').map((a) => [a.path, a.sha256]));
  for (const f of files) expect(landed.get(`/content/dam/x/photos/${f.rel}`)).toBe(f.sha256);
  expect(env.emulator.state().violations).toEqual([]);
});

test('exit codes: 1 when some files fail, 2 for bad usage or credentials before anything is sent', async () => {
  dotEnv();
  const { top } = tree('mixed', 3);
  fs.writeFileSync(path.join(top, 'empty.txt'), '');
  const failed = await cli(['upload', top, '--target', '/content/dam/mixed']);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toMatch(/aem-upload: failed: .*empty\.txt → \/content\/dam\/mixed\/mixed\/empty\.txt: EUNKNOWN File cannot be uploaded: Empty file/);
  expect(failed.stderr).toMatch(/4 files: 3 uploaded, 1 failed/);

  const usage = await cli(['upload', top, '--bogus']);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toMatch(/unknown option '--bogus'/);

  const typo = await cli(['upload', top, path.join(work, 'no-such-folder'), '--target', '/content/dam/x']);
  expect(typo.code).toBe(2);
  expect(typo.stderr).toMatch(/no such file or folder: .*no-such-folder/);

  const noUrl = await cli(['upload', top, '--target', '/content/dam/x'], { cwd: tempDir() });
  expect(noUrl.code).toBe(2);
  expect(noUrl.stderr).toMatch(/set AEM_URL/);

  env.emulator.reset();
  const wrong = await cli(['upload', top, '--target', '/content/dam/deny', '--user', 'admin:wrong-password']);
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toMatch(/ENOTAUTHORIZED/);
  expect(env.emulator.state().assets).toEqual([]);
  expect(env.emulator.requests().filter((q) => q.route === 'part')).toEqual([]);
});

test('--json: NDJSON that parses line by line, ending with a report that matches the emulator', async () => {
  dotEnv();
  const { top, files } = tree('json', 20, 4, 3000);
  fs.writeFileSync(path.join(top, 'empty.bin'), '');
  const r = await cli(['upload', top, '--target', '/content/dam/j', '--json', '--report', path.join(work, 'report.json')]);
  expect(r.code).toBe(1);
  const lines = r.stdout.trim().split('\n').map((line) => JSON.parse(line));
  const report = lines[lines.length - 1];
  expect(report.event).toBe('report');
  expect(lines.filter((l) => l.event === 'fileend')).toHaveLength(20);
  expect(lines.filter((l) => l.event === 'fileerror')).toHaveLength(1);
  expect(report.totals).toMatchObject({ files: 21, uploaded: 20, failed: 1, skipped: 0, cancelled: 0 });
  const state = new Map(assetsUnder('/content/dam/j').map((a) => [a.path, a]));
  for (const file of report.files.filter((f) => f.status === 'uploaded')) {
    expect(state.get(file.target).size).toBe(file.size);
  }
  expect(state.size).toBe(files.length);
  const failed = report.files.find((f) => f.status === 'failed');
  expect(failed).toMatchObject({ target: '/content/dam/j/json/empty.bin', size: 0, error: { code: 'EUNKNOWN' } });
  expect(JSON.parse(fs.readFileSync(path.join(work, 'report.json'), 'utf8')).totals).toEqual(report.totals);
  expect(r.stderr).not.toMatch(/failed:/); // with --json, failures are in the events, not on stderr
});

test('the report counts each file\'s retried attempts: exactly the part PUTs the emulator failed', async () => {
  dotEnv();
  const { top } = tree('flaky', 12, 3, 2000);
  env.emulator.configure({ faults: { seed: 11, routes: { part: { status503: 0.4 } } } });
  const r = await cli(['upload', top, '--target', '/content/dam/flaky', '--retries', '8', '--retry-delay', '5', '--report', path.join(work, 'flaky.json')]);
  expect(r.code).toBe(0);
  const report = JSON.parse(fs.readFileSync(path.join(work, 'flaky.json'), 'utf8'));
  expect(report.totals).toMatchObject({ files: 12, uploaded: 12, failed: 0 });
  const failedParts = env.emulator.requests().filter((q) => q.route === 'part' && q.status === 503).length;
  expect(failedParts).toBeGreaterThan(0);
  expect(report.files.reduce((sum, f) => sum + f.retries, 0)).toBe(failedParts);
});

test('--dry-run sends no request at all, even with AEM_URL at a closed port', async () => {
  const closed = await new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
  fs.writeFileSync(path.join(work, '.env'), `AEM_URL=http://127.0.0.1:${closed}\nAEM_USERNAME=admin\nAEM_PASSWORD=${PASSWORD}\n`);
  const { top } = tree('dry', 5, 2);
  fs.writeFileSync(path.join(top, 'skip.tmp'), 'x');
  const r = await cli(['upload', top, 'https://cdn.example.com/a/video%20one.mp4?sig=secret', '--target', '/content/dam/dry', '--dry-run', '--exclude', '*.tmp']);
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(6);
  expect(lines).toContain(`${top}/f000/file-0.bin → /content/dam/dry/dry/f000/file-0.bin`);
  expect(lines).toContain('https://cdn.example.com/a/video%20one.mp4?<redacted> → /content/dam/dry/video one.mp4');
  expect(r.stderr).toMatch(/dry run: would upload 6 files/);

  dotEnv();
  const again = await cli(['upload', top, '--target', '/content/dam/dry', '--dry-run']);
  expect(again.code).toBe(0);
  expect(env.emulator.requests()).toEqual([]);
});

test('a run killed with SIGKILL, run again with its journal, sends only the rest', async () => {
  dotEnv();
  const { top, files } = tree('resume', 60, 3, 20000);
  const journal = path.join(work, 'resume.journal');
  // Slow parts, so the kill lands half way.
  env.emulator.configure({ faults: { routes: { part: { latencyMs: 40 } } } });
  const first = cli(['upload', top, '--target', '/content/dam/r', '--journal', journal, '--json', '--concurrency', '2'], {
    onStdout: (text, child) => {
      if ((text.match(/"event":"fileend"/g) || []).length >= 15) child.kill('SIGKILL');
    },
  });
  const killed = await first;
  expect(killed.signal).toBe('SIGKILL');
  const before = assetsUnder('/content/dam/r').length;
  expect(before).toBeGreaterThanOrEqual(15);
  expect(before).toBeLessThan(60);
  env.emulator.configure({ faults: { routes: null } });
  const initiatesBefore = env.emulator.state().counters.initiate.requests;
  const second = await cli(['upload', top, '--target', '/content/dam/r', '--journal', journal, '--json']);
  expect(second.code).toBe(0);
  const report = JSON.parse(second.stdout.trim().split('\n').pop());
  expect(report.totals.uploaded + report.totals.skipped).toBe(60);
  expect(report.totals.skipped).toBeGreaterThanOrEqual(before - 2); // a complete in flight at the kill may be redone
  const landed = new Map(assetsUnder('/content/dam/r/resume').map((a) => [a.path, a.sha256]));
  for (const f of files) expect(landed.get(`/content/dam/r/resume/${f.rel}`)).toBe(f.sha256);
  expect(env.emulator.state().counters.initiate.requests - initiatesBefore).toBeGreaterThan(0);
  expect(env.emulator.state().violations).toEqual([]);
});

test('Ctrl-C cancels cleanly: exit 130, no partial asset, and the journal finishes the job', async () => {
  dotEnv();
  const { top } = tree('stop', 40, 2, 200 * 1024);
  const journal = path.join(work, 'stop.journal');
  env.emulator.configure({ minPartSize: 64 * 1024, maxPartSize: 64 * 1024, faults: { routes: { part: { latencyMs: 60 } } } });
  try {
    const run = cli(['upload', top, '--target', '/content/dam/c', '--journal', journal, '--json', '--concurrency', '3'], {
      onStdout: (text, child) => {
        if (!child.signalled && /"event":"fileprogress"/.test(text)) {
          child.signalled = true;
          child.kill('SIGINT');
        }
      },
    });
    const r = await run;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted/);
    const report = JSON.parse(r.stdout.trim().split('\n').pop());
    expect(report.totals.cancelled).toBeGreaterThan(0);
    // Every asset that exists is whole: nothing half-sent was completed.
    for (const asset of assetsUnder('/content/dam/c')) expect(asset.size).toBeGreaterThanOrEqual(200 * 1024);
    env.emulator.configure({ faults: { routes: null } });
    const rerun = await cli(['upload', top, '--target', '/content/dam/c', '--journal', journal]);
    expect(rerun.code).toBe(0);
    expect(assetsUnder('/content/dam/c/stop')).toHaveLength(40);
    expect(env.emulator.state().violations).toEqual([]);
  } finally {
    env.emulator.configure({ minPartSize: 5 * 1024 * 1024, maxPartSize: 100 * 1024 * 1024 });
  }
});

test('a progress bar on a terminal (under script), status lines and no bar without one', async () => {
  dotEnv();
  const { top } = tree('bar', 30, 1, 50000);
  env.emulator.configure({ faults: { routes: { part: { latencyMs: 30 } } } });
  const log = path.join(work, 'typescript');
  const command = `${process.execPath} ${BIN} upload ${top} --target /content/dam/bar --concurrency 1`;
  execFileSync('script', ['-qefc', command, log], { cwd: work, env: { ...process.env, TERM: 'xterm' }, stdio: 'ignore' });
  const screen = fs.readFileSync(log, 'utf8');
  expect(screen).toMatch(/\d+\/30 files \| [\d.]+ [KM]?B of 1\.5 MB \| [\d.]+ [KM]?B\/s \| ETA \S+ \| 0 failed/);
  expect(screen).toMatch(/30 files: 30 uploaded/);
  env.emulator.reset();
  const plain = await cli(['upload', top, '--target', '/content/dam/bar2']);
  expect(plain.code).toBe(0);
  expect(plain.stderr).not.toMatch(/files \|/);
  expect(plain.stderr).not.toMatch(/\x1b\[/);
  env.emulator.configure({ faults: { routes: null } });
});

test('4 shards as 4 concurrent processes land exactly the union of a 2,000-file tree with 40 folders', async () => {
  dotEnv();
  const { top, files } = tree('sharded', 2000, 40, 500);
  const out = path.join(work, 'shards');
  const planned = await cli(['plan', top, '--target', '/content/dam/s', '--shards', '4', '--out', out]);
  expect(planned.code).toBe(0);
  const manifests = [0, 1, 2, 3].map((i) => JSON.parse(fs.readFileSync(path.join(out, `shard-${i}.json`), 'utf8')));
  const counts = manifests.map((m) => m.files.length);
  expect(counts.reduce((a, b) => a + b, 0)).toBe(2000);
  for (const c of counts) expect(c).toBeGreaterThan(350);
  const runs = await Promise.all([0, 1, 2, 3].map((i) => cli(['upload', '--manifest', path.join(out, `shard-${i}.json`), '--journal', path.join(work, `shard-${i}.journal`)])));
  expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
  const assets = assetsUnder('/content/dam/s/sharded');
  expect(assets).toHaveLength(2000);
  const landed = new Map(assets.map((a) => [a.path, a.sha256]));
  for (const f of files) expect(landed.get(`/content/dam/s/sharded/${f.rel}`)).toBe(f.sha256);
  const state = env.emulator.state();
  expect(state.folders.filter((f) => (f.path || f).startsWith('/content/dam/s/sharded/'))).toHaveLength(40);
  expect(state.violations).toEqual([]);
});

test('100,000 small files dry-run and 20,000 uploaded with the command\'s memory flat', async () => {
  dotEnv();
  const big = path.join(work, 'many');
  for (let d = 0; d < 100; d += 1) {
    const dir = path.join(big, `d${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 1000; i += 1) fs.writeFileSync(path.join(dir, `f${i}.txt`), `${d}/${i}`);
  }
  const hwm = (file) => Number(fs.readFileSync(file, 'utf8'));
  const withHwm = (file) => ({ NODE_OPTIONS: `--require ${HWM}`, PEAK_RSS_FILE: file });
  const dry = await cli(['upload', big, '--target', '/content/dam/m', '--dry-run'], { extraEnv: withHwm(path.join(work, 'dry.rss')) });
  expect(dry.code).toBe(0);
  expect(dry.stdout.split('\n').filter(Boolean)).toHaveLength(100000);
  expect(env.emulator.requests()).toEqual([]);

  const small = path.join(work, 'few');
  fs.mkdirSync(small);
  fs.renameSync(path.join(big, 'd0'), path.join(small, 'd0'));
  fs.renameSync(path.join(big, 'd1'), path.join(small, 'd1'));
  const twenty = path.join(work, 'twenty');
  fs.mkdirSync(twenty);
  for (let d = 2; d < 22; d += 1) fs.renameSync(path.join(big, `d${d}`), path.join(twenty, `d${d}`));

  const a = await cli(['upload', small, '--target', '/content/dam/m', '--quiet'], { extraEnv: withHwm(path.join(work, 'small.rss')) });
  const b = await cli(['upload', twenty, '--target', '/content/dam/m', '--quiet'], { extraEnv: withHwm(path.join(work, 'big.rss')) });
  expect([a.code, b.code]).toEqual([0, 0]);
  expect(assetsUnder('/content/dam/m/twenty')).toHaveLength(20000);
  const [dryMb, smallMb, bigMb] = [hwm(path.join(work, 'dry.rss')), hwm(path.join(work, 'small.rss')), hwm(path.join(work, 'big.rss'))];
  // What grows with the count is per-file bookkeeping only: the library's result records (the
  // reference's detailedResult, ~3 KB a file) and the report's line (~0.5 KB). Never the bytes:
  // 18,000 more files may cost at most 6 KB each, and the whole run stays small.
  expect(((bigMb - smallMb) * 1024) / 18000).toBeLessThan(6);
  expect(bigMb).toBeLessThan(250);
  expect(dryMb).toBeLessThan(300);
});

test('no password, token or signature appears in any output or report', async () => {
  dotEnv();
  const { top } = tree('secrets', 3);
  fs.writeFileSync(path.join(top, 'empty.txt'), '');
  const token = 'canary-token-9c1d';
  const outputs = [];
  outputs.push(await cli(['upload', top, '--target', '/content/dam/k', '--json', '--report', path.join(work, 'r1.json')]));
  outputs.push(await cli(['upload', top, 'https://cdn.example.invalid/x.jpg?sig=canary-signature', '--target', '/content/dam/k', '--dry-run', '--json']));
  outputs.push(await cli(['upload', top, '--target', '/content/dam/k2', '--token', token, '--report', path.join(work, 'r2.json')]));
  outputs.push(await cli(['upload', top, '--target', '/content/dam/k3', '--user', `admin:${PASSWORD}`], { extraEnv: { DEBUG: 'true' } }));
  const text = outputs.map((o) => o.stdout + o.stderr).join('\n')
    + fs.readFileSync(path.join(work, 'r1.json'), 'utf8') + fs.readFileSync(path.join(work, 'r2.json'), 'utf8');
  for (const secret of [PASSWORD, token, 'canary-signature', Buffer.from(`admin:${PASSWORD}`).toString('base64')]) {
    expect(text).not.toContain(secret);
  }
});
