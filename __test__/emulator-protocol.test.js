'use strict';

// The emulator's wire protocol, driven by hand over real sockets:
// initiate, part PUTs, complete, conflicts, folders, the create-asset servlet,
// auth, and every strict check of protocol.md §11.

const { useEmulator, bytes, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');
const { request, form, FORM, sha256, md5b64, Aem } = require('./helpers/http');
const { startEmulator } = require('../emulator');

const KIB = 1024;

describe('direct binary upload', () => {
  const env = useEmulator({ minPartSize: KIB, maxPartSize: 8 * KIB, maxUris: 50, maxFilesPerInitiate: 3 });
  beforeEach(() => env.emulator.reset());

  test('initiate answers 201 with tokens, signed URIs on the blob origin and part sizes', async () => {
    const res = await env.aem.initiate('/content/dam', [
      { name: 'photo one.jpg', size: 2500 },
      { name: 'doc.pdf', size: 10 },
    ]);
    expect(res.status).toBe(201);
    const body = res.json();
    expect(typeof body.completeURI).toBe('string');
    expect(new URL(body.completeURI, env.emulator.url).pathname).toBe('/content/dam.completeUpload.json');
    expect(body.files.map((f) => f.fileName)).toEqual(['photo one.jpg', 'doc.pdf']);
    const [photo, doc] = body.files;
    expect(photo.mimeType).toBe('image/jpeg');
    expect(doc.mimeType).toBe('application/pdf');
    expect(photo.uploadURIs).toHaveLength(3); // ceil(2500 / 1024)
    expect(doc.uploadURIs).toHaveLength(1);
    expect(photo.minPartSize).toBe(KIB);
    expect(photo.maxPartSize).toBe(8 * KIB);
    expect(typeof photo.uploadToken).toBe('string');
    for (const uri of photo.uploadURIs) {
      const url = new URL(uri);
      expect(url.origin).toBe(env.emulator.blobUrl);
      expect(url.origin).not.toBe(env.emulator.url);
      for (const key of ['comp', 'blockid', 'sp', 'se', 'sig']) expect(url.searchParams.get(key)).toBeTruthy();
    }
    expect(Buffer.from(new URL(photo.uploadURIs[2]).searchParams.get('blockid'), 'base64').toString()).toBe('000003');
  });

  test('URIs are capped at maxUris even when the file cannot fit', async () => {
    const res = await env.aem.initiate('/content/dam', [{ name: 'huge.bin', size: 1000 * 8 * KIB }]);
    expect(res.json().files[0].uploadURIs).toHaveLength(50);
  });

  test('parts are assembled by index whatever order they arrive in', async () => {
    const data = bytes(5000, 3);
    const res = await env.aem.upload('/content/dam', 'shuffled.bin', data, { order: [4, 1, 3, 0, 2] });
    expect(res.status).toBe(200);
    const answer = res.json();
    expect(answer.path).toBe('/content/dam/shuffled.bin');
    expect(answer.assetId).toMatch(/^urn:aaid:aem:[0-9a-f-]{36}$/);
    expect(answer.etag).toMatch(/^".+"$/);
    const asset = env.emulator.state().assets.find((a) => a.path === '/content/dam/shuffled.bin');
    expect(asset.sha256).toBe(sha256(data));
    expect(asset.size).toBe(5000);
    const download = await request('GET', `${env.emulator.url}/content/dam/shuffled.bin`, { headers: { authorization: DEFAULT_AUTHORIZATION } });
    expect(download.body.equals(data)).toBe(true);
    expect(env.emulator.state().violations).toEqual([]);
  });

  test('initiate refuses forbidden names, too many files, and missing folders', async () => {
    for (const name of ['a#b.jpg', 'a/b.jpg', 'x:y.png', 'p%.txt', '']) {
      const res = await env.aem.initiate('/content/dam', [{ name, size: 1 }]);
      expect(res.status).toBe(400);
    }
    const many = await env.aem.initiate('/content/dam', [1, 2, 3, 4].map((i) => ({ name: `${i}.txt`, size: 1 })));
    expect(many.status).toBe(400);
    const missing = await env.aem.initiate('/content/dam/nowhere', [{ name: 'a.txt', size: 1 }]);
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('<title>404 Specified folder not found</title>');
  });

  test('an identical repeat of a complete gets the same answer', async () => {
    const data = bytes(100);
    const init = (await env.aem.initiate('/content/dam', [{ name: 'again.txt', size: 100 }])).json();
    await env.aem.putParts(init.files[0], data, 100);
    const fields = env.aem.completeFields(init.files[0], 100);
    const first = await env.aem.complete(init.completeURI, fields);
    const second = await env.aem.complete(init.completeURI, fields);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.json()).toEqual(first.json());
    expect(env.emulator.state().assets).toHaveLength(1);
  });

  test('existing assets: 409, createVersion keeps the id, replace renews it', async () => {
    const v1 = bytes(300, 1);
    const first = (await env.aem.upload('/content/dam', 'c.bin', v1)).json();
    const conflict = await env.aem.upload('/content/dam', 'c.bin', bytes(300, 2));
    expect(conflict.status).toBe(409);

    const v2 = bytes(400, 2);
    const versioned = await env.aem.upload('/content/dam', 'c.bin', v2, { createVersion: true, replace: true, versionLabel: 'v2', versionComment: 'second' });
    expect(versioned.status).toBe(200);
    expect(versioned.json().assetId).toBe(first.assetId);
    expect(versioned.json().etag).not.toBe(first.etag);
    let asset = env.emulator.state().assets[0];
    expect(asset.sha256).toBe(sha256(v2));
    expect(asset.versions).toEqual([expect.objectContaining({ label: 'v2', comment: 'second', size: 300, sha256: sha256(v1) })]);

    const v3 = bytes(50, 3);
    const replaced = await env.aem.upload('/content/dam', 'c.bin', v3, { replace: true });
    expect(replaced.status).toBe(200);
    expect(replaced.json().assetId).not.toBe(first.assetId);
    asset = env.emulator.state().assets[0];
    expect(asset.sha256).toBe(sha256(v3));
    expect(asset.versions).toEqual([]);
  });

  test('existingAsset "overwrite" overwrites like real AEM', async () => {
    env.emulator.configure({ existingAsset: 'overwrite' });
    try {
      const first = (await env.aem.upload('/content/dam', 'o.bin', bytes(10, 1))).json();
      const second = await env.aem.upload('/content/dam', 'o.bin', bytes(20, 2));
      expect(second.status).toBe(200);
      expect(second.json().assetId).toBe(first.assetId);
      expect(env.emulator.state().assets[0].sha256).toBe(sha256(bytes(20, 2)));
    } finally {
      env.emulator.configure({ existingAsset: 'conflict' });
    }
  });

  test('completeUri "absolute" hands out a full URL', async () => {
    env.emulator.configure({ completeUri: 'absolute' });
    try {
      const res = await env.aem.initiate('/content/dam', [{ name: 'a.txt', size: 1 }]);
      expect(res.json().completeURI).toBe(`${env.emulator.url}/content/dam.completeUpload.json`);
    } finally {
      env.emulator.configure({ completeUri: 'relative' });
    }
  });

  test('the affinity cookie is set on initiate and can be required at complete', async () => {
    env.emulator.configure({ affinityCookie: true, requireAffinityCookie: true });
    try {
      const init = await env.aem.initiate('/content/dam', [{ name: 'aff.txt', size: 3 }]);
      const cookie = init.headers['set-cookie'][0].split(';')[0];
      expect(cookie).toMatch(/^Affinity-cookie=/);
      const answer = init.json();
      await env.aem.putParts(answer.files[0], Buffer.from('abc'), 3);
      const fields = env.aem.completeFields(answer.files[0], 3);
      expect((await env.aem.complete(answer.completeURI, fields)).status).toBe(400);
      expect((await env.aem.complete(answer.completeURI, fields, { cookie })).status).toBe(200);
    } finally {
      env.emulator.configure({ affinityCookie: false, requireAffinityCookie: false });
    }
  });

  test('the request log names headers, never query strings', async () => {
    await env.aem.upload('/content/dam', 'logged.txt', bytes(10));
    const log = env.emulator.requests();
    expect(log.map((r) => r.route)).toEqual(['initiate', 'part', 'complete']);
    expect(log[0].headers).toContain('authorization');
    for (const entry of log) expect(entry.path).not.toContain('?');
    expect(log.every((r) => r.status >= 200 && r.status < 300)).toBe(true);
  });
});

