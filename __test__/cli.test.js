'use strict';

// `aem-upload emulator`: the ready line, flags, config files, signals, errors.

const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { tempDir } = require('./helpers/emulator');
const { request } = require('./helpers/http');
const { exchangeJwt, clientCredentials } = require('./helpers/ims');
const { startEmulator } = require('../emulator');

const BIN = path.join(__dirname, '..', 'bin', 'aem-upload.js');

function run(args) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => { out.stdout += d; });
  child.stderr.on('data', (d) => { out.stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, ...out })));
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', () => {
      const line = out.stdout.split('\n')[0];
      if (!out.stdout.includes('\n')) return;
      try {
        resolve(JSON.parse(line));
      } catch (err) {
        reject(new Error(`not a ready line: ${line}`));
      }
    });
    exited.then((r) => reject(new Error(`exited early with ${r.code}: ${r.stderr}`)));
  });
  ready.catch(() => {});
  return { child, ready, exited };
}

test('emulator --port 0 prints one JSON ready line and stops cleanly on SIGTERM', async () => {
  const { child, ready, exited } = run(['emulator', '--port', '0']);
  const line = await ready;
  expect(Object.keys(line)).toEqual(['url', 'blobUrl']);
  expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(line.blobUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(line.blobUrl).not.toBe(line.url);
  const state = await request('GET', `${line.url}/_emulator/state`);
  expect(state.status).toBe(200);
  expect(state.json().storage).toBe('memory');
  child.kill('SIGTERM');
  const result = await exited;
  expect(result.code).toBe(0);
  expect(result.stdout.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toBe('');
});

test('SIGINT stops it too; --storage, --config and flags combine', async () => {
  const dir = tempDir();
  const configFile = path.join(dir, 'emulator.json');
  fs.writeFileSync(configFile, JSON.stringify({ minPartSize: 4096, strict: 'fail', auth: { basic: { u: 'p' } } }));
  const { child, ready, exited } = run(['emulator', '--port', '0', '--storage', 'digest', '--config', configFile, '--strict', 'record', '--seed', '5',
    '--webhook-url', 'http://127.0.0.1:9/hook', '--webhook-client-id', 'cli-client']);
  const line = await ready;
  const config = (await request('GET', `${line.url}/_emulator/config`)).json();
  expect(config).toMatchObject({ storage: 'digest', minPartSize: 4096, strict: 'record', faults: { seed: 5 }, auth: { basic: { u: 'p' } } });
  expect(config.events).toMatchObject({ webhookUrl: 'http://127.0.0.1:9/hook', clientId: 'cli-client', processingDelayMs: 200 });
  child.kill('SIGINT');
  expect((await exited).code).toBe(0);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('--service-credentials and --oauth-client mint files for this run; real credentials are registered, never written', async () => {
  const dir = tempDir();
  const serviceFile = path.join(dir, 'service.json');
  const oauthFile = path.join(dir, 'oauth.json');
  const args = ['emulator', '--service-credentials', serviceFile, '--oauth-client', oauthFile, '--token-lifetime', '30'];
  const first = run(args);
  const line = await first.ready;
  // Written before the ready line, owner-only.
  expect(fs.statSync(serviceFile).mode & 0o777).toBe(0o600);
  expect(fs.statSync(oauthFile).mode & 0o777).toBe(0o600);
  const { integration } = JSON.parse(fs.readFileSync(serviceFile, 'utf8'));
  expect(integration.imsEndpoint).toBe(line.url);
  const exchanged = await exchangeJwt(integration);
  expect(exchanged.status).toBe(200);
  expect(exchanged.json().expires_in).toBe(30000);
  const oauth = JSON.parse(fs.readFileSync(oauthFile, 'utf8'));
  const granted = await clientCredentials(oauth);
  expect(granted.status).toBe(200);
  expect(granted.json().expires_in).toBe(30);
  first.child.kill('SIGTERM');
  expect((await first.exited).stdout).not.toContain(integration.technicalAccount.clientSecret);

  // A rerun replaces what an emulator minted (its port is gone).
  const second = run(args);
  const again = await second.ready;
  const renewed = JSON.parse(fs.readFileSync(serviceFile, 'utf8')).integration;
  expect(renewed.imsEndpoint).toBe(again.url);
  expect(renewed.technicalAccount.clientId).not.toBe(integration.technicalAccount.clientId);
  second.child.kill('SIGTERM');
  await second.exited;

  // Credentials pointing at a real IMS are accepted as they are and left untouched.
  const minting = await startEmulator();
  const real = minting.createServiceCredentials({ imsEndpoint: 'ims-na1.adobelogin.com' });
  await minting.stop();
  const realFile = path.join(dir, 'real.json');
  fs.writeFileSync(realFile, JSON.stringify(real));
  const before = fs.readFileSync(realFile, 'utf8');
  const third = run(['emulator', '--service-credentials', realFile]);
  const url = (await third.ready).url;
  const ims = (await request('GET', `${url}/_emulator/ims`)).json();
  expect(ims.clients.map((c) => c.clientId)).toEqual([real.integration.technicalAccount.clientId]);
  expect((await exchangeJwt({ ...real.integration, imsEndpoint: url })).status).toBe(200);
  expect(fs.readFileSync(realFile, 'utf8')).toBe(before);
  third.child.kill('SIGTERM');
  await third.exited;
  fs.rmSync(dir, { recursive: true, force: true });
});

test('--anonymous serves without credentials', async () => {
  const { child, ready, exited } = run(['emulator', '--anonymous']);
  const line = await ready;
  const res = await request('POST', `${line.url}/api/assets/open`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ class: 'assetFolder', properties: { title: 'Open' } }),
  });
  expect(res.status).toBe(201);
  child.kill('SIGTERM');
  await exited;
});

test.each([
  [['emulator', '--port', 'abc'], /--port must be a port number/],
  [['emulator', '--storage', 'disk'], /unknown storage 'disk'/],
  [['emulator', '--config', '/nonexistent/x.json'], /cannot read --config/],
  [['emulator', '--bogus'], /Unknown option '--bogus'/],
  [['emulator', '--token-lifetime', '0'], /--token-lifetime must be a whole number of seconds/],
  [['emulator', '--webhook-url', 'localhost:8080/hook'], /--webhook-url must be an http:\/\/ or https:\/\/ URL/],
  [['frobnicate'], /unknown command 'frobnicate'/],
])('bad usage %j exits 2 with a clear message', async (args, message) => {
  const result = await run(args).exited;
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stdout).toBe('');
});

test('a port in use is reported, not a crash', async () => {
  const first = run(['emulator']);
  const line = await first.ready;
  const port = new URL(line.url).port;
  const second = await run(['emulator', '--port', port]).exited;
  expect(second.code).not.toBe(0);
  expect(second.stderr).toMatch(/could not bind 127\.0\.0\.1:\d+/);
  first.child.kill('SIGTERM');
  await first.exited;
});

test('--help prints usage', async () => {
  const result = await run(['emulator', '--help']).exited;
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/Usage: aem-upload/);
});
