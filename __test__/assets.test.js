'use strict';

// AssetsClient (aem-upload-rs/assets) through its public API against an
// independent Author API server written from the wire contract, not from our
// emulator: every method and status path, concurrent writers, JSON Patch
// semantics, faults, and secrets kept out of everything a user can see.

const util = require('util');
const { AssetsClient, AssetsError } = require('aem-upload-rs/assets');
const { startAuthorApi } = require('./helpers/independent-author-api');

const TOKEN = 'token-1';
const CANARY = 'canary-5e1f-secret-token';

let server;
beforeEach(async () => {
  server = await startAuthorApi({ apiKeys: ['client-1'], tokens: [TOKEN, CANARY] });
});
afterEach(() => server.close());

function bearer(token) {
  return { headers: async () => ({ Authorization: `Bearer ${token}` }) };
}

function client(options = {}) {
  return new AssetsClient({ url: server.url, auth: bearer(TOKEN), apiKey: 'client-1', retryDelay: 10, ...options });
}

/** Lets log lines queued by the native side reach JS (they cross on their own queue). */
async function drain(done) {
  for (let i = 0; i < 200 && !done(); i += 1) await new Promise((r) => setImmediate(r));
}

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('metadata', () => {
  test('GET gives the document and its tag; If-None-Match gives 304 until another writer changes it', async () => {
    const id = server.addAsset('/content/dam/shop/shoe.jpg', { assetMetadata: { 'dc:title': 'Shoe' } });
    const c = client();
    const doc = await c.getMetadata(id);
    expect(doc).toEqual({
      assetId: id,
      assetMetadata: { 'dc:title': 'Shoe' },
      repositoryMetadata: expect.objectContaining({ 'repo:name': 'shoe.jpg', 'repo:path': '/content/dam/shop/shoe.jpg' }),
      etag: expect.stringMatching(/^".+"$/),
    });
    expect(await c.getMetadata(id, { ifNoneMatch: doc.etag })).toEqual({ notModified: true, etag: doc.etag });
    expect(await c.headMetadata(id)).toEqual({ etag: doc.etag });
    server.touch(id, 'dc:title', 'Boot');
    const changed = await c.getMetadata(id, { ifNoneMatch: doc.etag });
    expect(changed.assetMetadata['dc:title']).toBe('Boot');
    expect(changed.etag).not.toBe(doc.etag);
    for (const req of server.requests()) {
      expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(req.headers['x-api-key']).toBe('client-1');
      expect(req.headers['x-adobe-accept-experimental']).toBe('1');
    }
    expect(server.state.statuses[304]).toBe(1);
  });

  test('PATCH applies the caller\'s ops with full, short and slash-less paths, under If-Match', async () => {
    const id = server.addAsset('/content/dam/a.jpg', { assetMetadata: { 'dc:title': 'A', 'dc:subject': ['x'] } });
    const c = client();
    const { etag } = await c.headMetadata(id);
    const out = await c.patchMetadata(
      id,
      [
        { op: 'test', path: '/dc:title', value: 'A' },
        { op: 'replace', path: '/assetMetadata/dc:title', value: 'B' },
        { op: 'add', path: '/dc:subject/-', value: 'y' },
        { op: 'add', path: 'pim:sku', value: 'S-1' },
        { op: 'copy', from: '/pim:sku', path: '/pim:oldSku' },
        { op: 'move', from: '/pim:oldSku', path: '/pim:firstSku' },
        { op: 'set', path: '/wknd:flag', value: true },
      ],
      { ifMatch: etag },
    );
    expect(out.assetMetadata).toEqual({ 'dc:title': 'B', 'dc:subject': ['x', 'y'], 'pim:sku': 'S-1', 'pim:firstSku': 'S-1', 'wknd:flag': true });
    expect(out.etag).not.toBe(etag);
    expect(server.metadata(id)).toEqual(out.assetMetadata);
    const star = await c.patchMetadata(id, [{ op: 'remove', path: '/wknd:flag' }], { ifMatch: '*' });
    expect(star.assetMetadata['wknd:flag']).toBeUndefined();
  });

  test('a stale tag after a concurrent writer is 412 with the current tag; no If-Match is 428', async () => {
    const id = server.addAsset('/content/dam/a.jpg', { assetMetadata: { 'dc:title': 'A' } });
    const c = client();
    const { etag } = await c.getMetadata(id);
    server.touch(id, 'dc:title', 'Someone else');
    const stale = await rejection(c.patchMetadata(id, [{ op: 'add', path: '/dc:title', value: 'Mine' }], { ifMatch: etag }));
    expect(stale).toBeInstanceOf(AssetsError);
    expect(stale).toMatchObject({ code: 'EPRECONDITIONFAILED', status: 412, problem: { status: 412, detail: expect.any(String) } });
    expect(stale.currentEtag).toBe((await c.headMetadata(id)).etag);
    expect(server.metadata(id)['dc:title']).toBe('Someone else');
    const unconditional = await rejection(c.patchMetadata(id, [{ op: 'add', path: '/dc:title', value: 'Mine' }]));
    expect(unconditional).toMatchObject({ code: 'EPRECONDITIONREQUIRED', status: 428 });
    expect(unconditional.message).toMatch(/If-Match/);
  });

  test('JSON Patch is atomic: one failing op changes nothing', async () => {
    const id = server.addAsset('/content/dam/a.jpg', { assetMetadata: { 'dc:title': 'A' } });
    const c = client();
    const failing = [
      { op: 'add', path: '/dc:title', value: 'B' },
      { op: 'add', path: '/pim:sku', value: 'S' },
      { op: 'test', path: '/dc:title', value: 'not B' },
    ];
    const err = await rejection(c.patchMetadata(id, failing, { ifMatch: '*' }));
    expect(err).toMatchObject({ code: 'EINVALIDOPTIONS', status: 400, problem: { detail: expect.stringMatching(/test failed/) } });
    const missing = await rejection(c.patchMetadata(id, [{ op: 'add', path: '/x', value: 1 }, { op: 'remove', path: '/absent' }], { ifMatch: '*' }));
    expect(missing).toMatchObject({ code: 'EINVALIDOPTIONS', status: 400 });
    expect(server.metadata(id)).toEqual({ 'dc:title': 'A' });
  });

  test('repositoryMetadata is read-only and malformed ops are refused before any request', async () => {
    const id = server.addAsset('/content/dam/a.jpg');
    const c = client();
    const before = server.requests().length;
    for (const ops of [
      [{ op: 'replace', path: '/repositoryMetadata/repo:name', value: 'b.jpg' }],
      [{ op: 'add', path: '/dc:title', value: 'ok' }, { op: 'copy', from: '/repositoryMetadata/repo:path', path: '/x' }],
      [{ op: 'add', path: '/', value: 1 }],
      [{ path: '/dc:title', value: 1 }],
    ]) {
      const err = await rejection(c.patchMetadata(id, ops, { ifMatch: '*' }));
      expect(err).toMatchObject({ code: 'EINVALIDOPTIONS', status: undefined });
    }
    expect((await rejection(c.patchMetadata(id, { op: 'add' }, { ifMatch: '*' }))).code).toBe('EINVALIDOPTIONS');
    expect(server.requests().length).toBe(before);
  });

  test('updateMetadata sets values, removes nulls, keeps the rest, and skips what is in place', async () => {
    const id = server.addAsset('/content/dam/a.jpg', { assetMetadata: { 'dc:title': 'A', keep: 1, drop: 'x' } });
    const c = client();
    const out = await c.updateMetadata(id, { 'dc:title': 'B', 'pim:sku': 'S-1', drop: null, absent: null, 'dc:subject': ['a', 'b'] });
    expect(out.assetMetadata).toEqual({ 'dc:title': 'B', keep: 1, 'pim:sku': 'S-1', 'dc:subject': ['a', 'b'] });
    expect(server.metadata(id)).toEqual(out.assetMetadata);
    const patches = server.requests((r) => r.method === 'PATCH').length;
    const same = await c.updateMetadata(id, { 'dc:title': 'B', absent: null });
    expect(same.etag).toBe(out.etag);
    expect(server.requests((r) => r.method === 'PATCH').length).toBe(patches);
    for (const bad of [{ '/dc:title': 1 }, { '': 1 }]) {
      expect((await rejection(c.updateMetadata(id, bad))).code).toBe('EINVALIDOPTIONS');
    }
    expect((await rejection(c.updateMetadata(id, ['x']))).code).toBe('EINVALIDOPTIONS');
  });

  test('10 concurrent writers on one asset: every value lands, none lost', async () => {
    const id = server.addAsset('/content/dam/hot.jpg', { assetMetadata: { 'dc:title': 'Hot' } });
    const c = client();
    server.holdReads(10); // all ten read the same tag, so nine must meet a 412
    const writers = Array.from({ length: 10 }, (_, i) => c.updateMetadata(id, { [`test:w${i}`]: `v${i}` }, { retries: 9 }));
    const results = await Promise.all(writers);
    const final = server.metadata(id);
    for (let i = 0; i < 10; i += 1) expect(final[`test:w${i}`]).toBe(`v${i}`);
    expect(final['dc:title']).toBe('Hot');
    expect(server.state.statuses[412]).toBeGreaterThanOrEqual(9);
    expect(new Set(results.map((r) => r.etag)).size).toBe(10);
  });

  test('a writer without retries loses the race with EPRECONDITIONFAILED, never silently', async () => {
    const id = server.addAsset('/content/dam/a.jpg');
    const c = client();
    server.holdReads(2);
    const outcomes = await Promise.allSettled([c.updateMetadata(id, { a: 1 }, { retries: 0 }), c.updateMetadata(id, { b: 2 }, { retries: 0 })]);
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(lost.length).toBe(1);
    expect(lost[0].reason).toMatchObject({ code: 'EPRECONDITIONFAILED', status: 412, currentEtag: expect.any(String) });
    const won = outcomes.find((o) => o.status === 'fulfilled').value;
    expect(server.metadata(id)).toEqual(won.assetMetadata);
  });
});