describe('strict checks', () => {
  const env = useEmulator({ minPartSize: KIB, maxPartSize: 4 * KIB, maxUris: 20 });
  beforeEach(() => {
    env.emulator.reset();
    env.emulator.configure({ strict: 'fail', urlExpirySeconds: 3600 });
  });
  const kinds = () => env.emulator.state().violations.map((v) => v.kind);

  async function initiateOne(name, size) {
    const res = await env.aem.initiate('/content/dam', [{ name, size }]);
    expect(res.status).toBe(201);
    const body = res.json();
    return { ...body.files[0], completeURI: body.completeURI };
  }

  test('credentials-to-blob: Authorization, Cookie or X-Api-Key on a part PUT', async () => {
    for (const header of [{ authorization: DEFAULT_AUTHORIZATION }, { cookie: 'a=b' }, { 'x-api-key': 'k' }]) {
      const file = await initiateOne('c.txt', 3);
      const res = await env.aem.put(file.uploadURIs[0], 'abc', header);
      expect(res.status).toBe(400);
      expect(res.json().violation).toBe('credentials-to-blob');
    }
    expect(kinds()).toEqual(['credentials-to-blob', 'credentials-to-blob', 'credentials-to-blob']);
    env.emulator.configure({ strict: 'record' });
    const file = await initiateOne('d.txt', 3);
    expect((await env.aem.put(file.uploadURIs[0], 'abc', { authorization: 'Basic x' })).status).toBe(201);
    expect(kinds()).toHaveLength(4);
  });

  test('bad-signature: a tampered signature, expiry or block id gets 403', async () => {
    const file = await initiateOne('s.txt', 3);
    const url = new URL(file.uploadURIs[0]);
    const tampered = [
      (u) => u.searchParams.set('sig', Buffer.alloc(32).toString('base64')),
      (u) => u.searchParams.set('se', String(Number(u.searchParams.get('se')) + 10)),
      (u) => u.searchParams.set('blockid', Buffer.from('000002').toString('base64')),
      (u) => { u.pathname = '/dam-uploads/someone-else'; },
    ];
    for (const change of tampered) {
      const u = new URL(url);
      change(u);
      const res = await env.aem.put(u.toString(), 'abc');
      expect(res.status).toBe(403);
      expect(res.text).toContain('AuthenticationFailed');
    }
    expect(kinds()).toEqual(Array(4).fill('bad-signature'));
    expect((await env.aem.put(file.uploadURIs[0], 'abc')).status).toBe(201);
  });

  test('expired-url-reused: every PUT after expiry gets 403, the second one is a violation', async () => {
    env.emulator.configure({ urlExpirySeconds: 0 });
    const file = await initiateOne('e.txt', 3);
    const first = await env.aem.put(file.uploadURIs[0], 'abc');
    expect(first.status).toBe(403);
    expect(kinds()).toEqual([]);
    const second = await env.aem.put(file.uploadURIs[0], 'abc');
    expect(second.status).toBe(403);
    expect(kinds()).toEqual(['expired-url-reused']);
  });

  test('part-size: a non-final part below minPartSize, or any part above maxPartSize', async () => {
    const small = await initiateOne('small.bin', 3000);
    const data = bytes(3000);
    // 500 + 500 + 2000: the first two parts are below minPartSize.
    expect((await env.aem.put(small.uploadURIs[0], data.subarray(0, 500))).status).toBe(201);
    expect((await env.aem.put(small.uploadURIs[1], data.subarray(500, 1000))).status).toBe(201);
    expect((await env.aem.put(small.uploadURIs[2], data.subarray(1000))).status).toBe(201);
    const res = await env.aem.complete(small.completeURI, env.aem.completeFields(small, 3000));
    expect(res.status).toBe(400);
    expect(res.json().violation).toBe('part-size');

    const big = await initiateOne('big.bin', 5 * KIB);
    await env.aem.putParts(big, bytes(5 * KIB), 5 * KIB, [0]);
    const res2 = await env.aem.complete(big.completeURI, env.aem.completeFields(big, 5 * KIB));
    expect(res2.status).toBe(400);
    expect(kinds()).toEqual(['part-size', 'part-size']);
    expect(env.emulator.state().violations[0].detail).toMatch(/part 0 is 500 bytes, below minPartSize/);
    expect(env.emulator.state().violations[1].detail).toMatch(/above maxPartSize/);
    expect(env.emulator.state().assets).toEqual([]);
  });

  test('missing-parts: stored indexes must be exactly 0..m', async () => {
    const file = await initiateOne('gap.bin', 3 * KIB);
    await env.aem.putParts(file, bytes(3 * KIB), KIB, [0, 2]);
    const res = await env.aem.complete(file.completeURI, env.aem.completeFields(file, 3 * KIB));
    expect(res.status).toBe(400);
    expect(kinds()).toContain('missing-parts');
    expect(env.emulator.state().assets).toEqual([]);
  });

  test('size-mismatch: complete fileSize differs from the initiate or the parts', async () => {
    const file = await initiateOne('size.bin', 2 * KIB);
    await env.aem.putParts(file, bytes(2 * KIB), KIB);
    const res = await env.aem.complete(file.completeURI, env.aem.completeFields(file, 2 * KIB + 1));
    expect(res.status).toBe(400);
    expect(res.json().violation).toBe('size-mismatch');
    expect((await env.aem.complete(file.completeURI, env.aem.completeFields(file, 2 * KIB))).status).toBe(200);
  });

  test('missing-field: incomplete initiate pairs, complete without a required field', async () => {
    const init = await request('POST', `${env.emulator.url}/content/dam.initiateUpload.json`, {
      headers: { authorization: DEFAULT_AUTHORIZATION, ...FORM },
      body: form([['fileName', 'a.txt']]),
    });
    expect(init.status).toBe(400);
    expect(init.json().violation).toBe('missing-field');
    const file = await initiateOne('f.txt', 3);
    await env.aem.putParts(file, Buffer.from('abc'), 3);
    for (const drop of ['fileName', 'mimeType', 'uploadToken']) {
      const fields = env.aem.completeFields(file, 3).filter(([k]) => k !== drop);
      const res = await env.aem.complete(file.completeURI, fields);
      expect(res.status).toBe(400);
    }
    expect(kinds()).toEqual(Array(4).fill('missing-field'));
  });

  test('bad-token: forged tokens and tokens of another file', async () => {
    const a = await initiateOne('a.txt', 3);
    const b = await initiateOne('b.txt', 3);
    await env.aem.putParts(a, Buffer.from('abc'), 3);
    const forged = env.aem.completeFields(a, 3).map(([k, v]) => [k, k === 'uploadToken' ? `${v}x` : v]);
    expect((await env.aem.complete(a.completeURI, forged)).status).toBe(400);
    const swapped = env.aem.completeFields(a, 3).map(([k, v]) => [k, k === 'uploadToken' ? b.uploadToken : v]);
    expect((await env.aem.complete(a.completeURI, swapped)).status).toBe(400);
    expect(kinds()).toEqual(['bad-token', 'bad-token']);
  });

  test('no-content-length: a chunked part PUT', async () => {
    const file = await initiateOne('chunked.txt', 3);
    const res = await request('PUT', file.uploadURIs[0], { body: 'abc', chunked: true });
    expect(res.status).toBe(400);
    expect(kinds()).toEqual(['no-content-length']);
  });

  test('md5-mismatch: a wrong Content-MD5 gets 400 like Azure, a right one is accepted', async () => {
    const file = await initiateOne('md5.txt', 3);
    const wrong = await env.aem.put(file.uploadURIs[0], 'abc', { 'content-md5': md5b64(Buffer.from('abd')) });
    expect(wrong.status).toBe(400);
    expect(kinds()).toEqual(['md5-mismatch']);
    const right = await env.aem.put(file.uploadURIs[0], 'abc', { 'content-md5': md5b64(Buffer.from('abc')) });
    expect(right.status).toBe(201);
  });

  test('strict "record" logs the violation and lets the request proceed', async () => {
    env.emulator.configure({ strict: 'record' });
    const file = await initiateOne('rec.bin', 3 * KIB);
    await env.aem.putParts(file, bytes(3 * KIB), KIB, [0, 2]);
    const res = await env.aem.complete(file.completeURI, env.aem.completeFields(file, 3 * KIB));
    expect(res.status).toBe(200);
    expect(kinds()).toEqual(expect.arrayContaining(['missing-parts', 'size-mismatch']));
  });
});

