'use strict';

// `aem-upload events serve` and `aem-upload upload --wait-processed`
// (docs/cli.md §2, §4; docs/assets.md §3) as a user runs them: the real
// command in child processes. `events serve` gets deliveries signed here with
// node:crypto keys served by a small key server written here (not our
// engine, not the emulator); `--wait-processed` runs against the emulator,
// whose assets stay `processing` for `events.processingDelayMs`, by polling
// and through the emulator's own signed webhook deliveries.

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');
const { useEmulator, tempDir } = require('./helpers/emulator');
const { listen } = require('./helpers/http');

const BIN = path.join(__dirname, '..', 'bin', 'aem-upload.js');
const TOKEN = 'canary-token-7f3a';
const API_KEY = 'cli-events-client';
const CLIENT_ID = 'events-cli-client';
const KEY1_PATH = '/prod/keys/pub-key-one.pem';
const KEY2_PATH = '/prod/keys/pub-key-two.pem';

const env = useEmulator({ storage: 'digest', auth: { bearer: [TOKEN] }, author: { apiKeys: [API_KEY] } });

let work;
beforeEach(() => {
  work = tempDir('aem-cli-events-');
  env.emulator.reset();
  fs.writeFileSync(path.join(work, '.env'), `AEM_URL=${env.emulator.url}\nAEM_BEARER_TOKEN=${TOKEN}\nAEM_API_KEY=${API_KEY}\n`);
});
const children = new Set();
afterEach(() => {
  // A failed test must not leave a receiver running (it would keep jest alive).
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  fs.rmSync(work, { recursive: true, force: true });
});

/** The command as a child process; `until(text)` resolves once stderr matches. */
function start(args) {
  const childEnv = { ...process.env };
  for (const key of Object.keys(childEnv)) if (/^AEM_/.test(key)) delete childEnv[key];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const out = { stdout: '', stderr: '' };
  const watchers = [];
  child.stdout.on('data', (d) => { out.stdout += d; });
  child.stderr.on('data', (d) => {
    out.stderr += d;
    for (const w of watchers) { const m = w.re.exec(out.stderr); if (m) w.resolve(m); }
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, ...out })));
  return {
    child,
    out,
    exited,
    until: (re) => new Promise((resolve, reject) => {
      const m = re.exec(out.stderr);
      if (m) return resolve(m);
      watchers.push({ re, resolve });
      exited.then(() => reject(new Error(`exited before ${re}: ${out.stderr}`)));
      return undefined;
    }),
  };
}

const run = (args) => start(args).exited;

/** A port nothing listens on now (for a webhook URL the emulator must know before the command starts). */
async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function files(count, prefix = 'f') {
  const dir = path.join(work, 'photos');
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i += 1) fs.writeFileSync(path.join(dir, `${prefix}-${i}.txt`), `content ${i}`);
  return dir;
}

const readReport = () => JSON.parse(fs.readFileSync(path.join(work, 'report.json'), 'utf8'));

