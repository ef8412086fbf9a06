'use strict';

// Seeded fault injection: each kind, on every route, reproducible by seed.

const { useEmulator, bytes, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');
const { request, FORM, form } = require('./helpers/http');
const { startEmulator } = require('../emulator');

const KIB = 1024;
const env = useEmulator({ minPartSize: KIB, maxPartSize: 64 * KIB });

beforeEach(() => {
  env.emulator.configure({ faults: { seed: 0, routes: null, folderNotFoundWindowMs: 0 } });
  env.emulator.reset();
});

// A merge patch merges objects, so clear the routes before setting new ones.
const setFaults = (routes, extra = {}) => {
  env.emulator.configure({ faults: { routes: null } });
  return env.emulator.configure({ faults: { routes, ...extra } });
};
const injected = () => env.emulator.state().faults;

async function initiated(name = 'f.bin', size = 3 * KIB) {
  const res = await env.aem.initiate('/content/dam', [{ name, size }]);
  expect(res.status).toBe(201);
  const body = res.json();
  return { ...body.files[0], completeURI: body.completeURI };
}

test('503 on the first attempt only, then the retry succeeds', async () => {
  setFaults({ initiate: { status503: 1, maxAttempt: 1 } });
  const first = await env.aem.initiate('/content/dam', [{ name: 'a.txt', size: 1 }]);
  expect(first.status).toBe(503);
  const second = await env.aem.initiate('/content/dam', [{ name: 'a.txt', size: 1 }]);
  expect(second.status).toBe(201);
  expect(injected()).toEqual([{ route: 'initiate', key: '/content/dam|a.txt', attempt: 1, kind: '503' }]);
});

test('429 carries Retry-After', async () => {
  setFaults({ complete: { status429: 1, retryAfterSeconds: 7, maxAttempt: 1 } });
  const file = await initiated('r.txt', 3);
  await env.aem.putParts(file, Buffer.from('abc'), 3);
  const fields = env.aem.completeFields(file, 3);
  const first = await env.aem.complete(file.completeURI, fields);
  expect(first.status).toBe(429);
  expect(first.headers['retry-after']).toBe('7');
  expect((await env.aem.complete(file.completeURI, fields)).status).toBe(200);
});

test('reset before: the connection closes with no answer', async () => {
  setFaults({ initiate: { resetBefore: 1, maxAttempt: 1 } });
  await expect(env.aem.initiate('/content/dam', [{ name: 'a.txt', size: 1 }])).rejects.toMatchObject({ code: 'ECONNRESET' });
  expect(env.emulator.requests().map((r) => [r.route, r.status])).toEqual([['initiate', 0]]);
  expect((await env.aem.initiate('/content/dam', [{ name: 'a.txt', size: 1 }])).status).toBe(201);
});

test('reset mid-body on a part PUT stores nothing; the retry lands', async () => {
  const file = await initiated('mid.bin', 2 * KIB);
  setFaults({ part: { resetMid: 1, maxAttempt: 1 } });
  const data = bytes(2 * KIB, 5);
  await expect(env.aem.put(file.uploadURIs[0], data.subarray(0, KIB))).rejects.toBeTruthy();
  expect(env.emulator.state().pendingUploads[0]).toMatchObject({ partsReceived: 0, bytesReceived: 0 });
  expect(injected()).toEqual([{ route: 'part', key: '/content/dam/mid.bin#0', attempt: 1, kind: 'resetMid' }]);
  // Attempt 2 of the same part is past maxAttempt.
  expect((await env.aem.put(file.uploadURIs[0], data.subarray(0, KIB))).status).toBe(201);
  setFaults({});
  expect((await env.aem.put(file.uploadURIs[1], data.subarray(KIB))).status).toBe(201);
  const done = await env.aem.complete(file.completeURI, env.aem.completeFields(file, 2 * KIB));
  expect(done.status).toBe(200);
});

test('reset mid-body on a request without a body cuts the response', async () => {
  setFaults({ folder: { resetMid: 1, maxAttempt: 1 } });
  const url = `${env.emulator.url}/api/assets.json`;
  await expect(request('GET', url, { headers: { authorization: DEFAULT_AUTHORIZATION } })).rejects.toMatchObject({ code: 'ECONNRESET' });
  expect((await request('GET', url, { headers: { authorization: DEFAULT_AUTHORIZATION } })).status).toBe(200);
});

test('latency delays the answer by at least the configured time', async () => {
  setFaults({ folder: { latencyMs: 150, jitterMs: 20 } });
  await env.aem.createFolder('/content/dam/slowpoke');
  const logged = env.emulator.requests().find((r) => r.route === 'folder');
  expect(logged.ms).toBeGreaterThanOrEqual(150);
});

test('slow bodies trickle the response out at the configured rate', async () => {
  setFaults({ initiate: { slow: 1, slowBytesPerSecond: 2000 } });
  const started = Date.now();
  const res = await env.aem.initiate('/content/dam', [{ name: 'slow.txt', size: 3 }]);
  const elapsed = Date.now() - started;
  expect(res.status).toBe(201);
  // The answer is several hundred bytes; at 2000 B/s it cannot arrive in under ~100 ms.
  expect(res.body.length).toBeGreaterThan(400);
  expect(elapsed).toBeGreaterThanOrEqual(Math.floor((res.body.length - 200) / 2));
  expect(injected()).toEqual([expect.objectContaining({ route: 'initiate', kind: 'slow' })]);
});

test('slow bodies throttle how fast a part PUT is read', async () => {
  const file = await initiated('slowpart.bin', 3 * KIB);
  setFaults({ part: { slow: 1, slowBytesPerSecond: 10 * KIB } });
  const started = Date.now();
  expect((await env.aem.put(file.uploadURIs[0], bytes(3 * KIB))).status).toBe(201);
  expect(Date.now() - started).toBeGreaterThanOrEqual(200);
});

test('URLs issued already expired get 403; a fresh initiate gets valid ones', async () => {
  setFaults({ initiate: { expiredUrls: 1, maxAttempt: 1 } });
  const stale = await initiated('exp.txt', 3);
  expect(Number(new URL(stale.uploadURIs[0]).searchParams.get('se')) * 1000).toBeLessThan(Date.now());
  expect((await env.aem.put(stale.uploadURIs[0], 'abc')).status).toBe(403);
  const fresh = await initiated('exp.txt', 3);
  expect((await env.aem.put(fresh.uploadURIs[0], 'abc')).status).toBe(201);
  expect(injected()).toEqual([expect.objectContaining({ route: 'initiate', key: '/content/dam/exp.txt', kind: 'expiredUrl' })]);
});

test('a 404 window after folder creation, for initiate and complete', async () => {
  const file = await initiated('early.txt', 3);
  await env.aem.putParts(file, Buffer.from('abc'), 3);
  setFaults({}, { folderNotFoundWindowMs: 400 });
  expect((await env.aem.createFolder('/content/dam/fresh')).status).toBe(201);
  const early = await env.aem.initiate('/content/dam/fresh', [{ name: 'a.txt', size: 1 }]);
  expect(early.status).toBe(404);
  expect(early.text).toContain('Specified folder not found');
  // Folders created before the window are unaffected.
  expect((await env.aem.complete(file.completeURI, env.aem.completeFields(file, 3))).status).toBe(200);
  await new Promise((r) => setTimeout(r, 450));
  expect((await env.aem.initiate('/content/dam/fresh', [{ name: 'a.txt', size: 1 }])).status).toBe(201);
});

test.each([
  ['initiate', () => env.aem.initiate('/content/dam', [{ name: 'x.txt', size: 1 }])],
  ['part', async () => { const f = await initiated('p.txt', 1); setFaults({ part: { status503: 1 } }); return env.aem.put(f.uploadURIs[0], 'a'); }],
  ['complete', () => env.aem.complete('/content/dam.completeUpload.json', [['fileName', 'x']])],
  ['folder', () => env.aem.createFolder('/content/dam/f')],
  ['createasset', () => request('POST', `${env.emulator.url}/content/dam.createasset.html`, { headers: { authorization: DEFAULT_AUTHORIZATION, 'content-type': 'multipart/form-data; boundary=x' }, body: '--x--\r\n' })],
])('faults apply on the %s route', async (route, send) => {
  setFaults({ [route]: { status503: 1 } });
  const res = await send();
  expect(res.status).toBe(503);
  expect(injected().map((f) => f.route)).toContain(route);
});

test('the same seed injects the same faults; another seed does not', async () => {
  const run = async (seed) => {
    const emulator = await startEmulator({ faults: { seed, routes: { initiate: { status503: 0.3, status429: 0.1, resetBefore: 0.1 } } } });
    try {
      const outcomes = [];
      for (let i = 0; i < 30; i += 1) {
        try {
          const res = await request('POST', `${emulator.url}/content/dam.initiateUpload.json`, {
            headers: { authorization: DEFAULT_AUTHORIZATION, ...FORM },
            body: form([['fileName', `f${i % 10}.txt`], ['fileSize', 1]]),
          });
          outcomes.push(res.status);
        } catch (err) {
          outcomes.push(err.code);
        }
      }
      return { outcomes, faults: emulator.state().faults };
    } finally {
      await emulator.stop();
    }
  };
  const a = await run(42);
  const b = await run(42);
  const c = await run(43);
  expect(a).toEqual(b);
  expect(a.faults.length).toBeGreaterThan(0);
  expect(c.outcomes).not.toEqual(a.outcomes);
  // Attempts count per request key: the 3 sends of f0.txt are attempts 1, 2, 3.
  const attempts = a.faults.filter((f) => f.key === '/content/dam|f0.txt').map((f) => f.attempt);
  expect(new Set(attempts).size).toBe(attempts.length);
});

test('faults are decided per request key, not by arrival order', async () => {
  const rates = { part: { status503: 0.5 } };
  const outcome = async (order) => {
    env.emulator.reset();
    env.emulator.configure({ faults: { seed: 9, routes: null } });
    const file = await initiated('keyed.bin', 8 * KIB);
    setFaults(rates);
    const data = bytes(8 * KIB);
    const results = {};
    for (const k of order) {
      results[k] = (await env.aem.put(file.uploadURIs[k], data.subarray(k * KIB, (k + 1) * KIB))).status;
    }
    return results;
  };
  const forward = await outcome([0, 1, 2, 3, 4, 5, 6, 7]);
  const backward = await outcome([7, 6, 5, 4, 3, 2, 1, 0]);
  expect(backward).toEqual(forward);
  expect(Object.values(forward)).toEqual(expect.arrayContaining([503, 201]));
});