describe('folders: /api/assets', () => {
  const env = useEmulator({ parentMissingStatus: 500 });
  beforeEach(() => env.emulator.reset());

  test('create, conflict, missing parent, root, list with paging, delete recursively', async () => {
    const created = await env.aem.createFolder('/content/dam/My Folder', 'My Folder');
    expect(created.status).toBe(201);
    expect((await env.aem.createFolder('/content/dam/My Folder')).status).toBe(409);
    expect((await env.aem.createFolder('/content/dam/nope/child')).status).toBe(500);
    env.emulator.configure({ parentMissingStatus: 404 });
    expect((await env.aem.createFolder('/content/dam/nope/child')).status).toBe(404);
    env.emulator.configure({ parentMissingStatus: 500 });
    const root = await request('POST', `${env.emulator.url}/api/assets`, {
      headers: { authorization: DEFAULT_AUTHORIZATION, 'content-type': 'application/json' },
      body: JSON.stringify({ class: 'assetFolder', properties: {} }),
    });
    expect(root.status).toBe(412);

    // "title" is accepted for "jcr:title"
    const titled = await request('POST', `${env.emulator.url}/api/assets/My%20Folder/sub`, {
      headers: { authorization: DEFAULT_AUTHORIZATION, 'content-type': 'application/json' },
      body: JSON.stringify({ class: 'assetFolder', properties: { title: 'Sub Title' } }),
    });
    expect(titled.status).toBe(201);
    await env.aem.upload('/content/dam/My Folder', 'a.txt', bytes(5));
    await env.aem.upload('/content/dam/My Folder', 'b.txt', bytes(5));

    const list = await request('GET', `${env.emulator.url}/api/assets/My%20Folder.json?offset=1&limit=1`, { headers: { authorization: DEFAULT_AUTHORIZATION } });
    expect(list.status).toBe(200);
    const siren = list.json();
    expect(siren.class).toEqual(['assets/folder']);
    expect(siren.properties).toMatchObject({ name: 'My Folder', title: 'My Folder', 'srn:paging': { total: 3, offset: 1, limit: 1 } });
    expect(siren.entities).toHaveLength(1);
    const all = (await request('GET', `${env.emulator.url}/api/assets/My%20Folder.json`, { headers: { authorization: DEFAULT_AUTHORIZATION } })).json();
    expect(all.entities.map((e) => [e.class[0], e.properties.name])).toEqual([
      ['assets/folder', 'sub'], ['assets/asset', 'a.txt'], ['assets/asset', 'b.txt'],
    ]);
    expect(env.emulator.state().folders).toEqual([
      { path: '/content/dam/My Folder', title: 'My Folder' },
      { path: '/content/dam/My Folder/sub', title: 'Sub Title' },
    ]);

    const del = await request('DELETE', `${env.emulator.url}/api/assets/My%20Folder`, { headers: { authorization: DEFAULT_AUTHORIZATION } });
    expect(del.status).toBe(200);
    expect(env.emulator.state()).toMatchObject({ folders: [], assets: [] });
    const gone = await request('GET', `${env.emulator.url}/api/assets/My%20Folder.json`, { headers: { authorization: DEFAULT_AUTHORIZATION } });
    expect(gone.status).toBe(404);
    const delAgain = await request('DELETE', `${env.emulator.url}/api/assets/My%20Folder`, { headers: { authorization: DEFAULT_AUTHORIZATION } });
    expect(delAgain.status).toBe(404);
  });
});

