'use strict';

// aem-upload-rs/events through its public API, over real sockets: bodies
// signed here with fresh RSA keys (node:crypto, not our engine), the public
// keys served by a small key server written here (not the emulator), and the
// webhook handler mounted on http.createServer and on Express.

const crypto = require('crypto');
const http = require('http');
const express = require('express');
const { listen, close } = require('./helpers/http');
const {
  parseAssetEvent,
  verifyEventSignature,
  EventDeduper,
  EventError,
  createWebhookHandler,
} = require('../events');

const CLIENT_ID = 'my-client-id';
const KEY1_PATH = '/prod/keys/pub-key-one.pem';
const KEY2_PATH = '/prod/keys/pub-key-two.pem';

function newKey() {
  return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
}

function sign(key, body) {
  return crypto.sign('sha256', Buffer.from(body), key.privateKey).toString('base64');
}

/** Serves `path -> SPKI PEM` like static.adobeioevents.com, counting requests. */
async function startKeyServer() {
  const keys = new Map();
  const requests = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url);
    const pem = keys.get(req.url);
    if (!pem) {
      res.statusCode = 404;
      return res.end();
    }
    res.setHeader('content-type', 'application/x-pem-file');
    return res.end(pem);
  });
  const url = await listen(server);
  return {
    url,
    requests,
    serve(path, key) {
      keys.set(path, key.publicKey.export({ type: 'spki', format: 'pem' }));
    },
    close: () => close(server),
  };
}

let sequence = 0;

/** An event as AEM delivers it through I/O Events. */
function assetEvent(overrides = {}) {
  sequence += 1;
  const ioId = crypto.randomUUID();
  return {
    specversion: '1.0',
    id: crypto.randomUUID(),
    source: 'acct:aem-p142461-e1463137@adobe.com',
    type: 'aem.assets.asset.processing_completed',
    datacontenttype: 'application/json',
    time: '2026-01-02T03:04:05.123456789Z',
    eventid: ioId,
    event_id: ioId,
    recipientclientid: CLIENT_ID,
    recipient_client_id: CLIENT_ID,
    data: {
      assetId: `urn:aaid:aem:8f3d2c1b-1111-4c2d-9e8f-${String(sequence).padStart(12, '0')}`,
      repositoryMetadata: {
        'repo:path': `/content/dam/events/file-${sequence}.jpg`,
        'repo:size': '10759203',
        'dc:format': 'image/jpeg',
        'aem:assetState': 'Processed',
      },
      assetMetadata: { 'dc:title': 'Hero' },
    },
    ...overrides,
  };
}

/** Headers of one delivery: both signatures, both key paths, the I/O event id. */
function signedHeaders(body, sig1Key, sig2Key, extra = {}) {
  return {
    'content-type': 'application/cloudevents+json; charset=UTF-8',
    'x-adobe-digital-signature-1': sign(sig1Key, body),
    'x-adobe-digital-signature-2': sign(sig2Key, body),
    'x-adobe-public-key1-path': KEY1_PATH,
    'x-adobe-public-key2-path': KEY2_PATH,
    ...extra,
  };
}

