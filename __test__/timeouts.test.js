'use strict';

// Timeouts (issue 6, item 3): withHttpRequestTimeout and httpOptions.timeout
// are idle timeouts. A stalled server or a body trickling slower than the
// timeout fails the attempt with ETIMEDOUT; a slow body that keeps moving is
// never cut off, however long it takes; the smaller timeout applies.
// (Upload bodies count as moving when the OS takes them: bytes still queued
// in socket buffers when a part ends are not seen, see the README.)

const ours = require('..');
const { useEmulator, bytes, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');

const env = useEmulator({ minPartSize: 64 * 1024, maxPartSize: 1024 * 1024 });
beforeEach(() => {
  env.emulator.reset();
  env.emulator.configure({ faults: { routes: null } });
});

function upload(size, configure) {
  const options = configure(new ours.DirectBinaryUploadOptions()
    .withUrl(`${env.emulator.url}/content/dam`)
    .withUploadFiles([{ fileName: 't.bin', fileSize: size, blob: bytes(size, 5) }])
    .withHttpRetryCount(0)
    .withHttpOptions({ headers: { Authorization: DEFAULT_AUTHORIZATION } }));
  return new ours.DirectBinaryUpload().uploadFiles(options);
}

const errorOf = (result) => (result.detailedResult[0].result.errors || [])[0];

test.each([
  ['withHttpRequestTimeout', (o) => o.withHttpRequestTimeout(300)],
  ['httpOptions.timeout', (o) => o.withHttpRequestTimeout(0).withHttpOptions({ timeout: 300 })],
  ['the smaller of both', (o) => o.withHttpRequestTimeout(60000).withHttpOptions({ timeout: 300 })],
])('%s: a stalled complete fails with ETIMEDOUT', async (name, configure) => {
  env.emulator.configure({ faults: { routes: { complete: { latencyMs: 2000 } } } });
  const result = await upload(1000, configure);
  expect(errorOf(result)).toMatchObject({ code: 'ETIMEDOUT', message: 'No data moved for 300 ms' });
  expect(result.totalCompleted).toBe(0);
});

test('a response trickling slower than the timeout fails with ETIMEDOUT', async () => {
  env.emulator.configure({ faults: { routes: { initiate: { slow: 1, slowBytesPerSecond: 2 } } } });
  const result = await upload(1000, (o) => o.withHttpRequestTimeout(300));
  expect(errorOf(result)).toMatchObject({ code: 'ETIMEDOUT' });
  expect(env.emulator.state().assets).toEqual([]);
});

test('a slow answer that keeps moving is never cut off, though it takes several timeouts', async () => {
  // The initiate answer trickles out at 500 bytes/s, 50 bytes every 100 ms.
  env.emulator.configure({ faults: { routes: { initiate: { slow: 1, slowBytesPerSecond: 500 } } } });
  const started = Date.now();
  const result = await upload(1000, (o) => o.withHttpRequestTimeout(300));
  expect(errorOf(result)).toBeUndefined();
  expect(result.totalCompleted).toBe(1);
  expect(result.retryErrors).toEqual([]);
  // Only a sanity check that the throttle applied (the answer outlived the timeout).
  expect(Date.now() - started).toBeGreaterThan(2 * 300);
});