describe('deliveries signed by the test\'s own keys (events serve, and the webhook of --wait-processed)', () => {
  let keyServer;
  let keysUrl;
  let one;
  let two;
  let stranger;

  beforeAll(async () => {
    one = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    two = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    stranger = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pems = new Map([[KEY1_PATH, one], [KEY2_PATH, two]].map(([p, k]) => [p, k.publicKey.export({ type: 'spki', format: 'pem' })]));
    keyServer = http.createServer((req, res) => {
      const pem = pems.get(req.url);
      res.statusCode = pem ? 200 : 404;
      res.end(pem || '');
    });
    keysUrl = await listen(keyServer);
  });
  afterAll(() => new Promise((resolve) => { keyServer.closeAllConnections(); keyServer.close(resolve); }));

  let n = 0;
  function event(recipient = CLIENT_ID) {
    n += 1;
    const ioId = crypto.randomUUID();
    return {
      specversion: '1.0',
      id: crypto.randomUUID(),
      source: 'acct:aem-p1234-e5678@adobe.com',
      type: 'aem.assets.asset.processing_completed',
      datacontenttype: 'application/json',
      time: '2026-12-04T08:00:00.000000001Z',
      event_id: ioId,
      eventid: ioId,
      recipient_client_id: recipient,
      data: {
        assetId: `urn:aaid:aem:3c0b8f6e-0000-4000-8000-${String(n).padStart(12, '0')}`,
        repositoryMetadata: { 'repo:path': `/content/dam/served/a-${n}.jpg`, 'repo:size': '1234', 'aem:assetState': 'processed' },
      },
    };
  }

  const signed = (body, k1 = one, k2 = two, extra = {}) => ({
    'content-type': 'application/cloudevents+json; charset=UTF-8',
    'x-adobe-digital-signature-1': crypto.sign('sha256', Buffer.from(body), k1.privateKey).toString('base64'),
    'x-adobe-digital-signature-2': crypto.sign('sha256', Buffer.from(body), k2.privateKey).toString('base64'),
    'x-adobe-public-key1-path': KEY1_PATH,
    'x-adobe-public-key2-path': KEY2_PATH,
    ...extra,
  });

  const post = async (url, body, headers) => (await fetch(url, { method: 'POST', body, headers })).status;

  test('prints each new verified event once as a JSON line; duplicates, forgeries and other recipients are not printed', async () => {
    const serve = start(['events', 'serve', '--port', '0', '--client-id', CLIENT_ID, '--key-base-url', keysUrl]);
    const [, url] = await serve.until(/listening for asset events on (http:\/\/127\.0\.0\.1:\d+\/)/);

    const challenge = await fetch(`${url}?challenge=c-42`);
    expect(await challenge.json()).toEqual({ challenge: 'c-42' });

    const a = event();
    const b = event();
    const c = event();
    const aBody = JSON.stringify(a);
    const bBody = JSON.stringify(b);
    expect(await post(url, aBody, signed(aBody, one, two, { 'x-adobe-event-id': a.event_id }))).toBe(200);
    // At-least-once: the same event again (a retry), and within a batch.
    expect(await post(url, aBody, signed(aBody, one, two, { 'x-adobe-retry-count': '1' }))).toBe(200);
    // Key rotation: signature 1 from a key no longer served there, signature 2 good.
    expect(await post(url, bBody, signed(bBody, stranger, two))).toBe(200);
    const batch = JSON.stringify([c, a]);
    expect(await post(url, batch, signed(batch))).toBe(200);

    // A forged body under a good signature, a stranger's signatures, another recipient: 401, not printed.
    const forged = JSON.stringify({ ...event(), id: 'forged-event' });
    expect(await post(url, forged, signed(JSON.stringify(event())))).toBe(401);
    const strangers = JSON.stringify({ ...event(), id: 'stranger-event' });
    expect(await post(url, strangers, signed(strangers, stranger, stranger))).toBe(401);
    const elsewhere = JSON.stringify({ ...event('another-client'), id: 'elsewhere-event' });
    expect(await post(url, elsewhere, signed(elsewhere))).toBe(401);
    // Not an asset event.
    const notOurs = JSON.stringify({ specversion: '1.0', id: 'x', source: 'acct:aem-p1-e2@adobe.com', type: 'com.example.other', recipient_client_id: CLIENT_ID });
    expect(await post(url, notOurs, signed(notOurs))).toBe(400);

    serve.child.kill('SIGTERM');
    const done = await serve.exited;
    expect(done.code).toBe(0);
    const lines = done.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line));
    expect(lines.map((e) => e.id)).toEqual([a.id, b.id, c.id]);
    expect(lines[0]).toMatchObject({
      type: 'aem.assets.asset.processing_completed',
      eventId: a.event_id,
      assetId: a.data.assetId,
      path: a.data.repositoryMetadata['repo:path'],
      assetState: 'processed',
      programId: '1234',
      environmentId: '5678',
    });
    expect(done.stdout).not.toMatch(/forged-event|stranger-event|elsewhere-event/);
    // Each refusal is one line on stderr, with the status and the reason, never a signature.
    expect(done.stderr.match(/delivery refused \(401\): ESIGNATURE/g)).toHaveLength(3);
    expect(done.stderr).toMatch(/\(400\)/);
    expect(done.stderr).not.toContain(signed(forged)['x-adobe-digital-signature-1']);
  });

  test('--wait-processed --webhook-port: a processing_completed with aem:assetState failed fails its file (EPROCESSINGFAILED), exit 1', async () => {
    env.emulator.configure({ events: { webhookUrl: null, processingDelayMs: 3600000 } });
    const port = await freePort();
    const dir = files(2);
    const upload = start(['upload', dir, '--target', '/content/dam/hooks', '--wait-processed', '--webhook-port', String(port),
      '--events-client-id', CLIENT_ID, '--events-key-base-url', keysUrl, '--report', 'report.json', '--json']);
    await new Promise((resolve) => {
      upload.child.stdout.on('data', () => { if (upload.out.stdout.includes('"event":"processingstart"')) resolve(); });
    });
    // What AEM would send for the two files: one failed, one processed (in a batch, plus a stranger's forgery).
    const [failed, done] = [0, 1].map((i) => {
      const e = event();
      e.data.repositoryMetadata['repo:path'] = `/content/dam/hooks/photos/f-${i}.txt`;
      e.data.repositoryMetadata['aem:assetState'] = i === 0 ? 'FAILED' : 'processed';
      return e;
    });
    const forged = JSON.stringify([{ ...failed, id: 'forged', data: { ...failed.data, repositoryMetadata: { ...failed.data.repositoryMetadata, 'aem:assetState': 'processed' } } }]);
    expect(await post(`http://127.0.0.1:${port}/`, forged, signed(forged, stranger, stranger))).toBe(401);
    const batch = JSON.stringify([failed, done]);
    expect(await post(`http://127.0.0.1:${port}/`, batch, signed(batch))).toBe(200);
    const r = await upload.exited;
    expect(r.code).toBe(1);
    const report = readReport();
    expect(report.files.map((f) => [f.target, f.status, f.processing.status, f.processing.via])).toEqual([
      ['/content/dam/hooks/photos/f-0.txt', 'uploaded', 'failed', 'event'],
      ['/content/dam/hooks/photos/f-1.txt', 'uploaded', 'processed', 'event'],
    ]);
    expect(report.files[0].processing.error.code).toBe('EPROCESSINGFAILED');
    expect(report.files[1].assetId).toBe(done.data.assetId);
    expect(report.processing).toMatchObject({ via: 'webhook', files: 2, processed: 1, failed: 1 });
  });

  test('SIGINT stops it with exit 0; a port in use and bad flags are usage errors (exit 2)', async () => {
    const serve = start(['events', 'serve', '--key-base-url', keysUrl]);
    const [, port] = await serve.until(/listening for asset events on http:\/\/127\.0\.0\.1:(\d+)\//);
    const busy = await run(['events', 'serve', '--port', port]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+ \(--port\): the port is in use/);
    expect(busy.stdout).toBe('');
    serve.child.kill('SIGINT');
    const done = await serve.exited;
    expect(done.code).toBe(0);
    expect(done.stdout).toBe('');

    expect((await run(['events', 'serve', '--port', 'eighty'])).code).toBe(2);
    expect((await run(['events', 'serve', '--key-base-url', 'ftp://keys'])).code).toBe(2);
  });
});