async function post(url, body, headers) {
  const res = await fetch(url, { method: 'POST', body, headers });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

let keys;
let one;
let two;
let stranger;

beforeAll(async () => {
  keys = await startKeyServer();
  one = newKey();
  two = newKey();
  stranger = newKey();
  keys.serve(KEY1_PATH, one);
  keys.serve(KEY2_PATH, two);
});

afterAll(async () => {
  await keys.close();
});

describe('verifyEventSignature', () => {
  test('a body signed by an independent key, served by an independent key server, verifies; tampered, it fails', async () => {
    const body = JSON.stringify(assetEvent());
    const headers = signedHeaders(body, one, two);
    await expect(verifyEventSignature(body, headers, { keyBaseUrl: keys.url, clientId: CLIENT_ID })).resolves.toBe(true);
    await expect(verifyEventSignature(Buffer.from(body), headers, { keyBaseUrl: keys.url })).resolves.toBe(true);

    const tampered = body.replace('Hero', 'Hera');
    const err = await verifyEventSignature(tampered, headers, { keyBaseUrl: keys.url }).catch((e) => e);
    expect(err).toBeInstanceOf(EventError);
    expect(err).toMatchObject({ name: 'EventError', code: 'ESIGNATURE', reason: 'mismatch' });
    // The message names the failed checks, never a signature value.
    expect(err.message).not.toContain(headers['x-adobe-digital-signature-1']);
  });

  test('a forged body, a wrong key, a swapped signature and a wrong recipient are refused; rotation is accepted', async () => {
    const body = JSON.stringify(assetEvent());
    const options = { keyBaseUrl: keys.url, clientId: CLIENT_ID };
    const refused = async (raw, headers, opts = options) => verifyEventSignature(raw, headers, opts).catch((e) => e);

    const forged = JSON.stringify({ ...JSON.parse(body), type: 'aem.assets.asset.deleted' });
    expect(await refused(forged, signedHeaders(body, one, two))).toMatchObject({ code: 'ESIGNATURE', reason: 'mismatch' });
    expect(await refused(body, signedHeaders(body, stranger, stranger))).toMatchObject({ code: 'ESIGNATURE', reason: 'mismatch' });
    expect(await refused(body, signedHeaders(body, two, one))).toMatchObject({ code: 'ESIGNATURE', reason: 'mismatch' });
    expect(await refused(body, signedHeaders(body, one, two), { ...options, clientId: 'someone-else' }))
      .toMatchObject({ code: 'ESIGNATURE', reason: 'recipient' });
    // No signature headers at all.
    expect(await refused(body, { 'content-type': 'application/json' })).toMatchObject({ code: 'ESIGNATURE', reason: 'headers' });
    // A key path that would leave the key host is never fetched.
    const before = keys.requests.length;
    const escaping = { ...signedHeaders(body, one, two), 'x-adobe-public-key1-path': '@evil.example/k.pem', 'x-adobe-public-key2-path': '/../k.pem' };
    expect(await refused(body, escaping)).toMatchObject({ code: 'ESIGNATURE', reason: 'key-path' });
    expect(keys.requests.length).toBe(before);

    // Rotation: signature 1 made with a key no longer served there, signature 2 good.
    await expect(verifyEventSignature(body, signedHeaders(body, stranger, two), options)).resolves.toBe(true);
    // Header names in any case, as a fetch Headers object.
    const h = new Headers(Object.entries(signedHeaders(body, one, two)).map(([n, v]) => [n.toUpperCase(), v]));
    await expect(verifyEventSignature(body, h, options)).resolves.toBe(true);
  });

  test('fetchKey supplies keys instead of a key host; a key host that is down is a transient refusal', async () => {
    const body = JSON.stringify(assetEvent());
    const asked = [];
    const fetchKey = async (path) => {
      asked.push(path);
      return path === KEY1_PATH ? one.publicKey : null;
    };
    await expect(verifyEventSignature(body, signedHeaders(body, one, two), { fetchKey })).resolves.toBe(true);
    expect(asked).toEqual([KEY1_PATH]);
    const err = await verifyEventSignature(body, signedHeaders(body, two, two), { fetchKey }).catch((e) => e);
    expect(err).toMatchObject({ code: 'ESIGNATURE', transient: false });

    const down = http.createServer();
    const downUrl = await listen(down);
    await close(down); // nothing listens there any more
    const unavailable = await verifyEventSignature(body, signedHeaders(body, one, two), { keyBaseUrl: downUrl }).catch((e) => e);
    expect(unavailable).toMatchObject({ code: 'ESIGNATURE', reason: 'key-unavailable', transient: true });
  });
});

describe('parseAssetEvent', () => {
  test('reads a real delivery from a string, a Buffer or an object; a batch gives an array', () => {
    const event = assetEvent();
    for (const body of [JSON.stringify(event), Buffer.from(JSON.stringify(event)), event]) {
      expect(parseAssetEvent(body)).toEqual({
        id: event.id,
        eventId: event.event_id,
        source: 'acct:aem-p142461-e1463137@adobe.com',
        type: 'aem.assets.asset.processing_completed',
        time: '2026-01-02T03:04:05.123456789Z',
        programId: '142461',
        environmentId: '1463137',
        assetId: event.data.assetId,
        path: event.data.repositoryMetadata['repo:path'],
        size: 10759203,
        assetState: 'processed',
        data: event.data,
      });
    }
    const batch = parseAssetEvent([assetEvent(), assetEvent({ type: 'aem.assets.asset.deleted' })]);
    expect(batch.map((e) => e.type)).toEqual(['aem.assets.asset.processing_completed', 'aem.assets.asset.deleted']);
  });

  test('unknown aem.assets types pass through; anything else throws EINVALIDEVENT with the reason', () => {
    const unknown = parseAssetEvent(assetEvent({ type: 'aem.assets.folder.created', data: { folder: '/content/dam/x' } }));
    expect(unknown).toMatchObject({ type: 'aem.assets.folder.created', assetId: null, data: { folder: '/content/dam/x' } });

    const invalid = (body) => {
      try {
        parseAssetEvent(body);
      } catch (err) {
        expect(err).toBeInstanceOf(EventError);
        expect(err.code).toBe('EINVALIDEVENT');
        return err.message;
      }
      throw new Error('parsed');
    };
    expect(invalid('')).toBe('The body is empty');
    expect(invalid('{"specversion":')).toMatch(/^The body is not JSON/);
    expect(invalid(assetEvent({ specversion: '0.3' }))).toBe('specversion is "0.3", not "1.0"');
    expect(invalid(assetEvent({ type: 'aem.sites.contentFragment.modified' }))).toMatch(/not an AEM Assets event type/);
    expect(invalid(assetEvent({ source: 'author-p1-e2.adobeaemcloud.com' }))).toMatch(/is not an AEM account/);
    expect(invalid(assetEvent({ id: undefined }))).toBe('id is missing');
    expect(invalid(assetEvent({ data: { repositoryMetadata: {} } }))).toMatch(/data.assetId is missing/);
    expect(invalid([assetEvent(), { specversion: '1.0' }])).toMatch(/^Event 1 of the batch: id is missing/);
  });
});

describe('EventDeduper', () => {
  test('keys on the I/O event id, else source and id; holds at most max', () => {
    const d = new EventDeduper({ max: 3 });
    expect(d).toMatchObject({ max: 3, ttlMs: 86400000, size: 0 });
    const event = parseAssetEvent(assetEvent());
    expect(d.seen(event)).toBe(false);
    expect(d.seen(event)).toBe(true);
    // The same I/O event as delivered (raw attributes) is the same event.
    expect(d.seen({ event_id: event.eventId })).toBe(true);
    // Without an I/O id, the CloudEvents (source, id) pair.
    expect(d.seen({ source: 's', id: '1' })).toBe(false);
    expect(d.seen({ source: 's', id: '1' })).toBe(true);
    expect(d.seen({ source: 't', id: '1' })).toBe(false);
    expect(d.forget({ source: 't', id: '1' })).toBe(true);
    expect(d.seen({ source: 't', id: '1' })).toBe(false);
    for (let i = 0; i < 100; i += 1) d.seen({ source: 'bulk', id: String(i) });
    expect(d.size).toBe(3);
    expect(d.seen(event)).toBe(false); // pushed out long ago
    expect(() => d.seen({ id: 'only-id' })).toThrow(expect.objectContaining({ code: 'EINVALIDOPTIONS' }));
    expect(() => new EventDeduper({ max: 0 })).toThrow(expect.objectContaining({ code: 'EINVALIDOPTIONS' }));
  });
});

/** The webhook on http.createServer and on Express, with what it handed to onEvent. */
async function startReceivers(options = {}) {
  const handled = [];
  const errors = [];
  const common = {
    clientId: CLIENT_ID,
    keyBaseUrl: keys.url,
    onError: (err, context) => errors.push({ message: err.message, stage: context.stage }),
    ...options,
  };
  const onEvent = options.onEvent || (async (event) => {
    handled.push(event);
  });
  const plain = http.createServer(createWebhookHandler({ ...common, onEvent }));
  const app = express();
  app.use('/hook', createWebhookHandler({ ...common, onEvent }));
  // Behind express.raw(): the body arrives as a Buffer already read.
  app.post('/raw-hook', express.raw({ type: '*/*' }), createWebhookHandler({ ...common, onEvent }));
  // Behind express.json() with a verify hook that keeps the raw bytes.
  app.post('/json-hook', express.json({ type: '*/*', verify: (req, res, buf) => { req.rawBody = buf; } }),
    createWebhookHandler({ ...common, onEvent }));
  // Behind express.json() alone: the bytes are gone, and it says so.
  app.post('/lost-hook', express.json({ type: '*/*' }), createWebhookHandler({ ...common, onEvent }));
  const expressServer = http.createServer(app);
  const plainUrl = await listen(plain);
  const expressUrl = await listen(expressServer);
  return {
    handled,
    errors,
    urls: { 'http.createServer': `${plainUrl}/webhook`, express: `${expressUrl}/hook`, 'express.raw': `${expressUrl}/raw-hook`, 'express.json verify': `${expressUrl}/json-hook` },
    lostUrl: `${expressUrl}/lost-hook`,
    close: () => Promise.all([close(plain), close(expressServer)]),
  };
}

describe('createWebhookHandler', () => {
  let receivers;
  beforeEach(async () => {
    receivers = await startReceivers();
  });
  afterEach(async () => {
    await receivers.close();
  });

  test('answers the ?challenge= handshake', async () => {
    for (const url of Object.values(receivers.urls).slice(0, 2)) {
      const res = await fetch(`${url}?challenge=8ec8d794-e0ab-42df-9017-e3dada8e84f7`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ challenge: '8ec8d794-e0ab-42df-9017-e3dada8e84f7' });
      // A GET that is no handshake, and a value with spaces or controls, are not echoed.
      expect((await fetch(url)).status).toBe(400);
      expect((await fetch(`${url}?challenge=${encodeURIComponent('a b')}`)).status).toBe(400);
    }
  });

  test('verifies, parses and hands each event to onEvent, on http.createServer and every Express mounting', async () => {
    for (const [name, url] of Object.entries(receivers.urls)) {
      const event = assetEvent();
      const body = JSON.stringify(event);
      const res = await post(url, body, signedHeaders(body, one, two, { 'x-adobe-event-id': event.event_id }));
      expect([name, res.status, res.body]).toEqual([name, 200, { delivered: 1, duplicates: 0 }]);
      const got = receivers.handled.at(-1);
      expect(got).toMatchObject({ id: event.id, eventId: event.event_id, assetId: event.data.assetId, assetState: 'processed' });
    }
    expect(receivers.handled).toHaveLength(4);
    // After express.json() alone the signed bytes are gone: a 500 that says what to do (and I/O Events retries).
    const body = JSON.stringify(assetEvent());
    const lost = await post(receivers.lostUrl, body, signedHeaders(body, one, two));
    expect(lost.status).toBe(500);
    expect(lost.body.error.code).toBe('ERAWBODY');
    expect(lost.body.error.message).toMatch(/express\.raw/);
    expect(receivers.handled).toHaveLength(4);
  });

  test('a forged body, a wrong key, a swapped signature and a wrong recipient are each refused with 401', async () => {
    const event = assetEvent();
    const body = JSON.stringify(event);
    const forged = JSON.stringify({ ...event, data: { ...event.data, assetId: 'urn:aaid:aem:00000000-0000-4000-8000-000000000000' } });
    const otherRecipient = JSON.stringify({ ...event, recipient_client_id: 'other', recipientclientid: 'other' });
    const cases = [
      ['forged body', forged, signedHeaders(body, one, two)],
      ['wrong key', body, signedHeaders(body, stranger, stranger)],
      ['swapped signatures', body, signedHeaders(body, two, one)],
      ['wrong recipient', otherRecipient, signedHeaders(otherRecipient, one, two)],
      ['unsigned', body, { 'content-type': 'application/json' }],
    ];
    for (const url of Object.values(receivers.urls)) {
      for (const [name, raw, headers] of cases) {
        const res = await post(url, raw, headers);
        expect([name, res.status, res.body.error.code]).toEqual([name, 401, 'ESIGNATURE']);
      }
    }
    expect(receivers.handled).toHaveLength(0);
    expect(receivers.errors.every((e) => e.stage === 'delivery refused')).toBe(true);
  });

  test('key rotation: signature 1 bad, signature 2 good, is accepted', async () => {
    const event = assetEvent();
    const body = JSON.stringify(event);
    const res = await post(receivers.urls['http.createServer'], body, signedHeaders(body, stranger, two));
    expect(res.status).toBe(200);
    expect(receivers.handled.map((e) => e.id)).toEqual([event.id]);
  });

  test('malformed events are a 400 and reach no handler; unknown aem.assets types are delivered as sent', async () => {
    const url = receivers.urls['http.createServer'];
    for (const raw of ['not json', JSON.stringify(assetEvent({ specversion: '0.3' })), JSON.stringify(assetEvent({ type: 'com.example.other' }))]) {
      const res = await post(url, raw, signedHeaders(raw, one, two));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('EINVALIDEVENT');
    }
    expect(receivers.handled).toHaveLength(0);

    const unknown = JSON.stringify(assetEvent({ type: 'aem.assets.asset.something_new' }));
    const res = await post(url, unknown, signedHeaders(unknown, one, two));
    expect(res.status).toBe(200);
    expect(receivers.handled.map((e) => e.type)).toEqual(['aem.assets.asset.something_new']);

    // A batch with one bad event: the good ones are handled, the answer is 400 naming the bad one.
    // (Every event of a batch must name this client: the bad one does too.)
    const batch = JSON.stringify([assetEvent(), { specversion: '1.0', id: 'x', recipient_client_id: CLIENT_ID }, assetEvent()]);
    const mixed = await post(url, batch, signedHeaders(batch, one, two));
    expect(mixed.status).toBe(400);
    expect(mixed.body.delivered).toBe(2);
    expect(mixed.body.error.message).toMatch(/^Event 1 of the batch/);
    expect(receivers.handled).toHaveLength(3);
  });

  test('duplicates (retries, concurrent redeliveries, the same event in a batch) reach onEvent once', async () => {
    const url = receivers.urls.express;
    const fetchedBefore = keys.requests.length;
    const events = [assetEvent(), assetEvent(), assetEvent()];
    const deliveries = [];
    for (const event of events) {
      const body = JSON.stringify(event);
      for (let retry = 0; retry < 3; retry += 1) {
        const extra = { 'x-adobe-event-id': event.event_id, ...(retry ? { 'x-adobe-retry-count': String(retry) } : {}) };
        deliveries.push(post(url, body, signedHeaders(body, one, two, extra)));
      }
    }
    const answers = await Promise.all(deliveries);
    expect(answers.map((a) => a.status)).toEqual(Array(9).fill(200));
    expect(answers.reduce((n, a) => n + a.body.duplicates, 0)).toBe(6);
    // A batch repeating an event already handled, as I/O Events may.
    const batch = JSON.stringify([events[0], assetEvent()]);
    const res = await post(url, batch, signedHeaders(batch, one, two));
    expect(res.body).toEqual({ delivered: 1, duplicates: 1 });
    const ids = receivers.handled.map((e) => e.eventId);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
    // Signature 1 verifies, so only key 1 was fetched: once, shared by concurrent deliveries, then cached.
    expect(keys.requests.slice(fetchedBefore)).toEqual([KEY1_PATH]);
  });

  test('an onEvent that throws answers 500, and the redelivery is handled', async () => {
    await receivers.close();
    let failures = 1;
    const handled = [];
    receivers = await startReceivers({
      onEvent: async (event) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error('database down');
        }
        handled.push(event.id);
      },
    });
    const event = assetEvent();
    const body = JSON.stringify(event);
    const url = receivers.urls['http.createServer'];
    const first = await post(url, body, signedHeaders(body, one, two));
    expect(first.status).toBe(500);
    expect(first.body.error.code).toBe('EHANDLER');
    expect(receivers.errors).toEqual([{ message: 'database down', stage: 'onEvent failed' }]);
    const retry = await post(url, body, signedHeaders(body, one, two, { 'x-adobe-retry-count': '1' }));
    expect(retry.status).toBe(200);
    const again = await post(url, body, signedHeaders(body, one, two, { 'x-adobe-retry-count': '2' }));
    expect(again.body).toEqual({ delivered: 0, duplicates: 1 });
    expect(handled).toEqual([event.id]);
  });

  test('dedupe: false hands every delivery on; a shared EventDeduper spans handlers', async () => {
    const seen = [];
    const onEvent = (event) => { seen.push(event.id); };
    const shared = new EventDeduper({ max: 10 });
    const a = createWebhookHandler({ onEvent, keyBaseUrl: keys.url, dedupe: shared });
    const b = createWebhookHandler({ onEvent, keyBaseUrl: keys.url, dedupe: shared });
    const c = createWebhookHandler({ onEvent, keyBaseUrl: keys.url, dedupe: false });
    const servers = [http.createServer(a), http.createServer(b), http.createServer(c)];
    const urls = await Promise.all(servers.map(listen));
    try {
      const body = JSON.stringify(assetEvent());
      for (const url of urls) await post(url, body, signedHeaders(body, one, two));
      await post(urls[2], body, signedHeaders(body, one, two));
      expect(seen).toHaveLength(3); // once through the shared deduper, twice with none
      expect(shared.size).toBe(1);
    } finally {
      await Promise.all(servers.map(close));
    }
  });

  test('options are checked', () => {
    expect(() => createWebhookHandler({})).toThrow(expect.objectContaining({ code: 'EINVALIDOPTIONS' }));
    expect(() => createWebhookHandler({ onEvent() {}, keyBaseUrl: 'ftp://x' })).toThrow(expect.objectContaining({ code: 'EINVALIDOPTIONS' }));
    expect(() => createWebhookHandler({ onEvent() {}, clientId: 7 })).toThrow(expect.objectContaining({ code: 'EINVALIDOPTIONS' }));
  });
});

test('the README example (examples/asset-events-receiver.js --demo) prints each delivered event once', () => {
  const { execFileSync } = require('child_process');
  const path = require('path');
  const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', 'asset-events-receiver.js'), '--demo'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = out.trim().split('\n').map((line) => JSON.parse(line));
  expect(lines.map((l) => l.type)).toEqual(['aem.assets.asset.processing_completed', 'aem.assets.asset.metadata_updated']);
  expect(lines[0]).toMatchObject({ path: '/content/dam/demo/hero.jpg', state: 'processed' });
});
