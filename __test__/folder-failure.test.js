'use strict';

// A folder of the walked tree that cannot be created rejects the call, as in
// the reference, and then nothing of the call is sent: no initiate, no part,
// no asset. (The engine pre-validates the files while the folders are made
// and waits to be told to go on; a rejected folder must withdraw it, not let
// it upload into a tree that is not there while the caller sees a rejection.)

const fs = require('fs');
const path = require('path');
const ours = require('..');
const { useEmulator, tempDir, bytes, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');

const env = useEmulator({ storage: 'size' });

let root;
beforeAll(() => {
  root = tempDir();
  for (let d = 0; d < 30; d += 1) {
    for (let f = 0; f < 3; f += 1) {
      const local = path.join(root, 'tree', `d${d}`, `f${f}.bin`);
      fs.mkdirSync(path.dirname(local), { recursive: true });
      fs.writeFileSync(local, bytes(100, d * 10 + f + 1));
    }
  }
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('a folder that cannot be created rejects the call and nothing is sent', async () => {
  let rejected = 0;
  // Every folder request fails 40% of the time and is tried twice: with 31
  // folders a call almost always meets one that fails both times.
  for (const seed of [1, 2, 3]) {
    env.emulator.reset();
    env.emulator.configure({ faults: { seed, routes: { folder: { status503: 0.4 } } } });
    // /content/dam itself: no target chain, so every folder is one of the tree's.
    const options = new ours.FileSystemUploadOptions()
      .withUrl(`${env.emulator.url}/content/dam`)
      .withDeepUpload(true)
      .withHttpRetryCount(1)
      .withHttpRetryDelay(1)
      .withHttpOptions({ headers: { Authorization: DEFAULT_AUTHORIZATION } });
    const events = [];
    const upload = new ours.FileSystemUpload();
    for (const name of ['filestart', 'fileend', 'fileerror']) upload.on(name, (e) => events.push(name, e.fileName));
    const error = await upload.upload(options, [path.join(root, 'tree')]).then(() => null, (e) => e);
    // Anything the engine might still send would come within moments.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const state = env.emulator.state();
    if (!error) {
      expect(state.assets).toHaveLength(90);
      continue;
    }
    rejected += 1;
    expect(error).toMatchObject({ code: 'EUNKNOWN', message: 'Request failed with status code 503' });
    expect(events).toEqual([]);
    expect(state.counters.initiate ? state.counters.initiate.requests : 0).toBe(0);
    expect(state.counters.part ? state.counters.part.requests : 0).toBe(0);
    expect(state.assets).toEqual([]);
  }
  expect(rejected).toBeGreaterThan(0);
  env.emulator.configure({ faults: null });
});
