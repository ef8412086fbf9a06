'use strict';

// Resume (issue 6, item 7): a run killed with SIGKILL mid-way and started
// again with the same journal uploads only what had not completed, and the
// DAM ends as a clean run leaves it.

const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const ours = require('..');
const { useEmulator, tempDir, bytes, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');
const { sha256 } = require('./helpers/http');

const env = useEmulator({ minPartSize: 1024, maxPartSize: 1024 * 1024 });
const CHILD = path.join(__dirname, 'fixtures', 'journal-child.js');
const AUTH = { headers: { Authorization: DEFAULT_AUTHORIZATION } };

let root;
let local;
const expected = new Map(); // relative DAM path -> sha256
beforeAll(() => {
  root = tempDir();
  local = path.join(root, 'batch');
  for (let i = 0; i < 60; i += 1) {
    const rel = path.join(`dir${i % 3}`, `file-${String(i).padStart(2, '0')}.bin`);
    // Some files of several parts, so a kill can land between parts too.
    const data = bytes(i % 7 === 0 ? 3500 : 700 + i, i + 1);
    fs.mkdirSync(path.dirname(path.join(local, rel)), { recursive: true });
    fs.writeFileSync(path.join(local, rel), data);
    expected.set(`batch/${rel}`, sha256(data));
  }
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
beforeEach(() => {
  env.emulator.reset();
  env.emulator.configure({ faults: { routes: null } });
});

function assetsUnder(folder) {
  const prefix = `${folder}/`;
  return new Map(env.emulator.state().assets
    .filter((a) => a.path.startsWith(prefix))
    .map((a) => [a.path.slice(prefix.length), a.sha256]));
}

function completedLines(journal) {
  if (!fs.existsSync(journal)) return 0;
  return fs.readFileSync(journal, 'utf8').split('\n').filter((l) => l.includes('"kind":"completed"')).length;
}

function runChild(folder, journal) {
  const child = spawn(process.execPath, [CHILD, `${env.emulator.url}${folder}`, local, journal], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out })));
  return { child, exited };
}

async function waitFor(predicate) {
  while (!predicate()) await new Promise((r) => setTimeout(r, 10));
}

test('a run killed with SIGKILL resumes from its journal: only the rest is sent, the DAM equals a clean run', async () => {
  const journal = path.join(root, 'resume.jsonl');
  // Slow parts, one at a time (maxConcurrent 1), so the kill lands mid-way.
  env.emulator.configure({ faults: { routes: { part: { latencyMs: 20 } } } });
  const { child, exited } = runChild('/content/dam/resume', journal);
  await waitFor(() => completedLines(journal) >= 15);
  child.kill('SIGKILL');
  const killed = await exited;
  expect(killed.signal).toBe('SIGKILL');
  const landedBefore = assetsUnder('/content/dam/resume').size;
  const recorded = completedLines(journal);
  expect(recorded).toBeGreaterThanOrEqual(15);
  expect(recorded).toBeLessThan(60);

  env.emulator.configure({ faults: { routes: null } });
  const requestsBefore = env.emulator.requests().length;
  const skippedEvents = [];
  const upload = new ours.FileSystemUpload();
  upload.on('filestart', (p) => skippedEvents.push(p.targetFile));
  const result = await upload.upload(new ours.FileSystemUploadOptions()
    .withUrl(`${env.emulator.url}/content/dam/resume`)
    .withDeepUpload(true)
    .withHttpRetryDelay(10)
    .withJournal(journal)
    .withHttpOptions(AUTH), [local]);

  // Every file has a result; the journaled ones without any event or request.
  expect(result.totalFiles).toBe(60);
  expect(result.totalCompleted).toBe(60);
  expect(result.detailedResult.every((d) => d.result && !d.result.errors)).toBe(true);
  expect(skippedEvents).toHaveLength(60 - recorded);
  const completes = env.emulator.requests().slice(requestsBefore).filter((r) => r.route === 'complete');
  expect(completes).toHaveLength(60 - recorded);
  // Files whose complete was in flight at the kill may have landed unrecorded
  // (completes run up to 8 at once); the rerun sent them again and took the
  // 409 as their own earlier complete, as the journal's "completing" says.
  expect(landedBefore - recorded).toBeLessThanOrEqual(8);

  // A clean run of the same tree elsewhere: the same assets, the same bytes, nothing more.
  const clean = await new ours.FileSystemUpload().upload(new ours.FileSystemUploadOptions()
    .withUrl(`${env.emulator.url}/content/dam/clean`)
    .withDeepUpload(true)
    .withHttpOptions(AUTH), [local]);
  expect(clean.totalCompleted).toBe(60);
  const resumed = assetsUnder('/content/dam/resume');
  expect(resumed).toEqual(assetsUnder('/content/dam/clean'));
  expect(resumed).toEqual(expected);
  expect(env.emulator.state().violations).toEqual([]);
  expect(fs.readFileSync(journal, 'utf8').split('\n').filter((l) => l.includes('"kind":"completed"'))).toHaveLength(60);

  // A third run sends nothing at all.
  const before = env.emulator.requests().length;
  const again = await new ours.FileSystemUpload().upload(new ours.FileSystemUploadOptions()
    .withUrl(`${env.emulator.url}/content/dam/resume`)
    .withDeepUpload(true)
    .withJournal(journal)
    .withHttpOptions(AUTH), [local]);
  expect(again.totalCompleted).toBe(60);
  expect(env.emulator.requests().slice(before).filter((r) => r.route !== 'folder')).toEqual([]);
});

test('a file changed since it was journaled is sent again; a journal that cannot be used fails the call', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'changing.bin');
  fs.writeFileSync(file, bytes(2000, 9));
  const journal = path.join(dir, 'j.jsonl');
  const options = () => new ours.DirectBinaryUploadOptions()
    .withUrl(`${env.emulator.url}/content/dam`)
    .withUploadFiles([{ fileName: 'changing.bin', fileSize: 2000, filePath: file, replace: true }])
    .withJournal(journal)
    .withHttpOptions(AUTH);
  expect((await new ours.DirectBinaryUpload().uploadFiles(options())).totalCompleted).toBe(1);
  // Same file: skipped.
  let before = env.emulator.requests().length;
  expect((await new ours.DirectBinaryUpload().uploadFiles(options())).totalCompleted).toBe(1);
  expect(env.emulator.requests().length).toBe(before);
  // Changed (new bytes, new mtime): sent again, and the DAM has the new bytes.
  const changed = bytes(2000, 10);
  fs.writeFileSync(file, changed);
  fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
  before = env.emulator.requests().length;
  expect((await new ours.DirectBinaryUpload().uploadFiles(options())).totalCompleted).toBe(1);
  expect(env.emulator.requests().length).toBeGreaterThan(before);
  expect(env.emulator.state().assets.find((a) => a.path === '/content/dam/changing.bin').sha256).toBe(sha256(changed));

  // A directory as the journal: a clear call-wide error, nothing sent, no file events.
  before = env.emulator.requests().length;
  const events = [];
  const upload = new ours.DirectBinaryUpload();
  upload.on('filestart', () => events.push('filestart'));
  upload.on('fileerror', () => events.push('fileerror'));
  const result = await upload.uploadFiles(options().withJournal(dir));
  expect(result.errors).toHaveLength(1);
  expect(result.errors[0]).toMatchObject({ code: 'EISDIR' });
  expect(result.errors[0].message).toMatch(/Cannot use journal/);
  expect(events).toEqual([]);
  expect(env.emulator.requests().length).toBe(before);
  fs.rmSync(dir, { recursive: true, force: true });
});
