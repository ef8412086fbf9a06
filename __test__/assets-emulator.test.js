'use strict';

// AssetsClient (aem-upload-rs/assets) against our own emulator: files
// uploaded with the main library (direct binary, and the create-asset
// fallback), then their ids, metadata with ETags, conditional writes, racing
// writers, deletes with jobs, the API-key allow-list and injected faults,
// all through public APIs over real sockets. assets.test.js runs the same
// client against an independent server.

const fs = require('fs');
const path = require('path');
const { execFile } = require('child_process');
const { AssetsClient } = require('aem-upload-rs/assets');
const ours = require('..');
const { startEmulator } = require('../emulator');
const { useEmulator, tempDir } = require('./helpers/emulator');
const { clientCredentials } = require('./helpers/ims');

const TOKEN = 'emulator-token-7d1c';
const KEY = 'client-1';
// Assets are processed as they land (events-emulator.test.js covers the processing window).
const env = useEmulator({ auth: { bearer: [TOKEN] }, author: { apiKeys: [KEY] }, events: { processingDelayMs: 0 } });

beforeEach(() => {
  env.emulator.reset();
  env.emulator.configure({ faults: { routes: null }, asyncDelete: null, directBinary: true, author: { referenced: [], jobMs: 1000 } });
});

const auth = { headers: async () => ({ Authorization: `Bearer ${TOKEN}` }) };

