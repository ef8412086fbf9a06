'use strict';

// URL sources (docs/remote-sources.md): DirectBinaryUpload files with a
// `sourceUrl` are streamed from real origin servers started here, by ranges
// where the origin serves them, in order where it does not. Checked: exact
// bytes on the emulator, failing origins failing only their file with clear
// errors, changed files, headers kept on their side, cancel mid-read, and a
// 2 GiB file in bounded memory.

const crypto = require('crypto');
const path = require('path');
const { spawn } = require('child_process');
const { DirectBinaryUpload, DirectBinaryUploadOptions } = require('..');
const { startEmulator } = require('../emulator');
const { useEmulator, bytes, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');
const { startOrigin, generated } = require('./helpers/origin');

const env = useEmulator({ minPartSize: 64 * 1024, maxPartSize: 256 * 1024 });
let origin;
afterEach(async () => {
  if (origin) await origin.close();
  origin = null;
  env.emulator.configure({ faults: { routes: null }, affinityCookie: false });
});

const sha256 = (buffer) => crypto.createHash('sha256').update(buffer).digest('hex');

function options(files) {
  return new DirectBinaryUploadOptions()
    .withUrl(`${env.emulator.url}/content/dam`)
    .withHttpOptions({ headers: { Authorization: DEFAULT_AUTHORIZATION } })
    .withHttpRetryCount(2)
    .withHttpRetryDelay(10)
    .withUploadFiles(files);
}

async function upload(files, configure = (o) => o) {
  env.emulator.reset();
  const instance = new DirectBinaryUpload();
  const errors = {};
  instance.on('fileerror', (e) => { errors[e.fileName] = e.errors[0]; });
  const result = await instance.uploadFiles(configure(options(files)));
  const assets = Object.fromEntries(env.emulator.state().assets.map((a) => [a.path.split('/').pop(), a]));
  return { result, errors, assets, state: env.emulator.state() };
}

test('ranged, plain, redirected and HEAD-less origins land byte for byte, with or without fileSize', async () => {
  const data = {
    '/ranged.bin': bytes(900 * 1024 + 5, 1),
    '/plain.bin': bytes(700 * 1024 + 3, 2),
    '/final.bin': bytes(300 * 1024, 3),
    '/nohead.bin': bytes(200 * 1024 + 1, 4),
    '/small.txt': Buffer.from('hello from the origin'),
  };
  origin = await startOrigin(data, {
    '/plain.bin': { ranges: false, etag: null, noLength: true },
    '/hop1': { redirect: '/hop2', redirectStatus: 301 },
    '/hop2': { redirect: '/final.bin' },
    '/nohead.bin': { noHead: true },
  });
  const { result, errors, assets } = await upload([
    { fileName: 'ranged.bin', sourceUrl: `${origin.url}/ranged.bin?sig=secret-signature` },
    { fileName: 'plain.bin', fileSize: data['/plain.bin'].length, sourceUrl: `${origin.url}/plain.bin` },
    { fileName: 'redirected.bin', sourceUrl: `${origin.url}/hop1` },
    { fileName: 'nohead.bin', sourceUrl: `${origin.url}/nohead.bin` },
    { fileName: 'small.txt', sourceUrl: new URL(`${origin.url}/small.txt`) },
  ]);
  expect(errors).toEqual({});
  expect(result.totalCompleted).toBe(5);
  expect(assets['ranged.bin'].sha256).toBe(sha256(data['/ranged.bin']));
  expect(assets['plain.bin'].sha256).toBe(sha256(data['/plain.bin']));
  expect(assets['redirected.bin'].sha256).toBe(sha256(data['/final.bin']));
  expect(assets['nohead.bin'].sha256).toBe(sha256(data['/nohead.bin']));
  expect(assets['small.txt'].sha256).toBe(sha256(data['/small.txt']));
  // The size an origin gave is the file's size in the result.
  expect(result.detailedResult.map((d) => d.fileSize)).toEqual([921605, 716803, 307200, 204801, 21]);

  const gets = (p) => origin.requests.filter((r) => r.method === 'GET' && r.url.startsWith(p));
  // A ranged origin is read part by part, each range tied to the version first seen.
  const ranged = gets('/ranged.bin').filter((r) => r.headers.range !== 'bytes=0-0');
  expect(ranged.length).toBeGreaterThan(3);
  expect(ranged.every((r) => /^bytes=\d+-\d+$/.test(r.headers.range) && r.headers['if-range'] === '"v1"')).toBe(true);
  // One without ranges (nor a length on HEAD, so a GET's head was asked for it) is read once, in order.
  expect(gets('/plain.bin').map((r) => r.headers.range)).toEqual(['bytes=0-0', undefined]);
});

test('failing origins fail only their file, with the origin named and its query left out', async () => {
  const good = bytes(300 * 1024, 5);
  origin = await startOrigin({ '/good.bin': good, '/reset.bin': bytes(300 * 1024, 6), '/stall.bin': bytes(300 * 1024, 7), '/flaky.bin': bytes(200 * 1024, 8) }, {
    '/gone.bin': { status: 404 },
    '/broken.bin': { status: 500 },
    '/reset.bin': { reset: true, ranges: false },
    '/stall.bin': { stall: true, ranges: false },
    // Two 503s, then well: retries fetch the range again.
    '/flaky.bin': { status: 503, statusTimes: 2 },
  });
  const q = '?token=origin-secret';
  const { result, errors, assets } = await upload([
    { fileName: 'good.bin', sourceUrl: `${origin.url}/good.bin${q}` },
    { fileName: 'gone.bin', fileSize: 10, sourceUrl: `${origin.url}/gone.bin${q}` },
    { fileName: 'broken.bin', fileSize: 10, sourceUrl: `${origin.url}/broken.bin${q}` },
    { fileName: 'reset.bin', fileSize: 300 * 1024, sourceUrl: `${origin.url}/reset.bin${q}` },
    { fileName: 'stall.bin', fileSize: 300 * 1024, sourceUrl: `${origin.url}/stall.bin${q}` },
    { fileName: 'flaky.bin', sourceUrl: `${origin.url}/flaky.bin${q}` },
  ], (o) => o.withHttpRequestTimeout(500));
  expect(result.totalCompleted).toBe(2);
  expect(assets['good.bin'].sha256).toBe(sha256(good));
  expect(assets['flaky.bin'].size).toBe(200 * 1024);
  expect(Object.keys(assets).sort()).toEqual(['flaky.bin', 'good.bin']);
  expect(errors['gone.bin']).toMatchObject({ code: 'ENOTFOUND', message: `Request failed with status code 404 from the origin ${origin.url}/gone.bin?<redacted>` });
  expect(errors['broken.bin']).toMatchObject({ code: 'EUNKNOWN', message: `Request failed with status code 500 from the origin ${origin.url}/broken.bin?<redacted>` });
  expect(errors['reset.bin'].code).toBe('ECONNRESET');
  expect(errors['reset.bin'].message).toContain(`${origin.url}/reset.bin?<redacted>`);
  expect(errors['stall.bin']).toMatchObject({ code: 'ETIMEDOUT' });
  expect(errors['stall.bin'].message).toContain(`${origin.url}/stall.bin?<redacted>`);
  expect(JSON.stringify(result)).not.toContain('origin-secret');
});

test('a file that changes while it is read, or has another length, fails; a length nobody knows is refused', async () => {
  origin = await startOrigin({ '/moving.bin': bytes(600 * 1024, 9), '/short.bin': bytes(100, 10), '/unknown.bin': bytes(100, 11) }, {
    '/moving.bin': { changeAfterRanges: 2 },
    '/unknown.bin': { ranges: false, noLength: true, etag: null },
  });
  const { result, errors, assets } = await upload([
    { fileName: 'moving.bin', sourceUrl: `${origin.url}/moving.bin` },
    { fileName: 'short.bin', fileSize: 200, sourceUrl: `${origin.url}/short.bin` },
    { fileName: 'unknown.bin', sourceUrl: `${origin.url}/unknown.bin` },
  ], (o) => o.withMaxConcurrent(1));
  expect(result.totalCompleted).toBe(0);
  expect(assets).toEqual({});
  expect(errors['moving.bin']).toMatchObject({
    code: 'EINVALIDOPTIONS',
    message: `The source changed while it was read: ${origin.url}/moving.bin answered with another version`,
  });
  expect(errors['short.bin']).toMatchObject({
    code: 'EINVALIDOPTIONS',
    message: `Source size mismatch for 'short.bin': declared 200 bytes, source has 100 bytes (${origin.url}/short.bin)`,
  });
  expect(errors['unknown.bin']).toMatchObject({
    code: 'EINVALIDOPTIONS',
    message: `The origin ${origin.url}/unknown.bin gives no length for the file, and fileSize is not set`,
  });
});

test('origin headers go to the origin only; AEM credentials and cookies never reach it', async () => {
  origin = await startOrigin({ '/a.bin': bytes(300 * 1024, 12), '/b.bin': bytes(1000, 13) }, { '/b.bin': { ranges: false } });
  env.emulator.configure({ affinityCookie: true });
  const { result } = await upload([
    { fileName: 'a.bin', sourceUrl: `${origin.url}/a.bin`, sourceHeaders: { 'X-Origin-Canary': 'origin-only-value' } },
    { fileName: 'b.bin', sourceUrl: `${origin.url}/b.bin`, sourceHeaders: { 'X-Origin-Canary': 'origin-only-value' } },
  ], (o) => o.withHttpOptions({ headers: { Authorization: DEFAULT_AUTHORIZATION, 'X-Aem-Only': 'aem-value' } }));
  expect(result.totalCompleted).toBe(2);
  for (const r of origin.requests) {
    expect(r.headers['x-origin-canary']).toBe('origin-only-value');
    expect(r.headers.authorization).toBeUndefined();
    expect(r.headers.cookie).toBeUndefined();
    expect(r.headers['x-aem-only']).toBeUndefined();
  }
  for (const r of env.emulator.requests()) {
    expect(r.headers.map((h) => h.toLowerCase())).not.toContain('x-origin-canary');
  }
});

test('cancel during a ranged read ends the file cancelled, with no asset', async () => {
  origin = await startOrigin({ '/slow.bin': bytes(1024 * 1024, 14) }, { '/slow.bin': { stallAfterRanges: 1 } });
  env.emulator.reset();
  const instance = new DirectBinaryUpload();
  const cancelled = [];
  instance.on('filecancelled', (e) => cancelled.push(e.fileName));
  const run = instance.uploadFiles(options([{ fileName: 'slow.bin', sourceUrl: `${origin.url}/slow.bin` }]).withMaxConcurrent(2));
  // Wait until a range read is stalled at the origin, then cancel.
  while (origin.requests.filter((r) => r.headers.range && r.headers.range !== 'bytes=0-0').length < 2) {
    // eslint-disable-next-line no-await-in-loop
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  instance.cancel();
  const result = await run;
  expect(cancelled).toEqual(['slow.bin']);
  expect(result.totalCompleted).toBe(0);
  expect(env.emulator.state().assets).toEqual([]);
});

test('a 2 GiB origin file is uploaded with the whole uploading process under 150 MB', async () => {
  const size = 2 * 1024 * 1024 * 1024;
  const content = generated(size, 42);
  origin = await startOrigin({ '/big.bin': content });
  const expected = crypto.createHash('sha256');
  for (const chunk of content.chunks(0, size)) expected.update(chunk);
  const digest = expected.digest('hex');
  // Its own emulator, keeping only each asset's size and digest.
  const emulator = await startEmulator({ storage: 'digest' });
  try {
    const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'url-child.js')], {
      env: { ...process.env, AEM_URL: `${emulator.url}/content/dam`, SOURCE_URL: `${origin.url}/big.bin` },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report.totalCompleted).toBe(1);
    expect(report.peakRssMb).toBeLessThan(150);
    const [asset] = emulator.state().assets;
    expect(asset.size).toBe(size);
    expect(asset.sha256).toBe(digest);
  } finally {
    await emulator.stop();
  }
});
