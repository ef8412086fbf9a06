'use strict';

// Sources that change or break (issue 6, item 4): a file truncated, grown or
// deleted during its upload, a path that is a directory, a Buffer of the
// wrong length, a stream that ends early or errors. Only that file fails, with
// a clear code; nothing wrong is completed; the other files land.

const fs = require('fs');
const path = require('path');
const { Readable } = require('stream');
const ours = require('..');
const { useEmulator, tempDir, bytes, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');
const { sha256 } = require('./helpers/http');

const env = useEmulator({ minPartSize: 1024, maxPartSize: 1024 * 1024 });
let dir;
beforeEach(() => {
  dir = tempDir();
  env.emulator.reset();
  // One part at a time, each a little slow, so a change lands mid-upload.
  env.emulator.configure({ faults: { routes: { part: { latencyMs: 60 } } } });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const good = bytes(3000, 42);
function run(files, onProgress) {
  const upload = new ours.DirectBinaryUpload();
  const outcome = new Map();
  upload.on('fileend', (p) => outcome.set(p.fileName, 'end'));
  upload.on('fileerror', (p) => outcome.set(p.fileName, p.errors[0]));
  if (onProgress) upload.on('fileprogress', onProgress);
  const options = new ours.DirectBinaryUploadOptions()
    .withUrl(`${env.emulator.url}/content/dam`)
    .withUploadFiles([...files, { fileName: 'good.bin', fileSize: good.length, blob: good }])
    .withMaxConcurrent(1)
    .withHttpRetryDelay(5)
    .withHttpOptions({ headers: { Authorization: DEFAULT_AUTHORIZATION } });
  return upload.uploadFiles(options).then((result) => ({ result, outcome }));
}

function expectOnlyGoodLanded(outcome) {
  expect(outcome.get('good.bin')).toBe('end');
  const assets = env.emulator.state().assets;
  expect(assets.map((a) => a.path)).toEqual(['/content/dam/good.bin']);
  expect(assets[0].sha256).toBe(sha256(good));
  expect(env.emulator.state().violations).toEqual([]);
}

function localFile(name, data) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return { fileName: name, fileSize: data.length, filePath: file };
}

test('a file truncated during its upload fails with a size mismatch; nothing is completed', async () => {
  const file = localFile('shrinks.bin', bytes(5000, 1));
  const { outcome } = await run([file], (p) => { if (p.fileName === 'shrinks.bin') fs.truncateSync(file.filePath, 1500); });
  expect(outcome.get('shrinks.bin')).toMatchObject({ code: 'EINVALIDOPTIONS', message: expect.stringMatching(/^Source size mismatch for 'shrinks.bin': declared 5000 bytes, source has \d+ bytes$/) });
  expectOnlyGoodLanded(outcome);
});

test('a file grown during its upload fails with a size mismatch; nothing is completed', async () => {
  const file = localFile('grows.bin', bytes(5000, 2));
  let grown = false;
  const { outcome } = await run([file], (p) => {
    if (p.fileName === 'grows.bin' && !grown) {
      grown = true;
      fs.appendFileSync(file.filePath, Buffer.alloc(10));
    }
  });
  expect(outcome.get('grows.bin')).toMatchObject({ code: 'EINVALIDOPTIONS', message: "Source size mismatch for 'grows.bin': declared 5000 bytes, source has 5010 bytes" });
  expectOnlyGoodLanded(outcome);
});

test('a file deleted before its turn fails with ENOENT; one deleted mid-upload lands its original bytes or fails', async () => {
  const first = localFile('first.bin', bytes(5000, 3));
  const later = localFile('later.bin', bytes(2000, 4));
  let deleted = false;
  const { outcome } = await run([first, later], (p) => {
    if (!deleted && p.fileName === 'first.bin') {
      deleted = true;
      fs.unlinkSync(first.filePath); // open already: the bytes stay readable
    }
  });
  const assets = new Map(env.emulator.state().assets.map((a) => [a.path, a.sha256]));
  if (outcome.get('first.bin') === 'end') expect(assets.get('/content/dam/first.bin')).toBe(sha256(bytes(5000, 3)));
  else expect(assets.has('/content/dam/first.bin')).toBe(false);
  expect(outcome.get('later.bin')).toBe('end');

  // Deleted after the call started but before its own transfer opened it.
  const gone = localFile('gone.bin', bytes(3000, 5));
  const blocker = localFile('blocker.bin', bytes(5000, 6));
  env.emulator.reset();
  const second = await run([blocker, gone], (p) => { if (p.fileName === 'blocker.bin' && fs.existsSync(gone.filePath)) fs.unlinkSync(gone.filePath); });
  expect(second.outcome.get('blocker.bin')).toBe('end');
  const goneOutcome = second.outcome.get('gone.bin');
  // Either it was already open (and landed whole) or it failed as missing.
  if (goneOutcome !== 'end') expect(goneOutcome).toMatchObject({ code: 'ENOENT' });
  const goneAsset = env.emulator.state().assets.find((a) => a.path === '/content/dam/gone.bin');
  if (goneAsset) expect(goneAsset.sha256).toBe(sha256(bytes(3000, 5)));
});

test('a path that is a directory, a wrong-length Buffer, a short stream and a failing stream fail alone', async () => {
  const sub = path.join(dir, 'a-directory');
  fs.mkdirSync(sub);
  const failing = new Readable({
    read() {
      this.push(Buffer.alloc(100));
      this.destroy(Object.assign(new Error('disk on fire'), { code: 'EIO' }));
    },
  });
  const { outcome } = await run([
    { fileName: 'dir.bin', fileSize: 10, filePath: sub },
    { fileName: 'buffer.bin', fileSize: 100, blob: Buffer.alloc(99) },
    { fileName: 'short-stream.bin', fileSize: 100, blob: Readable.from([Buffer.alloc(60)]) },
    { fileName: 'failing-stream.bin', fileSize: 1000, blob: failing },
  ]);
  expect(outcome.get('dir.bin')).toMatchObject({ code: 'EISDIR' });
  expect(outcome.get('buffer.bin')).toMatchObject({ code: 'EINVALIDOPTIONS', message: "Source size mismatch for 'buffer.bin': declared 100 bytes, source has 99 bytes" });
  expect(outcome.get('short-stream.bin')).toMatchObject({ code: 'EINVALIDOPTIONS', message: "Source size mismatch for 'short-stream.bin': declared 100 bytes, source has 60 bytes" });
  expect(outcome.get('failing-stream.bin')).toMatchObject({ code: 'EIO', message: 'disk on fire' });
  expectOnlyGoodLanded(outcome);
});