describe('delete and jobs', () => {
  test('a plain delete is 204, and the asset is 404 after', async () => {
    const id = server.addAsset('/content/dam/a.jpg');
    const c = client();
    expect(await c.deleteAsset(id)).toEqual({ status: 'deleted' });
    expect(server.requests((r) => r.method === 'DELETE')[0].path).toMatch(/\?force=false$/);
    const gone = await rejection(c.getMetadata(id));
    expect(gone).toMatchObject({ code: 'ENOTFOUND', status: 404, problem: { status: 404 } });
    expect((await rejection(c.deleteAsset(id))).code).toBe('ENOTFOUND');
    expect((await rejection(c.headMetadata(id))).code).toBe('ENOTFOUND');
  });

  test('202 gives a job; its status is 200 while running, then 303, which is read and not followed', async () => {
    const id = server.addAsset('/content/dam/ref.jpg', { referenced: true });
    const c = client();
    const accepted = await c.deleteAsset(id);
    expect(accepted).toEqual({ status: 'accepted', jobId: expect.any(String), location: `${server.url}/adobe/assets/jobs/${accepted.jobId}/status` });
    const running = await c.getJobStatus(accepted.jobId);
    expect(running).toEqual({ jobId: accepted.jobId, state: 'PROCESSING', done: false, failed: false });
    const done = await c.waitForJob(accepted.location);
    expect(done).toEqual({ jobId: accepted.jobId, state: 'COMPLETED', done: true, failed: false, location: `${server.url}/adobe/assets/jobs/${accepted.jobId}/result` });
    expect(server.requests((r) => r.path.endsWith('/result'))).toEqual([]);
    expect(server.state.statuses[303]).toBe(1);
    expect((await rejection(c.getMetadata(id))).code).toBe('ENOTFOUND');
  });

  test('delete with wait follows the job; force deletes a referenced asset at once', async () => {
    const c = client();
    const ref = server.addAsset('/content/dam/ref.jpg', { referenced: true });
    const waited = await c.deleteAsset(ref, { wait: true });
    expect(waited).toEqual({ status: 'deleted', jobId: expect.any(String), location: expect.stringContaining('/adobe/assets/jobs/') });
    expect(server.state.assets.has(ref)).toBe(false);
    const forced = server.addAsset('/content/dam/ref2.jpg', { referenced: true });
    expect(await c.deleteAsset(forced, { force: true, wait: true })).toEqual({ status: 'deleted' });
  });

  test('a failed job rejects with EJOBFAILED and the asset stays', async () => {
    const id = server.addAsset('/content/dam/stuck.jpg', { referenced: true, failDelete: true });
    const c = client();
    const err = await rejection(c.deleteAsset(id, { wait: true }));
    expect(err).toMatchObject({ code: 'EJOBFAILED', job: { state: 'FAILED', done: true, failed: true } });
    expect(err.message).toMatch(/Updating references failed/);
    expect(server.state.assets.has(id)).toBe(true);
    const status = await c.getJobStatus(err.job.jobId);
    expect(status).toMatchObject({ state: 'FAILED', done: true, failed: true });
  });

  test('waitForJob honours its timeout and its signal; an unknown job is 404', async () => {
    server.state.jobPolls = 1e9;
    const id = server.addAsset('/content/dam/slow.jpg', { referenced: true });
    const c = client();
    const { jobId } = await c.deleteAsset(id);
    const late = await rejection(c.waitForJob(jobId, { timeout: 300 }));
    expect(late).toMatchObject({ code: 'ETIMEDOUT', job: { jobId, state: 'PROCESSING' } });
    const controller = new AbortController();
    const waiting = c.waitForJob(jobId, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect((await rejection(waiting)).code).toBe('EUSERCANCELLED');
    expect((await rejection(c.getJobStatus('no-such-job'))).code).toBe('ENOTFOUND');
  });

  test('the default poll interval is 1 s when the server names none', async () => {
    server.state.jobPolls = 1;
    server.state.retryAfter = undefined;
    const id = server.addAsset('/content/dam/r.jpg', { referenced: true });
    const c = client();
    const { jobId } = await c.deleteAsset(id);
    const started = Date.now();
    await c.waitForJob(jobId);
    // Two polls one interval apart; asserted as a lower bound only.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe('asset ids', () => {
  test('assetIdForPath reads jcr:uuid from <path>.json; bad ids never reach the server', async () => {
    const id = server.addAsset('/content/dam/a b/ü.jpg');
    const c = client();
    expect(await c.assetIdForPath('/content/dam/a b/ü.jpg')).toBe(id);
    const missing = await rejection(c.assetIdForPath('/content/dam/none.jpg'));
    expect(missing).toMatchObject({ code: 'ENOTFOUND', status: 404, problem: undefined });
    const before = server.requests().length;
    for (const bad of ['urn:aaid:aem:../../etc', 'urn:aaid:aem:1b4e28ba-2fa1-11d2-883f-0016d3cca427/../x', '/content/dam/a.jpg', '']) {
      expect(await rejection(c.getMetadata(bad))).toMatchObject({ code: 'EINVALIDOPTIONS', status: undefined });
      expect((await rejection(c.deleteAsset(bad))).code).toBe('EINVALIDOPTIONS');
    }
    expect((await rejection(c.getMetadata(42))).code).toBe('EINVALIDOPTIONS');
    expect((await rejection(c.assetIdForPath('/content/dam/../x'))).code).toBe('EINVALIDOPTIONS');
    expect((await rejection(c.getJobStatus('https://elsewhere.test/adobe/assets/jobs/j/status'))).code).toBe('EINVALIDOPTIONS');
    expect(server.requests().length).toBe(before);
  });
});

describe('statuses, auth and faults', () => {
  test('406 is ENOTSUPPORTED with the problem', async () => {
    const id = server.addAsset('/content/dam/a.jpg');
    server.inject({ method: 'GET', path: '/metadata', status: 406, detail: 'not acceptable' });
    expect(await rejection(client().getMetadata(id))).toMatchObject({ code: 'ENOTSUPPORTED', status: 406, problem: { detail: 'not acceptable' } });
  });

  test('an unregistered or missing X-Api-Key is 403', async () => {
    const id = server.addAsset('/content/dam/a.jpg');
    const unknown = await rejection(client({ apiKey: 'not-registered' }).getMetadata(id));
    expect(unknown).toMatchObject({ code: 'EFORBIDDEN', status: 403, problem: { detail: expect.stringMatching(/client id/) } });
    expect((await rejection(client({ apiKey: undefined }).getMetadata(id))).code).toBe('EFORBIDDEN');
    const fromProvider = { clientId: 'client-1', headers: async () => ({ Authorization: `Bearer ${TOKEN}` }) };
    expect((await client({ apiKey: undefined, auth: fromProvider }).headMetadata(id)).etag).toEqual(expect.any(String));
  });

  test('a 401 asks the provider again once, with the reason, and resends once', async () => {
    const id = server.addAsset('/content/dam/a.jpg');
    const reasons = [];
    let token = 'expired';
    const auth = {
      async headers({ reason } = {}) {
        reasons.push(reason);
        if (reason === 'unauthorized') token = TOKEN;
        return { Authorization: `Bearer ${token}` };
      },
    };
    const c = client({ auth });
    expect((await c.getMetadata(id)).assetId).toBe(id);
    expect(reasons).toEqual(['request', 'unauthorized', 'request']);
    expect(server.state.statuses[401]).toBe(1);
    const never = await rejection(client({ auth: bearer('revoked') }).getMetadata(id));
    expect(never).toMatchObject({ code: 'ENOTAUTHORIZED', status: 401 });
    const throwing = { headers: async () => { throw Object.assign(new Error('no credentials'), { code: 'EINVALIDOPTIONS' }); } };
    expect(await rejection(client({ auth: throwing }).getMetadata(id))).toMatchObject({ code: 'EINVALIDOPTIONS', message: expect.stringMatching(/no credentials/) });
  });

  test('503 and 429 with Retry-After and a reset connection are survived; logged as retries', async () => {
    const id = server.addAsset('/content/dam/a.jpg', { assetMetadata: { 'dc:title': 'A' } });
    const lines = [];
    const log = { debug: (m) => lines.push(['debug', m]), info: (m) => lines.push(['info', m]), warn: (m) => lines.push(['warn', m]), error: (m) => lines.push(['error', m]) };
    const c = client({ log });
    server.inject({ method: 'GET', status: 503, retryAfter: 0 });
    server.inject({ method: 'GET', status: 429, retryAfter: 0 });
    server.inject({ method: 'GET', reset: true });
    expect((await c.getMetadata(id)).assetMetadata['dc:title']).toBe('A');
    server.inject({ method: 'PATCH', status: 503, retryAfter: 0 });
    expect((await c.updateMetadata(id, { 'dc:title': 'B' })).assetMetadata['dc:title']).toBe('B');
    server.inject({ method: 'DELETE', status: 429, retryAfter: 0 });
    expect(await c.deleteAsset(id)).toEqual({ status: 'deleted' });
    const retries = () => lines.filter(([level, m]) => level === 'warn' && /retrying/.test(m)).length;
    await drain(() => retries() >= 5);
    expect(retries()).toBe(5);
    expect(lines.some(([level, m]) => level === 'debug' && /GET .*metadata -> 200/.test(m))).toBe(true);
  });

  test('out of retries: the last answer\'s error', async () => {
    const id = server.addAsset('/content/dam/a.jpg');
    server.inject({ status: 503, retryAfter: 0, times: 3 });
    const err = await rejection(client({ retryCount: 2 }).getMetadata(id));
    expect(err).toMatchObject({ code: 'EUNKNOWN', status: 503, problem: { status: 503 } });
    expect(server.requests().length).toBe(3);
    server.inject({ reset: true });
    expect(await rejection(client({ retryCount: 0 }).getMetadata(id))).toMatchObject({ code: 'ECONNRESET', status: undefined });
  });

  test('the client\'s signal cancels every call', async () => {
    server.state.jobPolls = 1e9;
    const controller = new AbortController();
    const c = client({ signal: controller.signal });
    const { jobId } = await c.deleteAsset(server.addAsset('/content/dam/r.jpg', { referenced: true }));
    // Both handlers attached at once: the second wait may settle while the first is awaited.
    const waits = [c.waitForJob(jobId), c.waitForJob(jobId)].map(rejection);
    setTimeout(() => controller.abort(), 50);
    for (const error of await Promise.all(waits)) expect(error.code).toBe('EUSERCANCELLED');
    expect((await rejection(c.getJobStatus(jobId))).code).toBe('EUSERCANCELLED');
  });

  test('bad options are EINVALIDOPTIONS at construction', () => {
    for (const options of [undefined, {}, { url: 'author.test' }, { url: 'https://user:pw@author.test' }, { url: server.url, auth: 'Bearer x' }, { url: server.url, retryCount: -1 }, { url: server.url, signal: {} }]) {
      let error;
      try {
        new AssetsClient(options); // eslint-disable-line no-new
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(AssetsError);
      expect(error.code).toBe('EINVALIDOPTIONS');
      expect(error.message).not.toMatch(/pw/);
    }
  });
});

describe('secrets', () => {
  test('a canary token appears in no error, inspect output or log line', async () => {
    const id = server.addAsset('/content/dam/a.jpg');
    const lines = [];
    const log = { debug: (m) => lines.push(m), info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
    const c = client({ auth: bearer(CANARY), log });
    const seen = [util.inspect(c), JSON.stringify(c)];
    const { etag } = await c.getMetadata(id);
    server.touch(id, 'x', 1);
    const errors = [
      await rejection(c.patchMetadata(id, [{ op: 'add', path: '/a', value: 1 }], { ifMatch: etag })),
      await rejection(c.getMetadata('urn:aaid:aem:00000000-0000-0000-0000-000000000000')),
      await rejection(client({ auth: bearer(`${CANARY}-revoked`), log }).getMetadata(id)),
      await rejection(new AssetsClient({ url: 'http://127.0.0.1:1', auth: bearer(CANARY), retryCount: 0, log }).getMetadata(id)),
    ];
    server.inject({ status: 503, retryAfter: 0, times: 4 });
    errors.push(await rejection(client({ auth: bearer(CANARY), log }).headMetadata(id)));
    for (const err of errors) seen.push(err.message, err.stack, JSON.stringify(err), util.inspect(err), String(err.detail || ''));
    await drain(() => lines.some((l) => /HEAD .* -> 503/.test(l)) && lines.filter((l) => /retrying/.test(l)).length >= 3);
    seen.push(...lines);
    expect(lines.length).toBeGreaterThan(5);
    for (const text of seen) expect(text).not.toContain('canary');
    expect(errors.map((e) => e.code)).toEqual(['EPRECONDITIONFAILED', 'ENOTFOUND', 'ENOTAUTHORIZED', 'ECONNREFUSED', 'EUNKNOWN']);
  });
});
