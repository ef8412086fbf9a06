'use strict';

// Built-in authentication against the emulator's IMS, through the public
// API (docs/auth.md): credentials the emulator mints, exchanged by the
// engine, refreshed as tokens age or are revoked mid-upload.

const fs = require('fs');
const path = require('path');
const util = require('util');
const { useEmulator, tempDir } = require('./helpers/emulator');
const { FileSystemUpload, FileSystemUploadOptions } = require('..');
const auth = require('../auth');

const env = useEmulator({ storage: 'size' });

let work;
beforeEach(() => {
  work = tempDir('aem-auth-ims-');
  env.emulator.reset();
  env.emulator.configure({ faults: { routes: null }, ims: { tokenLifetimeSeconds: 86400 } });
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function tree(name, count, folders = 10) {
  const top = path.join(work, name);
  for (let i = 0; i < count; i += 1) {
    const file = path.join(top, `f${i % folders}`, `file-${i}.txt`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `file ${i}`);
  }
  return top;
}

function options(target, provider) {
  return new FileSystemUploadOptions()
    .withUrl(`${env.emulator.url}${target}`)
    .withDeepUpload(true)
    .withMaxUploadFiles(100000)
    .withHttpRetryDelay(10)
    .withAuth(provider);
}

const clientState = (clientId) => env.emulator.state().ims.clients.find((c) => c.clientId === clientId);

test('5,000 files with service credentials make exactly one IMS exchange', async () => {
  const credentials = env.emulator.createServiceCredentials();
  const provider = auth.serviceCredentials(credentials);
  const top = tree('many', 5000, 50);
  const result = await new FileSystemUpload().upload(options('/content/dam/many', provider), [top]);
  expect(result.errors).toEqual([]);
  expect(result.totalCompleted).toBe(5000);
  expect(clientState(credentials.integration.technicalAccount.clientId).exchanges).toBe(1);
  expect(env.emulator.state().violations).toEqual([]);
});

test('tokens that expire every 2 s during a long upload: refreshed ahead of time, no file fails', async () => {
  env.emulator.configure({ ims: { tokenLifetimeSeconds: 2 }, faults: { routes: { part: { latencyMs: 40 } } } });
  const client = env.emulator.createOAuthClient();
  const provider = auth.oauthServerToServer({ ...client });
  const top = tree('slow', 240, 4);
  const started = Date.now();
  const result = await new FileSystemUpload().upload(options('/content/dam/slow', provider).withMaxConcurrent(2), [top]);
  const seconds = (Date.now() - started) / 1000;
  expect(result.errors).toEqual([]);
  expect(result.totalCompleted).toBe(240);
  // At least one fresh token per lifetime the upload outlived.
  expect(clientState(client.clientId).exchanges).toBeGreaterThanOrEqual(Math.floor(seconds / 2));
  expect(clientState(client.clientId).exchanges).toBeGreaterThan(1);
});

test('a token revoked mid-upload: the 401s are answered with one refresh, and every file lands', async () => {
  env.emulator.configure({ faults: { routes: { part: { latencyMs: 20 } } } });
  const credentials = env.emulator.createServiceCredentials();
  const { clientId } = credentials.integration.technicalAccount;
  const provider = auth.serviceCredentials(credentials);
  const top = tree('revoked', 200, 4);
  const upload = new FileSystemUpload();
  let ended = 0;
  let revoked = 0;
  upload.on('fileend', () => {
    ended += 1;
    if (ended === 50) revoked = env.emulator.revokeTokens(clientId);
  });
  const result = await upload.upload(options('/content/dam/revoked', provider).withMaxConcurrent(4), [top]);
  expect(revoked).toBe(1);
  expect(result.errors).toEqual([]);
  expect(result.totalCompleted).toBe(200);
  expect(clientState(clientId).exchanges).toBe(2);
  expect(env.emulator.requests().some((q) => q.status === 401)).toBe(true);
});

test('refused credentials fail with ENOTAUTHORIZED and IMS\'s reason, before any file is sent, and show no secret', async () => {
  const top = tree('refused', 3, 1);
  const good = env.emulator.createServiceCredentials();
  const other = env.emulator.createServiceCredentials().integration;
  const client = env.emulator.createOAuthClient();
  const cases = [
    [auth.oauthServerToServer({ ...client, clientSecret: `x${client.clientSecret}` }), /invalid_client/],
    [auth.oauthServerToServer({ ...client, clientId: 'nobody-registered' }), /invalid_client/],
    [auth.serviceCredentials({ ...good.integration, privateKey: other.privateKey }), /invalid_signature/],
  ];
  for (const [provider, reason] of cases) {
    const rejected = await new FileSystemUpload().upload(options('/content/dam/refused', provider), [top]).then(() => null, (e) => e);
    expect(rejected).not.toBeNull();
    expect(rejected.code).toBe('ENOTAUTHORIZED');
    expect(rejected.message).toMatch(reason);
    const shown = `${rejected.message} ${JSON.stringify(rejected)} ${util.inspect(provider)} ${JSON.stringify(provider)}`;
    for (const secret of [client.clientSecret, good.integration.technicalAccount.clientSecret, other.privateKey.split('\n')[1]]) {
      expect(shown).not.toContain(secret);
    }
  }
  expect(env.emulator.state().assets).toEqual([]);
  expect(env.emulator.requests().filter((q) => q.route === 'initiate' || q.route === 'part')).toEqual([]);
});

test('IMS answering 503, then 429, then resetting the connection: each exchange retried, every file lands', async () => {
  const credentials = env.emulator.createServiceCredentials();
  const top = tree('flaky-ims', 6, 2);
  const faults = [{ status503: 1.0 }, { status429: 1.0, retryAfterSeconds: 0 }, { resetBefore: 1.0 }];
  for (const [i, fault] of faults.entries()) {
    // configure() merges: the kinds not injected this round are set to 0.
    env.emulator.configure({ faults: { seed: i + 1, routes: { ims: { status503: 0, status429: 0, resetBefore: 0, ...fault, maxAttempt: 1 } } } });
    const provider = auth.serviceCredentials(credentials, { retryDelay: 10 });
    const result = await new FileSystemUpload().upload(options(`/content/dam/flaky-${i}`, provider), [top]);
    expect(result.errors).toEqual([]);
    expect(result.totalCompleted).toBe(6);
    expect(env.emulator.state().faults.filter((f) => f.route === 'ims').length).toBe(1);
    // Faults are counted per attempt of a key (path and client): a fresh round starts from attempt 1.
    env.emulator.reset();
  }
});