function client(options = {}) {
  return new AssetsClient({ url: env.emulator.url, auth, apiKey: KEY, retryDelay: 10, ...options });
}

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Uploads a small tree with FileSystemUpload; returns the DAM paths of its files. */
async function uploadTree(folder, names) {
  const root = tempDir();
  try {
    for (const name of names) fs.writeFileSync(path.join(root, name), `bytes of ${name}`);
    const options = new ours.FileSystemUploadOptions()
      .withUrl(`${env.emulator.url}${folder}`)
      .withHttpOptions({ headers: { Authorization: `Bearer ${TOKEN}` } })
      .withHttpRetryDelay(10);
    const result = await new ours.FileSystemUpload().upload(options, names.map((n) => path.join(root, n)));
    expect(result.totalCompleted).toBe(names.length);
    return names.map((n) => `${folder}/${n}`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

function stateAsset(damPath) {
  return env.emulator.state().assets.find((a) => a.path === damPath);
}

describe('after an upload', () => {
  test('ids from paths, metadata with ETags, 304, and updates that land in the asset', async () => {
    const [shoe, boot] = await uploadTree('/content/dam/shop', ['shoe.jpg', 'boot.png']);
    const c = client();
    const id = await c.assetIdForPath(shoe);
    expect(id).toBe(stateAsset(shoe).assetId);
    expect(await c.assetIdForPath(boot)).toBe(stateAsset(boot).assetId);

    const doc = await c.getMetadata(id);
    expect(doc).toEqual({
      assetId: id,
      assetMetadata: {},
      repositoryMetadata: expect.objectContaining({
        'repo:path': shoe,
        'repo:name': 'shoe.jpg',
        'repo:size': 'bytes of shoe.jpg'.length,
        'dc:format': 'image/jpeg',
        'repo:assetId': id,
        'aem:assetState': 'processed',
      }),
      etag: stateAsset(shoe).etag,
    });
    expect(await c.getMetadata(id, { ifNoneMatch: doc.etag })).toEqual({ notModified: true, etag: doc.etag });
    expect(await c.headMetadata(id)).toEqual({ etag: doc.etag });

    const updated = await c.updateMetadata(id, { 'dc:title': 'Shoe', 'pim:sku': 'S-1', 'dc:subject': ['red', 'leather'] });
    expect(updated.assetMetadata).toEqual({ 'dc:title': 'Shoe', 'pim:sku': 'S-1', 'dc:subject': ['red', 'leather'] });
    expect(updated.etag).not.toBe(doc.etag);
    expect(stateAsset(shoe)).toMatchObject({ metadata: updated.assetMetadata, etag: updated.etag });
    const changed = await c.getMetadata(id, { ifNoneMatch: doc.etag });
    expect(changed.assetMetadata['dc:title']).toBe('Shoe');

    const patched = await c.patchMetadata(id, [
      { op: 'add', path: '/dc:subject/-', value: 'brown' },
      { op: 'remove', path: 'pim:sku' },
      { op: 'set', path: '/assetMetadata/dc:title', value: 'Shoe 2' },
    ], { ifMatch: updated.etag });
    expect(patched.assetMetadata).toEqual({ 'dc:title': 'Shoe 2', 'dc:subject': ['red', 'leather', 'brown'] });
    const removed = await c.updateMetadata(id, { 'dc:subject': null });
    expect(removed.assetMetadata).toEqual({ 'dc:title': 'Shoe 2' });
  });

  test('assets from the create-asset fallback have ids and metadata too', async () => {
    env.emulator.configure({ directBinary: false });
    const [file] = await uploadTree('/content/dam/fallback', ['servlet.txt']);
    const c = client();
    const id = await c.assetIdForPath(file);
    expect((await c.updateMetadata(id, { 'dc:title': 'Via servlet' })).repositoryMetadata).toMatchObject({ 'repo:path': file, 'dc:format': 'text/plain' });
    expect(stateAsset(file).metadata).toEqual({ 'dc:title': 'Via servlet' });
  });

  test('a stale tag after another writer is 412 with the current tag; no If-Match is 428; nothing is overwritten', async () => {
    const [file] = await uploadTree('/content/dam/cond', ['a.jpg']);
    const c = client();
    const id = await c.assetIdForPath(file);
    const { etag } = await c.getMetadata(id);
    const other = await client().updateMetadata(id, { 'dc:title': 'Someone else' });
    const stale = await rejection(c.patchMetadata(id, [{ op: 'add', path: '/dc:title', value: 'Mine' }], { ifMatch: etag }));
    expect(stale).toMatchObject({ code: 'EPRECONDITIONFAILED', status: 412, currentEtag: other.etag, problem: { status: 412 } });
    const unconditional = await rejection(c.patchMetadata(id, [{ op: 'add', path: '/dc:title', value: 'Mine' }]));
    expect(unconditional).toMatchObject({ code: 'EPRECONDITIONREQUIRED', status: 428 });
    expect(stateAsset(file).metadata).toEqual({ 'dc:title': 'Someone else' });
  });

  test('JSON Patch is atomic on the emulator: one failing op changes nothing', async () => {
    const [file] = await uploadTree('/content/dam/atomic', ['a.jpg']);
    const c = client();
    const id = await c.assetIdForPath(file);
    const { etag } = await c.updateMetadata(id, { 'dc:title': 'A' });
    const failing = [
      { op: 'add', path: '/pim:sku', value: 'S' },
      { op: 'test', path: '/dc:title', value: 'not A' },
    ];
    const err = await rejection(c.patchMetadata(id, failing, { ifMatch: '*' }));
    expect(err).toMatchObject({ code: 'EINVALIDOPTIONS', status: 400, problem: { detail: expect.stringMatching(/test failed/) } });
    const missing = await rejection(c.patchMetadata(id, [{ op: 'add', path: '/x', value: 1 }, { op: 'remove', path: '/absent' }], { ifMatch: '*' }));
    expect(missing).toMatchObject({ code: 'EINVALIDOPTIONS', status: 400 });
    expect(stateAsset(file)).toMatchObject({ metadata: { 'dc:title': 'A' }, etag });
  });

  test('10 concurrent updateMetadata writers on one asset: all 10 values land, none lost', async () => {
    const [file] = await uploadTree('/content/dam/hot', ['hot.jpg']);
    const c = client();
    const id = await c.assetIdForPath(file);
    await c.updateMetadata(id, { 'dc:title': 'Hot' });
    // Latency before every answer keeps the ten first reads in flight together, so they share one tag.
    env.emulator.configure({ faults: { routes: { author: { latencyMs: 20 } } } });
    const writers = Array.from({ length: 10 }, (_, i) => c.updateMetadata(id, { [`test:w${i}`]: `v${i}` }, { retries: 20 }));
    const results = await Promise.all(writers);
    const final = stateAsset(file).metadata;
    for (let i = 0; i < 10; i += 1) expect(final[`test:w${i}`]).toBe(`v${i}`);
    expect(final['dc:title']).toBe('Hot');
    expect(new Set(results.map((r) => r.etag)).size).toBe(10);
    const statuses = env.emulator.state().counters.author.statuses;
    expect(statuses['200']).toBeGreaterThanOrEqual(10);
    expect(statuses['412']).toBeGreaterThanOrEqual(1);
    expect(statuses['500']).toBeUndefined();
  });
});

describe.each(['memory', 'digest', 'size', 'dir'])('%s storage keeps metadata with the asset', (mode) => {
  test('ids, metadata and tags survive; dir storage keeps them across a restart', async () => {
    const root = tempDir('aem-emulator-author-');
    const config = { storage: mode === 'dir' ? `dir:${root}` : mode, auth: { bearer: [TOKEN] }, author: { apiKeys: [KEY] } };
    let emulator = await startEmulator(config);
    try {
      const upload = async (url) => {
        const file = path.join(root, '..', `${path.basename(root)}-src.txt`);
        fs.writeFileSync(file, 'twelve bytes');
        const options = new ours.FileSystemUploadOptions().withUrl(`${url}/content/dam/kept`).withHttpOptions({ headers: { Authorization: `Bearer ${TOKEN}` } });
        const result = await new ours.FileSystemUpload().upload(options, [file]);
        fs.rmSync(file);
        expect(result.totalCompleted).toBe(1);
        return `/content/dam/kept/${path.basename(file)}`;
      };
      const damPath = await upload(emulator.url);
      const c = new AssetsClient({ url: emulator.url, auth, apiKey: KEY });
      const id = await c.assetIdForPath(damPath);
      const { etag, repositoryMetadata } = await c.updateMetadata(id, { 'dc:title': 'Kept', 'dc:subject': ['a'] });
      expect(repositoryMetadata['repo:size']).toBe(12);
      expect(emulator.state().assets[0]).toMatchObject({ assetId: id, etag, metadata: { 'dc:title': 'Kept', 'dc:subject': ['a'] } });
      if (mode === 'dir') {
        await emulator.stop();
        const index = JSON.parse(fs.readFileSync(path.join(root, '.aem-emulator', 'index.json'), 'utf8'));
        expect(index.assets[0]).toMatchObject({ path: damPath, assetId: id, etag, metadata: { 'dc:title': 'Kept' } });
        emulator = await startEmulator(config);
        const again = new AssetsClient({ url: emulator.url, auth, apiKey: KEY });
        expect(await again.assetIdForPath(damPath)).toBe(id);
        expect(await again.getMetadata(id, { ifNoneMatch: etag })).toEqual({ notModified: true, etag });
        expect((await again.getMetadata(id)).assetMetadata).toEqual({ 'dc:title': 'Kept', 'dc:subject': ['a'] });
      }
    } finally {
      await emulator.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('deletes and jobs', () => {
  test('a plain delete is done at once; the asset is 404 after', async () => {
    const [file] = await uploadTree('/content/dam/del', ['a.jpg']);
    const c = client();
    const id = await c.assetIdForPath(file);
    expect(await c.deleteAsset(id)).toEqual({ status: 'deleted' });
    expect(stateAsset(file)).toBeUndefined();
    expect(await rejection(c.getMetadata(id))).toMatchObject({ code: 'ENOTFOUND', status: 404, problem: { status: 404 } });
    expect((await rejection(c.deleteAsset(id))).code).toBe('ENOTFOUND');
    expect((await rejection(c.assetIdForPath(file))).code).toBe('ENOTFOUND');
    // A HEAD's 404 carries no body, so the connection stays usable for the next call.
    for (let i = 0; i < 3; i += 1) expect((await rejection(c.headMetadata(id))).code).toBe('ENOTFOUND');
    expect((await rejection(c.getMetadata(id))).problem.detail).toMatch(/not found/);
  });

  test('a referenced asset: 202 and a job, 200 while it runs, then 303; the asset goes when it ends', async () => {
    const [ref, forced] = await uploadTree('/content/dam/refs', ['ref.jpg', 'forced.jpg']);
    env.emulator.configure({ author: { referenced: [ref, forced], jobMs: 300 } });
    const c = client();
    const id = await c.assetIdForPath(ref);
    const accepted = await c.deleteAsset(id);
    expect(accepted).toEqual({ status: 'accepted', jobId: expect.any(String), location: `${env.emulator.url}/adobe/assets/jobs/${accepted.jobId}/status` });
    expect(await c.getJobStatus(accepted.jobId)).toEqual({ jobId: accepted.jobId, state: 'PROCESSING', done: false, failed: false });
    const done = await c.waitForJob(accepted.location);
    expect(done).toEqual({ jobId: accepted.jobId, state: 'COMPLETED', done: true, failed: false, location: `${env.emulator.url}/adobe/assets/jobs/${accepted.jobId}/result` });
    expect((await rejection(c.getMetadata(id))).code).toBe('ENOTFOUND');
    expect(env.emulator.state().jobs).toEqual([{ jobId: accepted.jobId, assetId: id, path: ref, state: 'COMPLETED' }]);
    // force deletes even a referenced asset at once.
    expect(await c.deleteAsset(await c.assetIdForPath(forced), { force: true, wait: true })).toEqual({ status: 'deleted' });
  });

  test('with asyncDelete every delete is a job; deleteAsset({wait}) follows it to the end', async () => {
    const [file] = await uploadTree('/content/dam/async', ['a.jpg']);
    env.emulator.configure({ asyncDelete: 200 });
    const c = client();
    const id = await c.assetIdForPath(file);
    expect(await c.deleteAsset(id, { wait: true })).toEqual({ status: 'deleted', jobId: expect.any(String), location: expect.stringContaining('/adobe/assets/jobs/') });
    expect(stateAsset(file)).toBeUndefined();
  });
});

describe('keys, faults and secrets', () => {
  test('an unregistered or missing X-Api-Key is 403; a key registered while running works', async () => {
    const [file] = await uploadTree('/content/dam/keys', ['a.jpg']);
    const id = await client().assetIdForPath(file);
    const unknown = await rejection(client({ apiKey: 'not-registered' }).getMetadata(id));
    expect(unknown).toMatchObject({ code: 'EFORBIDDEN', status: 403, problem: { status: 403, detail: expect.stringMatching(/X-Api-Key/) } });
    expect((await rejection(client({ apiKey: undefined }).getMetadata(id))).code).toBe('EFORBIDDEN');
    env.emulator.configure({ author: { apiKeys: [KEY, 'late-client'] } });
    expect((await client({ apiKey: 'late-client' }).headMetadata(id)).etag).toEqual(expect.any(String));
    env.emulator.configure({ author: { apiKeys: [KEY] } });
    const wrongToken = await rejection(client({ auth: { headers: async () => ({ Authorization: 'Bearer nope' }) } }).getMetadata(id));
    expect(wrongToken).toMatchObject({ code: 'ENOTAUTHORIZED', status: 401 });
  });

  test('a client minted by the emulator\'s IMS: its id is a registered key, its tokens are refreshed after revocation', async () => {
    const [file] = await uploadTree('/content/dam/ims', ['a.jpg']);
    const oauth = env.emulator.createOAuthClient({ scopes: 'openid,AdobeID,aem.assets.author' });
    const reasons = [];
    // A provider as aem-upload-rs/auth shapes one: a clientId, and headers() that asks IMS again after a 401.
    let token;
    const provider = {
      clientId: oauth.clientId,
      async headers({ reason } = {}) {
        reasons.push(reason);
        if (!token || reason === 'unauthorized') {
          const answer = await clientCredentials(oauth);
          expect(answer.status).toBe(200);
          token = answer.json().access_token;
        }
        return { Authorization: `Bearer ${token}` };
      },
    };
    const c = new AssetsClient({ url: env.emulator.url, auth: provider, retryDelay: 10 });
    const id = await c.assetIdForPath(file);
    expect((await c.updateMetadata(id, { 'dc:title': 'Via IMS' })).assetMetadata).toEqual({ 'dc:title': 'Via IMS' });
    expect(env.emulator.revokeTokens(oauth.clientId)).toBe(1);
    expect((await c.getMetadata(id)).assetMetadata['dc:title']).toBe('Via IMS');
    expect(reasons.filter((r) => r === 'unauthorized')).toHaveLength(1);
    const seen = JSON.stringify(env.emulator.requests()) + JSON.stringify(env.emulator.state());
    expect(seen).not.toContain(token);
    expect(seen).not.toContain(oauth.clientSecret);
  });

  test('503, 429 and resets on the author route are survived, and every write lands once', async () => {
    const [file] = await uploadTree('/content/dam/faulty', ['a.jpg']);
    const c = client();
    const id = await c.assetIdForPath(file);
    env.emulator.configure({
      faults: { seed: 5, routes: { author: { status503: 0.3, status429: 0.2, retryAfterSeconds: 0, resetBefore: 0.2, maxAttempt: 2 } } },
    });
    for (let i = 0; i < 5; i += 1) {
      expect((await c.updateMetadata(id, { [`n${i}`]: i })).assetMetadata[`n${i}`]).toBe(i);
    }
    expect((await c.getMetadata(id)).assetMetadata).toEqual({ n0: 0, n1: 1, n2: 2, n3: 3, n4: 4 });
    expect(await c.deleteAsset(id)).toEqual({ status: 'deleted' });
    const injected = env.emulator.state().faults.filter((f) => f.route === 'author');
    expect(injected.length).toBeGreaterThan(0);
  });

  test('the token never reaches the emulator\'s log or state', async () => {
    const [file] = await uploadTree('/content/dam/secret', ['a.jpg']);
    const c = client();
    await c.updateMetadata(await c.assetIdForPath(file), { 'dc:title': 'x' });
    const seen = JSON.stringify(env.emulator.requests()) + JSON.stringify(env.emulator.state());
    expect(seen).not.toContain(TOKEN);
    expect(env.emulator.requests().some((r) => r.route === 'author' && r.headers.includes('x-api-key'))).toBe(true);
  });
});

test('examples/assets.js runs end to end against the embedded emulator', async () => {
  const environment = { ...process.env };
  delete environment.AEM_URL;
  const output = await new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, '..', 'examples', 'assets.js')], { env: environment }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
  expect(output).toMatch(/asset id urn:aaid:aem:[0-9a-f-]{36}/);
  expect(output).toMatch(/unchanged since \(304\)/);
  expect(output).toMatch(/subjects now \["brand","svg"\]/);
  expect(output).toMatch(/^deleted$/m);
});