describe('create-asset servlet mode', () => {
  const env = useEmulator({ directBinary: false });
  beforeEach(() => env.emulator.reset());

  function multipart(fields, file) {
    const boundary = '----aemtest' + Math.random().toString(16).slice(2);
    const parts = [];
    for (const [k, v] of fields) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
    }
    if (file) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`));
      parts.push(file.data, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
  }

  const post = (folder, mp) => request('POST', `${env.emulator.url}${folder}.createasset.html`, {
    headers: { authorization: DEFAULT_AUTHORIZATION, 'content-type': mp.type },
    body: mp.body,
  });

  test('initiate answers like AEM 6.5: JSON without files or completeURI', async () => {
    const res = await env.aem.initiate('/content/dam', [{ name: 'a.txt', size: 3 }]);
    expect(res.status).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(300);
    const body = res.json();
    expect(body.files).toBeUndefined();
    expect(body.completeURI).toBeUndefined();
    env.emulator.configure({ directBinary: 'no-complete-uri' });
    const res2 = (await env.aem.initiate('/content/dam', [{ name: 'a.txt', size: 3 }])).json();
    expect(Array.isArray(res2.files)).toBe(true);
    expect(res2.completeURI).toBeUndefined();
    env.emulator.configure({ directBinary: false });
  });

  test('a single request and a chunked upload both create the asset', async () => {
    const data = bytes(100, 9);
    const single = await post('/content/dam', multipart([['_charset_', 'utf-8']], { name: 'one.txt', type: 'text/plain', data }));
    expect(single.status).toBe(201);

    const big = bytes(250, 4);
    const chunks = [[0, 100], [100, 100], [200, 50]];
    for (const [offset, length] of chunks) {
      const res = await post('/content/dam', multipart(
        [['_charset_', 'utf-8'], ['file@Offset', offset], ['chunk@Length', length], ['file@Length', 250]],
        { name: 'chunked.bin', type: 'application/octet-stream', data: big.subarray(offset, offset + length) },
      ));
      expect(res.status).toBeLessThan(300);
      const present = env.emulator.state().assets.some((a) => a.path === '/content/dam/chunked.bin');
      expect(present).toBe(offset + length === 250);
    }
    const assets = Object.fromEntries(env.emulator.state().assets.map((a) => [a.path, a]));
    expect(assets['/content/dam/one.txt']).toMatchObject({ sha256: sha256(data), mimeType: 'text/plain' });
    expect(assets['/content/dam/chunked.bin']).toMatchObject({ sha256: sha256(big), size: 250 });
  });

  test('chunks must be contiguous; a body without a file part is a violation', async () => {
    const first = await post('/content/dam', multipart([['file@Offset', 0], ['chunk@Length', 10], ['file@Length', 30]], { name: 'c.bin', type: 'application/octet-stream', data: bytes(10) }));
    expect(first.status).toBe(200);
    const skipped = await post('/content/dam', multipart([['file@Offset', 20], ['chunk@Length', 10], ['file@Length', 30]], { name: 'c.bin', type: 'application/octet-stream', data: bytes(10) }));
    expect(skipped.status).toBe(400);
    const noFile = await post('/content/dam', multipart([['_charset_', 'utf-8']]));
    expect(noFile.status).toBe(400);
    expect(env.emulator.state().violations.map((v) => v.kind)).toEqual(['missing-field']);
    expect(env.emulator.state().assets).toEqual([]);
  });
});

describe('auth', () => {
  const env = useEmulator({ auth: { basic: { admin: 'admin', jdoe: 's3cret' }, bearer: ['token-123'] } });

  test('missing or wrong credentials get 401 with a challenge; Basic and Bearer users pass', async () => {
    const url = `${env.emulator.url}/content/dam.initiateUpload.json`;
    const body = form([['fileName', 'a.txt'], ['fileSize', 1]]);
    const none = await request('POST', url, { headers: FORM, body });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic /);
    const wrong = await request('POST', url, { headers: { ...FORM, authorization: `Basic ${Buffer.from('admin:nope').toString('base64')}` }, body });
    expect(wrong.status).toBe(401);
    const badToken = await request('POST', url, { headers: { ...FORM, authorization: 'Bearer nope' }, body });
    expect(badToken.status).toBe(401);
    const user = await request('POST', url, { headers: { ...FORM, authorization: `Basic ${Buffer.from('jdoe:s3cret').toString('base64')}` }, body });
    expect(user.status).toBe(201);
    const bearer = await request('POST', url, { headers: { ...FORM, authorization: 'Bearer token-123' }, body });
    expect(bearer.status).toBe(201);
    // Folder API, complete and create-asset are guarded too; blob URLs and /_emulator are not.
    const folder = await new Aem(env.emulator, undefined).createFolder('/content/dam/x');
    expect(folder.status).toBe(401);
    const file = bearer.json().files[0];
    expect((await request('PUT', file.uploadURIs[0], { body: 'a' })).status).toBe(201);
    expect((await request('GET', `${env.emulator.url}/_emulator/state`)).status).toBe(200);
  });

  test('anonymous mode accepts requests without credentials', async () => {
    const emulator = await startEmulator({ auth: { anonymous: true } });
    try {
      const res = await new Aem(emulator, undefined).initiate('/content/dam', [{ name: 'a.txt', size: 1 }]);
      expect(res.status).toBe(201);
    } finally {
      await emulator.stop();
    }
  });
});

describe('launcher', () => {
  test('rejects bad configuration with EINVALIDOPTIONS', async () => {
    await expect(startEmulator({ storage: 'disk' })).rejects.toMatchObject({ code: 'EINVALIDOPTIONS' });
    await expect(startEmulator({ minPartSize: 0 })).rejects.toMatchObject({ code: 'EINVALIDOPTIONS' });
    await expect(startEmulator({ faults: { routes: { part: { status503: 1.5 } } } })).rejects.toMatchObject({ code: 'EINVALIDOPTIONS' });
    await expect(startEmulator('nope')).rejects.toMatchObject({ code: 'EINVALIDOPTIONS' });
    const emulator = await startEmulator();
    try {
      expect(() => emulator.configure({ port: 1 })).toThrow(/cannot change/);
      expect(() => emulator.configure({ strict: 'maybe' })).toThrow();
      expect(emulator.configure({ strict: 'record' }).strict).toBe('record');
      expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(emulator.blobUrl).not.toBe(emulator.url);
    } finally {
      await emulator.stop();
    }
  });
});
