'use strict';

// Storage modes: memory, dir, digest and size, and digest mode's flat memory
// while a large file streams through a separate emulator process.

const fs = require('fs');
const path = require('path');
const { bytes, tempDir, emulatorProcess, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');
const { request, sha256, Aem } = require('./helpers/http');
const { startEmulator } = require('../emulator');

const KIB = 1024;
const MIB = 1024 * KIB;

async function uploadShuffled(emulator, name, data) {
  const aem = new Aem(emulator, DEFAULT_AUTHORIZATION);
  expect((await aem.createFolder('/content/dam/store', 'Store')).status).toBe(201);
  const res = await aem.upload('/content/dam/store', name, data, { order: [3, 0, 4, 2, 1] });
  expect(res.status).toBe(200);
  return aem;
}

describe.each(['memory', 'digest', 'size', 'dir'])('%s storage', (mode) => {
  let emulator;
  let root;
  beforeAll(async () => {
    root = tempDir('aem-emulator-dir-');
    emulator = await startEmulator({ storage: mode === 'dir' ? `dir:${root}` : mode, minPartSize: KIB });
  });
  afterAll(async () => {
    if (emulator) await emulator.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('a multi-part file sent out of order lands with the right size and digest', async () => {
    const data = bytes(5 * KIB - 7, 11);
    await uploadShuffled(emulator, 'five parts.bin', data);
    const state = emulator.state();
    expect(state.storage).toBe(mode === 'dir' ? `dir:${root}` : mode);
    const asset = state.assets.find((a) => a.path === '/content/dam/store/five parts.bin');
    expect(asset.size).toBe(data.length);
    expect(asset.sha256).toBe(mode === 'size' ? null : sha256(data));
    expect(state.violations).toEqual([]);
    expect(state.pendingUploads).toEqual([]);

    const download = await request('GET', `${emulator.url}/content/dam/store/five%20parts.bin`, { headers: { authorization: DEFAULT_AUTHORIZATION } });
    if (mode === 'memory' || mode === 'dir') {
      expect(download.status).toBe(200);
      expect(download.body.equals(data)).toBe(true);
    } else {
      expect(download.status).toBe(501);
    }
    if (mode === 'dir') {
      const file = path.join(root, 'content', 'dam', 'store', 'five parts.bin');
      expect(fs.readFileSync(file).equals(data)).toBe(true);
    }
  });

  if (mode === 'dir') {
    test('dir mode keeps a sidecar index of folders and assets', async () => {
      await emulator.stop();
      const index = JSON.parse(fs.readFileSync(path.join(root, '.aem-emulator', 'index.json'), 'utf8'));
      expect(index.folders).toEqual([{ path: '/content/dam/store', title: 'Store' }]);
      expect(index.assets.map((a) => a.path)).toEqual(['/content/dam/store/five parts.bin']);
      emulator = undefined;
    });
  }
});

/** Peak resident memory (VmHWM) of a process, in bytes. */
function peakRss(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

test('digest mode holds memory flat while a large file streams through', async () => {
  const { child, ready: started } = emulatorProcess(['--port', '0', '--storage', 'digest']);
  try {
    const ready = await started;
    const configure = await request('PATCH', `${ready.url}/_emulator/config`, { body: JSON.stringify({ minPartSize: 8 * MIB }) });
    expect(configure.status).toBe(200);
    const aem = new Aem(ready, DEFAULT_AUTHORIZATION);
    const baseline = peakRss(child.pid);

    // 512 MiB in 64 parts of 8 MiB, four in flight, the first part last, so
    // everything after it is spooled before the digest can advance.
    const size = 512 * MIB;
    const partSize = 8 * MIB;
    const init = await aem.initiate('/content/dam', [{ name: 'large.bin', size }]);
    const answer = init.json();
    const file = answer.files[0];
    const part = (k) => bytes(partSize, k + 1);
    const order = [...Array(size / partSize).keys()].slice(1).concat([0]);
    const queue = [...order];
    const worker = async () => {
      while (queue.length) {
        const k = queue.shift();
        const res = await aem.put(file.uploadURIs[k], part(k));
        expect(res.status).toBe(201);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const done = await aem.complete(answer.completeURI, aem.completeFields(file, size));
    expect(done.status).toBe(200);

    const hash = require('crypto').createHash('sha256');
    for (let k = 0; k < size / partSize; k += 1) hash.update(part(k));
    const state = (await request('GET', `${ready.url}/_emulator/state`)).json();
    expect(state.assets[0]).toMatchObject({ size, sha256: hash.digest('hex') });
    const growth = peakRss(child.pid) - baseline;
    // Four 8 MiB parts in flight plus buffers; nowhere near the file's 512 MiB.
    expect(growth).toBeLessThan(96 * MIB);
  } finally {
    child.kill('SIGTERM');
  }
});
