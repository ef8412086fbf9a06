'use strict';

// Authentication built in (docs/auth.md): providers from
// require('aem-upload-rs/auth') given to withAuth(), through the public API,
// against the emulator; service credentials and OAuth against a small IMS
// written here from the spec (Node's own crypto verifies the JWT), whose
// tokens the emulator is configured to accept. No secret anywhere a user
// can look.

const fs = require('fs');
const http = require('http');
const path = require('path');
const util = require('util');
const crypto = require('crypto');
const ours = require('..');
const auth = require('../auth');
const { useEmulator, tempDir, bytes } = require('./helpers/emulator');

const PASSWORD = 'CANARY-pw-7d1e';
const DEV_TOKEN = 'CANARY-dev-token-3b9f';
const SECRET = 'CANARY-client-secret-91ac';
const IMS_TOKEN = 'CANARY-ims-token';
const CANARIES = ['CANARY', 'PRIVATE KEY', 'eyJ'];

const env = useEmulator({ auth: { anonymous: false, basic: { admin: 'admin', uploader: PASSWORD }, bearer: [DEV_TOKEN] } });

let root;
let tree;
let files;
beforeAll(() => {
  root = tempDir();
  tree = path.join(root, 'tree');
  files = [];
  for (let i = 0; i < 12; i += 1) {
    const rel = path.join(`d${i % 3}`, `f${i}.bin`);
    fs.mkdirSync(path.dirname(path.join(tree, rel)), { recursive: true });
    fs.writeFileSync(path.join(tree, rel), bytes(500 + i * 300, i + 1));
    files.push(rel);
  }
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
beforeEach(() => {
  env.emulator.reset();
  env.emulator.configure({ auth: { anonymous: false, basic: { admin: 'admin', uploader: PASSWORD }, bearer: [DEV_TOKEN] } });
});

/** Everything a user can see of a run, as text. */
function seen(...things) {
  return things.map((t) => `${util.inspect(t, { depth: 20, showHidden: true })}\n${JSON.stringify(t)}`).join('\n');
}

function expectClean(text) {
  for (const canary of CANARIES) expect(text).not.toContain(canary);
}

/** Uploads the tree with `provider`, collecting events and every log line. */
async function uploadTree(provider, folder) {
  const lines = [];
  const log = {};
  for (const level of ['debug', 'info', 'warn', 'error']) log[level] = (...args) => lines.push(args.join(' '));
  const upload = new ours.FileSystemUpload({ log });
  const events = [];
  for (const name of ['fileuploadstart', 'foldercreated', 'filestart', 'fileend', 'fileerror', 'fileuploadend']) {
    upload.on(name, (e) => events.push([name, e]));
  }
  const options = new ours.FileSystemUploadOptions()
    .withUrl(`${env.emulator.url}/content/dam/${folder}`)
    .withDeepUpload(true)
    .withHttpRetryDelay(10)
    .withAuth(provider);
  // A folder that cannot be created rejects the call, as in the reference.
  let error;
  const result = await upload.upload(options, [tree]).catch((e) => { error = e; });
  return { result, error, events, lines, options };
}

function uploadedUnder(folder) {
  return env.emulator.state().assets.filter((a) => a.path.startsWith(`/content/dam/${folder}/`)).length;
}

/** Credentials go to AEM routes only, never to blob URLs. */
function expectNoCredentialsToBlobs() {
  expect(env.emulator.state().violations).toEqual([]);
  const requests = env.emulator.requests();
  expect(requests.filter((r) => r.route === 'part').length).toBeGreaterThan(0);
  for (const r of requests) expect(r.headers.includes('authorization')).toBe(r.route !== 'part');
}

test('basic(): a tree uploads with the provider, nothing secret shown', async () => {
  const provider = auth.basic('uploader', PASSWORD);
  const run = await uploadTree(provider, 'basic');
  expect(run.result.toJSON ? run.result.toJSON().errors : run.result.errors).toEqual([]);
  expect(uploadedUnder('basic')).toBe(files.length);
  expectNoCredentialsToBlobs();
  expect(provider.toJSON()).toEqual({ kind: 'basic', username: 'uploader' });
  expect(util.inspect(provider)).toContain('uploader');
  expect(Object.keys(run.options.toJSON())).not.toContain('auth');
  expectClean(seen(run.result, run.events, run.lines, run.options, provider, Object.entries(provider)));
  expect(await provider.headers()).toEqual({ Authorization: `Basic ${Buffer.from(`uploader:${PASSWORD}`).toString('base64')}` });
});

test('bearer(): the Developer Console download as a file path uploads a tree', async () => {
  const file = path.join(root, 'local-token.json');
  fs.writeFileSync(file, JSON.stringify({ ok: true, statusCode: 200, accessToken: DEV_TOKEN }));
  const provider = auth.bearer(file);
  const run = await uploadTree(provider, 'bearer');
  expect(uploadedUnder('bearer')).toBe(files.length);
  expectNoCredentialsToBlobs();
  expect(provider.toJSON()).toEqual({ kind: 'bearer' });
  expectClean(seen(run.result, run.events, run.lines, run.options, provider));
  // The token as a string and as an object work too.
  expect(await auth.bearer(DEV_TOKEN).headers()).toEqual({ Authorization: `Bearer ${DEV_TOKEN}` });
  expect(await auth.bearer({ accessToken: DEV_TOKEN }).headers()).toEqual({ Authorization: `Bearer ${DEV_TOKEN}` });
});

test('refused credentials fail with ENOTAUTHORIZED, without a retry and without showing them', async () => {
  const upload = new ours.DirectBinaryUpload();
  const options = new ours.DirectBinaryUploadOptions()
    .withUrl(`${env.emulator.url}/content/dam`)
    .withUploadFiles([{ fileName: 'x.bin', fileSize: 3, blob: Buffer.from('abc') }])
    .withAuth(auth.basic('uploader', 'CANARY-wrong'));
  const result = await upload.uploadFiles(options);
  const json = JSON.parse(JSON.stringify(result));
  expect(json.detailedResult[0].result.errors.map((e) => e.code)).toEqual(['ENOTAUTHORIZED']);
  expectClean(seen(result));
  const initiates = env.emulator.requests().filter((r) => r.route === 'initiate');
  expect(initiates).toHaveLength(1);
});

test('withAuth() and an Authorization header together fail before any request', async () => {
  const upload = new ours.DirectBinaryUpload();
  const options = new ours.DirectBinaryUploadOptions()
    .withUrl(`${env.emulator.url}/content/dam`)
    .withUploadFiles([{ fileName: 'x.bin', fileSize: 3, blob: Buffer.from('abc') }])
    .withHttpOptions({ headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } })
    .withAuth(auth.basic('admin', 'admin'));
  const result = await upload.uploadFiles(options);
  const json = JSON.stringify(result);
  expect(json).toContain('EINVALIDOPTIONS');
  expect(json).toMatch(/withAuth\(\).*Authorization header/);
  expect(env.emulator.requests()).toEqual([]);
  // Something else than a provider is refused too.
  options.withHttpOptions({ headers: { authorization: undefined } }).withAuth({ headers: () => ({}) });
  expect(JSON.stringify(await upload.uploadFiles(options))).toContain("withAuth() takes a provider from require('aem-upload-rs/auth')");
  expect(env.emulator.requests()).toEqual([]);
});

test('tokenProvider(): asked once for a whole upload, and again with reason "unauthorized" after a 401', async () => {
  const reasons = [];
  const provider = auth.tokenProvider(async ({ reason }) => {
    reasons.push(reason);
    // The first token is one AEM does not accept.
    return reasons.length === 1 ? 'CANARY-stale' : { token: DEV_TOKEN, expiresAt: Date.now() + 3600e3 };
  });
  const run = await uploadTree(provider, 'callback');
  expect(uploadedUnder('callback')).toBe(files.length);
  expect(reasons).toEqual(['initial', 'unauthorized']);
  expectClean(seen(run.result, run.events, run.lines, provider));
  // A function that throws fails the upload with its message.
  const failing = auth.tokenProvider(() => { throw new Error('vault unreachable'); });
  await expect(failing.headers()).rejects.toMatchObject({ code: 'ENOTAUTHORIZED', message: expect.stringContaining('vault unreachable') });
});

test('fromEnv() picks the first configured provider by the tutorial\'s variables', () => {
  expect(auth.fromEnv({})).toBeNull();
  expect(auth.fromEnv({ AEM_USERNAME: 'u', AEM_PASSWORD: 'p' }).kind).toBe('basic');
  expect(auth.fromEnv({ AEM_BEARER_TOKEN: 't', AEM_USERNAME: 'u', AEM_PASSWORD: 'p' }).kind).toBe('bearer');
  const oauth = auth.fromEnv({ AEM_IMS_CLIENT_ID: 'id', AEM_IMS_CLIENT_SECRET: SECRET, AEM_IMS_SCOPES: 'openid,AdobeID', AEM_BEARER_TOKEN: 't' });
  expect(oauth.toJSON()).toEqual({ kind: 'oauthServerToServer', clientId: 'id', scopes: 'openid,AdobeID' });
  expect(auth.fromEnv({ AEM_SERVICE_CREDENTIALS_FILE: '/nope.json', AEM_BEARER_TOKEN: 't' }).kind).toBe('serviceCredentials');
  expectClean(seen(oauth));
  // The main entry keeps exactly its five exports.
  expect(Object.keys(ours).sort()).toEqual(['DirectBinaryUpload', 'DirectBinaryUploadErrorCodes', 'DirectBinaryUploadOptions',
    'FileSystemUpload', 'FileSystemUploadOptions']);
});

// An IMS written from docs/protocol.md ("IMS"), verifying JWTs with Node's crypto.
describe('against an independent IMS', () => {
  let ims;
  let imsUrl;
  let keys;
  const grants = [];
  beforeAll(async () => {
    keys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    ims = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const send = (status, json) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(json)); };
        if (form.get('client_secret') !== SECRET) return send(401, { error: 'invalid_client', error_description: 'bad secret' });
        if (req.url === '/ims/exchange/jwt') {
          const [h, p, s] = (form.get('jwt_token') || '').split('.');
          const ok = crypto.verify('RSA-SHA256', Buffer.from(`${h}.${p}`), keys.publicKey, Buffer.from(s || '', 'base64url'));
          if (!ok) return send(400, { error: 'invalid_signature', error_description: 'no matching certificate' });
          const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
          grants.push({ kind: 'jwt', header: JSON.parse(Buffer.from(h, 'base64url').toString()), claims });
          return send(200, { token_type: 'bearer', access_token: IMS_TOKEN, expires_in: 86399999 });
        }
        if (req.url === '/ims/token/v3' && form.get('grant_type') === 'client_credentials') {
          grants.push({ kind: 'client_credentials', scope: form.get('scope') });
          return send(200, { token_type: 'bearer', access_token: IMS_TOKEN, expires_in: 86399 });
        }
        return send(400, { error: 'invalid_request', error_description: req.url });
      });
    });
    await new Promise((resolve) => ims.listen(0, '127.0.0.1', resolve));
    imsUrl = `http://127.0.0.1:${ims.address().port}`;
  });
  afterAll(() => new Promise((resolve) => ims.close(resolve)));
  beforeEach(() => {
    grants.length = 0;
    env.emulator.configure({ auth: { bearer: [IMS_TOKEN] } });
  });

  test('serviceCredentials(): one exchange for a tree, the JWT with exactly the listed claims', async () => {
    const credentials = {
      ok: true,
      statusCode: 200,
      integration: {
        imsEndpoint: imsUrl,
        metascopes: 'ent_aem_cloud_api',
        technicalAccount: { clientId: 'cm-client', clientSecret: SECRET },
        email: 'x@techacct.adobe.com',
        id: 'TECH@techacct.adobe.com',
        org: 'ORG@AdobeOrg',
        privateKey: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }),
        publicKey: '',
      },
    };
    const file = path.join(root, 'service.json');
    fs.writeFileSync(file, JSON.stringify(credentials));
    const provider = auth.serviceCredentials(file);
    const run = await uploadTree(provider, 'service');
    expect(uploadedUnder('service')).toBe(files.length);
    expect(grants).toHaveLength(1);
    expect(grants[0].header).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(Object.keys(grants[0].claims).sort()).toEqual(['aud', 'exp', `${imsUrl}/s/ent_aem_cloud_api`, 'iss', 'sub'].sort());
    expect(grants[0].claims).toMatchObject({ iss: 'ORG@AdobeOrg', sub: 'TECH@techacct.adobe.com', aud: `${imsUrl}/c/cm-client` });
    expect(provider.toJSON()).toEqual({ kind: 'serviceCredentials', clientId: 'cm-client', technicalAccountId: 'TECH@techacct.adobe.com' });
    expectClean(seen(run.result, run.events, run.lines, provider));
    // A key IMS does not know: ENOTAUTHORIZED with IMS's error, before any upload request.
    env.emulator.reset();
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' });
    const wrongKey = auth.serviceCredentials({ ...credentials, integration: { ...credentials.integration, privateKey: other } });
    const failed = await uploadTree(wrongKey, 'service-bad');
    expect(failed.error).toMatchObject({ code: 'ENOTAUTHORIZED', message: expect.stringContaining('invalid_signature') });
    expect(env.emulator.requests()).toEqual([]);
    expectClean(seen(failed.error, failed.events, failed.lines));
    // Bad material: EINVALIDOPTIONS naming the field.
    const noKey = auth.serviceCredentials({ integration: { ...credentials.integration, privateKey: undefined } });
    await expect(noKey.headers()).rejects.toMatchObject({ code: 'EINVALIDOPTIONS', message: expect.stringContaining('integration.privateKey') });
  });

  test('oauthServerToServer(): client_credentials with the scopes, one grant', async () => {
    const provider = auth.oauthServerToServer({ clientId: 's2s', clientSecret: SECRET, scopes: ['openid', 'AdobeID', 'aem.assets.author'], imsEndpoint: imsUrl });
    const run = await uploadTree(provider, 'oauth');
    expect(uploadedUnder('oauth')).toBe(files.length);
    expect(grants).toEqual([{ kind: 'client_credentials', scope: 'openid,AdobeID,aem.assets.author' }]);
    expectClean(seen(run.result, run.events, run.lines, provider));
    const wrong = auth.oauthServerToServer({ clientId: 's2s', clientSecret: 'CANARY-wrong', scopes: 'openid', imsEndpoint: imsUrl });
    const error = await wrong.headers().catch((e) => e);
    expect(error).toMatchObject({ code: 'ENOTAUTHORIZED', message: expect.stringContaining('invalid_client') });
    expectClean(seen(error));
  });

  test('IMS unreachable or misconfigured: a clear error after the retries, no secret', async () => {
    const closed = auth.oauthServerToServer({ clientId: 's2s', clientSecret: SECRET, scopes: 'openid', imsEndpoint: 'http://127.0.0.1:9', retryCount: 1, retryDelay: 1 });
    const error = await closed.headers().catch((e) => e);
    expect(error).toMatchObject({ code: 'ECONNREFUSED', message: expect.stringContaining('Failed to reach IMS at http://127.0.0.1:9') });
    const badProxy = auth.oauthServerToServer({ clientId: 's2s', clientSecret: SECRET, scopes: 'openid', imsEndpoint: imsUrl, proxy: '::not a proxy' });
    await expect(badProxy.headers()).rejects.toMatchObject({ code: 'EINVALIDOPTIONS', message: expect.stringContaining('Invalid proxy') });
    expectClean(seen(error, closed, badProxy));
  });
});
