'use strict';

// The call's AEM limit through the public API (docs/protocol.md §12): by
// default it adapts, so an upload against AEM's throttle lands every file
// with few 429s; withMaxAemRequests(n) fixes it. Counts only, no timings.

const ours = require('..');
const { useEmulator, bytes, emulatorProcess, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');

const env = useEmulator({ faults: { routes: { complete: { latencyMs: 20 }, initiate: { latencyMs: 20 } } } });
const AUTH = { headers: { Authorization: DEFAULT_AUTHORIZATION } };

beforeEach(() => {
  env.emulator.reset();
  env.emulator.configure({ throttle: { maxConcurrentAemRequests: 0 } });
});

function files(count) {
  return Array.from({ length: count }, (_, i) => ({ fileName: `file-${i}.bin`, fileSize: 64, blob: bytes(64, i + 1) }));
}

function options(count) {
  return new ours.DirectBinaryUploadOptions()
    .withUrl(`${env.emulator.url}/content/dam`)
    .withUploadFiles(files(count))
    .withHttpOptions(AUTH)
    .withHttpRetryDelay(5);
}

test('against AEM throttling at 3 requests, the default limit lands every file and backs off', async () => {
  env.emulator.configure({ throttle: { maxConcurrentAemRequests: 3, retryAfterSeconds: 1 } });
  const result = await new ours.DirectBinaryUpload().uploadFiles(options(150));
  expect(result.errors).toEqual([]);
  expect(result.totalCompleted).toBe(150);
  const { limits, assets } = env.emulator.state();
  expect(assets).toHaveLength(150);
  // It starts at 8 in flight, so it meets the throttle; a client that stayed
  // there would see about every other AEM request refused.
  expect(limits.throttledAemRequests).toBeGreaterThan(0);
  expect(limits.throttledAemRequests * 10).toBeLessThanOrEqual(limits.admittedAemRequests);
});

test('withMaxAemRequests(n) keeps at most n AEM requests in flight, and is checked', async () => {
  const opts = options(60).withMaxAemRequests(2);
  expect(opts.getMaxAemRequests()).toBe(2);
  expect(opts.toJSON()).not.toHaveProperty('maxAemRequests');
  expect(ours.FileSystemUploadOptions.fromOptions(opts).getMaxAemRequests()).toBe(2);
  const result = await new ours.DirectBinaryUpload().uploadFiles(opts);
  expect(result.errors).toEqual([]);
  expect(result.totalCompleted).toBe(60);
  expect(env.emulator.state().limits.peakAemInFlight).toBeLessThanOrEqual(2);

  const bad = await new ours.DirectBinaryUpload().uploadFiles(options(1).withMaxAemRequests(0));
  expect(bad.errors).toHaveLength(1);
  expect(bad.errors[0].code).toBe('EINVALIDOPTIONS');
  expect(bad.errors[0].message).toMatch(/maxAemRequests/);
});

test('aem-upload emulator --profile real-link-throttled runs the throttled real link', async () => {
  const { child, exited, ready: started } = emulatorProcess(['--profile', 'real-link-throttled']);
  const ready = await started;
  const config = await (await fetch(`${ready.url}/_emulator/config`)).json();
  expect(config).toMatchObject({
    profile: 'real-link-throttled',
    throttle: { maxConcurrentAemRequests: 16, retryAfterSeconds: 1 },
    link: { blobBytesPerSecond: 25000000 },
    faults: { routes: { initiate: { latencyMs: 125, jitterMs: 50 }, complete: { latencyMs: 200, jitterMs: 100 } } },
  });
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
});