describe('upload --wait-processed', () => {
  test('by polling aem:assetState: every file reported processed, with its processing time and a summary', async () => {
    env.emulator.configure({ events: { webhookUrl: null, processingDelayMs: 300 } });
    const dir = files(12);
    const r = await run(['upload', dir, '--target', '/content/dam/polled', '--wait-processed', '--report', 'report.json']);
    expect(r.stderr).not.toMatch(/not processed:/);
    expect(r.code).toBe(0);
    const report = readReport();
    expect(report.totals).toMatchObject({ files: 12, uploaded: 12, failed: 0 });
    for (const file of report.files) {
      expect(file.assetId).toMatch(/^urn:aaid:aem:/);
      expect(file.processing).toMatchObject({ status: 'processed', via: 'poll', state: 'processed', seconds: expect.any(Number) });
      expect(file.processing.seconds).toBeGreaterThanOrEqual(0);
    }
    expect(report.processing).toMatchObject({ via: 'poll', files: 12, processed: 12, failed: 0, medianSeconds: expect.any(Number), maxSeconds: expect.any(Number) });
    expect(report.processing.maxSeconds).toBeGreaterThanOrEqual(report.processing.medianSeconds);
    expect(r.stderr).toMatch(/aem-upload: processing: 12 of 12 files processed \(median [\d.]+s, max [\d.]+s\)\n/);
    expect(r.stdout).toBe('');
  });

  test('--json: a fileprocessed line per file and the processing totals in the report; nothing else on stdout', async () => {
    env.emulator.configure({ events: { webhookUrl: null, processingDelayMs: 200 } });
    const dir = files(5);
    const r = await run(['upload', dir, '--target', '/content/dam/json', '--wait-processed', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const processed = lines.filter((l) => l.event === 'fileprocessed');
    expect(processed).toHaveLength(5);
    expect(processed.every((l) => /^urn:aaid:aem:/.test(l.assetId) && typeof l.seconds === 'number' && l.via === 'poll')).toBe(true);
    const report = lines[lines.length - 1];
    expect(report.event).toBe('report');
    expect(report.processing).toMatchObject({ files: 5, processed: 5, failed: 0 });
  });

  test('polling without an X-Api-Key: exit 2 before anything is sent, saying what to give', async () => {
    fs.writeFileSync(path.join(work, '.env'), `AEM_URL=${env.emulator.url}\nAEM_BEARER_TOKEN=${TOKEN}\n`);
    const before = (await env.emulator.state()).assets.length;
    const r = await run(['upload', files(2), '--target', '/content/dam/nokey', '--wait-processed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--wait-processed polls the Assets Author API, which needs an X-Api-Key: give --api-key \(or AEM_API_KEY\), or hear the events with --webhook-port/);
    expect((await env.emulator.state()).assets.length).toBe(before);
  });

  test('not processed within --processed-timeout: those files fail with ETIMEDOUT and the last state, exit 1', async () => {
    env.emulator.configure({ events: { webhookUrl: null, processingDelayMs: 3600000 } });
    const dir = files(3);
    const r = await run(['upload', dir, '--target', '/content/dam/slow', '--wait-processed', '--processed-timeout', '1s', '--report', 'report.json']);
    expect(r.code).toBe(1);
    const report = readReport();
    // The upload itself succeeded; processing is what failed.
    expect(report.totals).toMatchObject({ files: 3, uploaded: 3, failed: 0 });
    for (const file of report.files) {
      expect(file.processing.status).toBe('failed');
      expect(file.processing.error.code).toBe('ETIMEDOUT');
      expect(file.processing.error.message).toMatch(/last aem:assetState: processing/);
      expect(file.processing).not.toHaveProperty('seconds');
    }
    expect(report.processing).toMatchObject({ files: 3, processed: 0, failed: 3, medianSeconds: null });
    expect(r.stderr.match(/not processed: .* ETIMEDOUT/g)).toHaveLength(3);
    expect(r.stderr).toMatch(/processing: 0 of 3 files processed, 3 not processed/);
  });

  test('with --webhook-port: hears the emulator\'s signed processing_completed deliveries (duplicates and reordering injected)', async () => {
    const port = await freePort();
    env.emulator.configure({
      events: {
        webhookUrl: `http://127.0.0.1:${port}/aem-events`,
        processingDelayMs: 300,
        duplicateRate: 0.5,
        reorderRate: 0.5,
        // The registration's ?challenge= handshake starts now and is retried
        // (about 25 s in all) until the command below listens.
        retryBackoffMs: 100,
        maxAttempts: 9,
        seed: 11,
      },
    });
    const dir = files(20);
    const r = await run(['upload', dir, '--target', '/content/dam/hooked', '--wait-processed', '--webhook-port', String(port),
      '--events-key-base-url', env.emulator.url, '--events-client-id', 'aem-emulator-events', '--report', 'report.json', '--json']);
    expect(r.stderr).not.toMatch(/refused|not processed/);
    expect(r.code).toBe(0);
    const report = readReport();
    expect(report.processing).toMatchObject({ via: 'webhook', files: 20, processed: 20, failed: 0 });
    for (const file of report.files) {
      expect(file.processing).toMatchObject({ status: 'processed', via: 'event', seconds: expect.any(Number) });
      expect(file.assetId).toMatch(/^urn:aaid:aem:/);
    }
    const delivered = env.emulator.state().events;
    expect(delivered.registration.status).toBe('active');
    expect(delivered.duplicatesSent).toBeGreaterThan(0);
    // Each file once, despite the duplicates.
    const processed = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.event === 'fileprocessed');
    expect(processed.map((l) => l.target).sort()).toEqual(report.files.map((f) => f.target).sort());
  });

  test('flags are checked before anything is sent (exit 2)', async () => {
    const dir = files(1);
    for (const args of [
      ['--webhook-port', '8080'],
      ['--processed-timeout', '10m'],
      ['--wait-processed', '--processed-timeout', 'soon'],
      ['--wait-processed', '--events-client-id', 'x'],
      ['--wait-processed', '--webhook-port', '99999'],
    ]) {
      const r = await run(['upload', dir, '--target', '/content/dam/flags', ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
    }
    // A webhook port that cannot be bound: nothing is uploaded.
    const taken = net.createServer();
    await new Promise((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const r = await run(['upload', dir, '--target', '/content/dam/flags', '--wait-processed', '--webhook-port', String(taken.address().port)]);
    await new Promise((resolve) => taken.close(resolve));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--webhook-port\): the port is in use/);
    const listed = await fetch(`${env.emulator.url}/content/dam/flags/photos/f-0.txt.json`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(listed.status).toBe(404);
  });
});

test('upload --wait-processed interrupted while waiting: exit 130, the waiting files reported EUSERCANCELLED, the webhook closed', async () => {
  const port = await freePort();
  env.emulator.configure({ events: { webhookUrl: null, processingDelayMs: 3600000 } });
  const dir = files(2);
  const upload = start(['upload', dir, '--target', '/content/dam/stopped', '--wait-processed', '--webhook-port', String(port),
    '--events-key-base-url', env.emulator.url, '--report', 'report.json', '--json']);
  await new Promise((resolve) => {
    upload.child.stdout.on('data', () => { if (upload.out.stdout.includes('"event":"processingstart"')) resolve(); });
  });
  upload.child.kill('SIGINT');
  const r = await upload.exited;
  expect(r.code).toBe(130);
  const report = readReport();
  expect(report.totals).toMatchObject({ files: 2, uploaded: 2 });
  expect(report.files.map((f) => f.processing.error.code)).toEqual(['EUSERCANCELLED', 'EUSERCANCELLED']);
  // The receiver is gone with the command.
  await expect(fetch(`http://127.0.0.1:${port}/?challenge=x`)).rejects.toThrow();
});
