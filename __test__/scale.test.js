'use strict';

// Scale from the public API: 5,000 files in a deep tree, and one 2 GiB file,
// both landing with exact bytes (digest storage keeps the emulator flat).

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { FileSystemUpload, FileSystemUploadOptions } = require('..');
const { useEmulator, tempDir, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');

const env = useEmulator({ storage: 'digest', minPartSize: 10 * 1024 * 1024 });
let root;
beforeEach(() => { root = tempDir(); env.emulator.reset(); });
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const options = (target) => new FileSystemUploadOptions()
  .withUrl(`${env.emulator.url}${target}`)
  .withDeepUpload(true)
  .withMaxUploadFiles(10000)
  .withHttpOptions({ headers: { Authorization: DEFAULT_AUTHORIZATION } });

test('5,000 files in 50 folders land with exact bytes', async () => {
  const tree = path.join(root, 'many');
  const expected = new Map();
  for (let d = 0; d < 50; d += 1) {
    const dir = path.join(tree, `folder ${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 100; f += 1) {
      const data = crypto.createHash('sha512').update(`${d}/${f}`).digest();
      const content = Buffer.concat([data, Buffer.alloc((d * 100 + f) % 300, f)]);
      fs.writeFileSync(path.join(dir, `file ${f}.bin`), content);
      expected.set(`/content/dam/scale/many/folder-${d}/file ${f}.bin`, crypto.createHash('sha256').update(content).digest('hex'));
    }
  }
  const result = await new FileSystemUpload().upload(options('/content/dam/scale'), [tree]);
  expect(result.errors).toEqual([]);
  expect(result.totalFiles).toBe(5000);
  expect(result.totalCompleted).toBe(5000);
  expect(result.createdFolders).toHaveLength(1 + 1 + 50);
  const state = env.emulator.state();
  expect(state.violations).toEqual([]);
  expect(state.assets).toHaveLength(5000);
  for (const asset of state.assets) expect(asset.sha256).toBe(expected.get(asset.path));
  // 50 folders of 100 files: one initiate per folder.
  expect(state.counters.initiate.requests).toBe(50);
});

test('one 2 GiB file lands with exact bytes', async () => {
  const size = 2 * 1024 * 1024 * 1024;
  const block = 1024 * 1024;
  const file = path.join(root, 'big.bin');
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'w');
  const seed = crypto.randomBytes(block);
  for (let i = 0; i < size / block; i += 1) {
    seed.writeUInt32LE(i, (i * 4) % (block - 4));
    fs.writeSync(fd, seed);
    hash.update(seed);
  }
  fs.closeSync(fd);
  const result = await new FileSystemUpload().upload(options('/content/dam/huge'), [file]);
  expect(result.totalCompleted).toBe(1);
  const asset = env.emulator.state().assets[0];
  expect(asset).toMatchObject({ path: '/content/dam/huge/big.bin', size, sha256: hash.digest('hex') });
  expect(env.emulator.state().violations).toEqual([]);
});

describe('streams are uploaded in bounded memory', () => {
  const { execFile } = require('child_process');
  const run = (kind) => new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, 'fixtures', 'stream-child.js'), env.emulator.url, '1024', kind], (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout))));
  });

  test.each(['node', 'web'])('a 1 GiB %s stream lands exact, the client process peaking far below its size', async (kind) => {
    env.emulator.configure({ minPartSize: 8 * 1024 * 1024 });
    const outcome = await run(kind);
    expect(outcome).toMatchObject({ totalCompleted: 1, errors: [] });
    const asset = env.emulator.state().assets.find((a) => a.path === '/content/dam/streamed.bin');
    expect(asset.sha256).toBe(outcome.sha256);
    // Collecting the stream would take over 1,024 MB; one part in memory takes ~100.
    expect(outcome.maxRssMB).toBeLessThan(256);
  });
});
