'use strict';

// Every error a user can serialise (result.errors, a file's result.errors,
// fileerror payloads, folder errors, retryErrors, rejections) has exactly the
// reference's keys: `innerStack` is there wherever the reference's error came
// from a failure (its stack), even when ours is empty, and absent where the
// reference builds the error from a bare message (limits).

const fs = require('fs');
const path = require('path');
const reference = require('@adobe/aem-upload');
const ours = require('..');
const { useEmulator, tempDir, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');

const env = useEmulator();
const AUTH = { headers: { Authorization: DEFAULT_AUTHORIZATION } };
let root;
beforeAll(() => {
  root = tempDir();
  fs.writeFileSync(path.join(root, 'zero.txt'), '');
  fs.writeFileSync(path.join(root, 'ok.txt'), 'abc');
  fs.mkdirSync(path.join(root, 'sub'));
  fs.writeFileSync(path.join(root, 'sub', 'x.txt'), 'x');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
afterEach(() => env.emulator.configure({ faults: { routes: null } }));

const keysOf = (e) => Object.keys(JSON.parse(JSON.stringify(e)));

/** Runs a scenario and lists the key set of every error it exposes, by where it was found. */
async function shapes(lib, scenario) {
  env.emulator.reset();
  const found = [];
  const { instance, run } = scenario(lib);
  instance.on('fileerror', (p) => p.errors.forEach((e) => found.push(['fileerror', keysOf(e)])));
  try {
    const result = await run();
    result.errors.forEach((e) => found.push(['errors', keysOf(e)]));
    result.retryErrors.forEach((e) => found.push(['retryErrors', keysOf(e)]));
    result.createdFolders.forEach((f) => f.error && found.push(['folder', keysOf(f.error)]));
    result.detailedResult.forEach((d) => d.result && d.result.errors
      && d.result.errors.forEach((e) => found.push(['file', keysOf(e)])));
  } catch (err) {
    found.push(['rejection', keysOf(err.toJSON())]);
  }
  return found.map(([where, keys]) => `${where}:${keys.join(',')}`).sort();
}

const blobFile = { fileName: 'a.txt', fileSize: 3, blob: Buffer.from('abc') };
const dbu = (url, files, extra = (o) => o) => (lib) => {
  const instance = new lib.DirectBinaryUpload();
  const options = extra(new lib.DirectBinaryUploadOptions().withUrl(url).withUploadFiles(files).withHttpRetryCount(0).withHttpRetryDelay(10));
  return { instance, run: () => instance.uploadFiles(options) };
};
const fsu = (url, paths, extra = (o) => o) => (lib) => {
  const instance = new lib.FileSystemUpload();
  const options = extra(new lib.FileSystemUploadOptions().withUrl(url).withHttpRetryCount(0).withHttpRetryDelay(10));
  return { instance, run: () => instance.upload(options, paths()) };
};

const scenarios = {
  'an invalid URL': () => dbu('not a url', [blobFile]),
  // (The reference retries a refused initiate for over a minute whatever the options: a tree shows the same error.)
  'a refused connection': () => fsu('http://127.0.0.1:1/content/dam/a', () => [root]),
  'a zero-byte blob and a missing file': () => dbu(`${env.emulator.url}/content/dam/a`, [
    { fileName: 'z.txt', fileSize: 0, blob: Buffer.alloc(0) },
    { fileName: 'm.txt', fileSize: 3, filePath: '/nonexistent/m.txt' },
  ], (o) => o.withHttpOptions(AUTH)),
  'no credentials (401 on initiate)': () => dbu(`${env.emulator.url}/content/dam/a`, [blobFile]),
  'retried 503s on part PUTs': () => dbu(`${env.emulator.url}/content/dam/a`, [blobFile], (o) => {
    env.emulator.configure({ faults: { seed: 1, routes: { part: { status503: 1, maxAttempt: 1 } } } });
    return o.withHttpOptions(AUTH).withHttpRetryCount(2).withHttpRetryDelay(10);
  }),
  'a tree with a zero-byte file': () => fsu(`${env.emulator.url}/content/dam/t`, () => [root], (o) => o.withHttpOptions(AUTH).withDeepUpload(true)),
  'a folder creation refused (401)': () => fsu(`${env.emulator.url}/content/dam/t`, () => [root]),
  'a folder creation failing (500)': () => fsu(`${env.emulator.url}/content/dam/t`, () => [root], (o) => {
    env.emulator.configure({ faults: { seed: 1, routes: { folder: { status503: 1 } } } });
    return o.withHttpOptions(AUTH).withDeepUpload(true);
  }),
  'too many files (ETOOLARGE)': () => fsu(`${env.emulator.url}/content/dam/t`, () => [root], (o) => o.withHttpOptions(AUTH).withMaxUploadFiles(1)),
  'an invalid URL for a tree': () => fsu('not a url', () => [root]),
};

test.each(Object.keys(scenarios))('%s: the same error keys as the reference', async (name) => {
  const ref = await shapes(reference, scenarios[name]());
  const our = await shapes(ours, scenarios[name]());
  expect(ref.length).toBeGreaterThan(0);
  expect(our).toEqual(ref);
});

test('an error built from a bare message keeps the reference\'s shape', () => {
  const UploadError = require('../lib/upload-error');
  const bare = new UploadError('limit', 'ETOOLARGE');
  expect(keysOf(bare)).toEqual(['message', 'code']);
  const withStack = new UploadError('x', 'EUNKNOWN', 'stack');
  expect(withStack.toJSON()).toEqual({ message: 'x', code: 'EUNKNOWN', innerStack: 'stack' });
  expect(UploadError.fromNative({ code: 'ENOTFOUND', message: 'm', detail: '' }).toJSON())
    .toEqual({ message: 'm', code: 'ENOTFOUND', innerStack: '' });
});
