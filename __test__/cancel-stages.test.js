'use strict';

// Cancellation at every stage (issue 6, item 2): folder creation, initiate,
// parts and complete, each stalled by the emulator, cancelled by cancel(),
// cancelFile(), withAbortSignal() and the constructor signal. The call settles
// without waiting for the stalled server, cancelled files say EUSERCANCELLED,
// nothing more is sent for them, and none of them exists as an asset.
// Settle times are written to <tmp>/aem-upload-rs-cancel-settle.json for the
// record; the test itself only checks that the stalled request was not waited for.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { performance } = require('perf_hooks');
const ours = require('..');
const { useEmulator, tempDir, bytes, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');

const STALL_MS = 3000;
const env = useEmulator({ minPartSize: 1024, maxPartSize: 1024 * 1024 });
const AUTH = { headers: { Authorization: DEFAULT_AUTHORIZATION } };
const settleTimes = {};
let dir;

beforeAll(() => {
  dir = tempDir();
  for (const name of ['one.bin', 'two.bin']) fs.writeFileSync(path.join(dir, name), bytes(4096, name.length));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.writeFileSync(path.join(os.tmpdir(), 'aem-upload-rs-cancel-settle.json'), `${JSON.stringify(settleTimes, null, 2)}\n`);
});
beforeEach(() => {
  env.emulator.reset();
  env.emulator.configure({ faults: { routes: null } });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** How each kind of cancellation is wired to an upload of the files in `folder`. */
const methods = {
  'cancel()': () => {
    const upload = new ours.FileSystemUpload();
    return { upload, fire: () => upload.cancel(), decorate: (o) => o };
  },
  'cancelFile()': (folder) => {
    const upload = new ours.FileSystemUpload();
    const fire = () => ['one.bin', 'two.bin'].forEach((n) => upload.cancelFile(`${folder}/${n}`));
    return { upload, fire, decorate: (o) => o };
  },
  withAbortSignal: () => {
    const controller = new AbortController();
    return { upload: new ours.FileSystemUpload(), fire: () => controller.abort(), decorate: (o) => o.withAbortSignal(controller.signal) };
  },
  'constructor signal': () => {
    const controller = new AbortController();
    return { upload: new ours.FileSystemUpload({ signal: controller.signal }), fire: () => controller.abort(), decorate: (o) => o };
  },
};

/** Each stage: which route stalls, and the moment to cancel (the stalled request is then in flight). */
const stages = {
  folder: { route: 'folder', when: (upload, go) => setTimeout(go, 200) },
  initiate: { route: 'initiate', when: (upload, go) => upload.once('filestart', () => setTimeout(go, 200)) },
  part: { route: 'part', when: (upload, go) => upload.once('filestart', () => setTimeout(go, 200)) },
  complete: {
    route: 'complete',
    when: (upload, go) => {
      let done = 0;
      upload.on('fileprogress', (p) => { if (p.transferred === p.fileSize && (done += 1) === 2) setTimeout(go, 200); });
    },
  },
};

/** One upload of two files to `folder`, cancelled by `method` once `stage` stalls. */
async function cancelledRun(stage, method, folder) {
  const { upload, fire, decorate } = methods[method](folder);
  const cancelled = [];
  const ended = [];
  upload.on('filecancelled', (p) => cancelled.push(p));
  upload.on('fileend', (p) => ended.push(p.targetFile));
  let firedAt;
  stages[stage].when(upload, () => { firedAt = performance.now(); fire(); });
  const options = decorate(new ours.FileSystemUploadOptions()
    .withUrl(`${env.emulator.url}${folder}`)
    .withMaxConcurrent(1)
    .withHttpRetryDelay(10)
    .withHttpOptions(AUTH));
  const result = await upload.upload(options, [path.join(dir, 'one.bin'), path.join(dir, 'two.bin')]);
  const settle = performance.now() - firedAt;
  settleTimes[`${stage} / ${method}`] = Math.round(settle);
  return { result, cancelled, ended, settle };
}

describe.each(Object.keys(stages))('%s stage', (stage) => {
  test('each kind of cancel settles without waiting for the stalled server; nothing more is sent', async () => {
    env.emulator.configure({ faults: { routes: { [stages[stage].route]: { latencyMs: STALL_MS } } } });
    // Before any file exists there is nothing for cancelFile() to name.
    const kinds = Object.keys(methods).filter((m) => !(stage === 'folder' && m === 'cancelFile()'));
    const runs = await Promise.all(kinds.map((method, i) => cancelledRun(stage, method, `/content/dam/${stage}-${i}`)));
    for (const run of runs) {
      // The stalled request still had well over STALL_MS / 2 to go when the cancel fired.
      expect(run.settle).toBeLessThan(STALL_MS / 2);
    }

    // Let the stalled requests run out on the server, then look at what was sent and what landed.
    await sleep(STALL_MS + 300);
    const requests = env.emulator.requests();
    const assets = env.emulator.state().assets.map((a) => a.path);
    const folders = env.emulator.state().folders.map((f) => f.path);
    runs.forEach(({ result, cancelled, ended }, i) => {
      const folder = `/content/dam/${stage}-${i}`;
      const count = (route) => requests.filter((r) => r.route === route && decodeURIComponent(r.path).includes(`${stage}-${i}`)).length;
      if (stage === 'folder') {
        expect(result.errors).toEqual([{ code: 'EUSERCANCELLED', message: 'Upload cancelled by user' }]);
        // The stalled POST was aborted: the emulator dropped it unanswered, nothing was created.
        expect(count('initiate')).toBe(0);
        expect(folders).not.toContain(folder);
        return;
      }
      expect(cancelled).toHaveLength(2);
      expect(ended).toEqual([]);
      for (const p of cancelled) {
        expect(p.errors[0]).toMatchObject({ code: 'EUSERCANCELLED', message: 'Upload cancelled by user' });
        expect(assets).not.toContain(p.targetFile);
      }
      expect(result.totalCompleted).toBe(0);
      expect(count('complete')).toBe(0);
      if (stage === 'initiate') expect(count('initiate')).toBe(0);
    });
    // Parts go to blob URLs that do not name the folder: across the stage's runs, at
    // most the one part in flight per run (maxConcurrent 1) for the part stage.
    const parts = requests.filter((r) => r.route === 'part').length;
    if (stage === 'initiate') expect(parts).toBe(0);
    if (stage === 'part') expect(parts).toBeLessThanOrEqual(runs.length);
    if (stage === 'complete') expect(parts).toBe(8 * runs.length);
    expect(env.emulator.state().violations).toEqual([]);
  });
});
