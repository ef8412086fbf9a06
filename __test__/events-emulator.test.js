'use strict';

// The emulator's asset-event webhooks end to end, through public APIs over
// real sockets: 200 files uploaded with FileSystemUpload (the main entry), the
// emulator delivering processing_completed for each — with injected
// duplicates and reordering, and a receiver that fails the first delivery of
// every fifth event — to createWebhookHandler (aem-upload-rs/events) on
// http.createServer, verifying signatures with the keys the emulator serves
// (keyBaseUrl = its URL). Then metadata_updated and deleted through the
// Assets client, and a key rotation. Completion is awaited with
// emulator.eventsIdle(), never with a clock.

const fs = require('fs');
const http = require('http');
const path = require('path');
const ours = require('..');
const { createWebhookHandler } = require('aem-upload-rs/events');
const { AssetsClient } = require('aem-upload-rs/assets');
const { startEmulator, DEFAULT_AUTHORIZATION } = require('../emulator');
const { tempDir } = require('./helpers/emulator');
const { listen, close } = require('./helpers/http');

const CLIENT_ID = 'events-test-client';
const API_KEY = 'events-test-key';
const FILES = 200;
const FOLDER = '/content/dam/events-test';
const auth = { headers: async () => ({ Authorization: DEFAULT_AUTHORIZATION }) };

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The file index of an event's asset (`f17.txt` → 17), or -1. */
function indexOf(body) {
  const match = /"repo:path":"[^"]*\/f(\d+)\.txt"/.exec(body.toString('utf8'));
  return match ? Number(match[1]) : -1;
}

let emulator;
let server;
let hookUrl;
let handler = null;
const handled = []; // every event onEvent completed
const deliveries = []; // every POST the receiver got: {eventId, retryCount, status}
const failedOnce = new Set();
const handlerErrors = [];

beforeAll(async () => {
  server = http.createServer(async (req, res) => {
    if (req.method !== 'POST') return handler(req, res);
    // The receiver fails (500) the first delivery of every fifth asset's
    // processing_completed; the handler sees the bytes it would have read.
    const body = await readBody(req);
    req.rawBody = body;
    const eventId = req.headers['x-adobe-event-id'];
    const record = { eventId, retryCount: req.headers['x-adobe-retry-count'], type: req.headers['x-adobe-event-code'] };
    deliveries.push(record);
    const index = indexOf(body);
    if (record.type === 'aem.assets.asset.processing_completed' && index % 5 === 0 && !failedOnce.has(eventId)) {
      failedOnce.add(eventId);
      res.statusCode = 500;
      return res.end('try again');
    }
    res.on('finish', () => { record.status = res.statusCode; });
    return handler(req, res);
  });
  hookUrl = `${await listen(server)}/hook`;
  emulator = await startEmulator({
    author: { apiKeys: [API_KEY] },
    events: { clientId: CLIENT_ID, processingDelayMs: 50, retryBackoffMs: 20, maxAttempts: 6, duplicateRate: 0.2, reorderRate: 0.2, seed: 7 },
  });
  handler = createWebhookHandler({
    clientId: CLIENT_ID,
    keyBaseUrl: emulator.url,
    onEvent: async (event) => { handled.push(event); },
    onError: (err, context) => handlerErrors.push({ message: err.message, stage: context.stage }),
  });
  // Registered once the handler can answer: the ?challenge= handshake runs now.
  emulator.configure({ events: { webhookUrl: hookUrl } });
});

afterAll(async () => {
  if (emulator) await emulator.stop();
  if (server) await close(server);
});

function count(events) {
  const counts = new Map();
  for (const e of events) counts.set(e.assetId, (counts.get(e.assetId) || 0) + 1);
  return counts;
}

test('every uploaded file\'s processing_completed reaches onEvent exactly once, through retries, duplicates and reordering', async () => {
  const root = tempDir();
  let result;
  try {
    const names = [];
    for (let i = 0; i < FILES; i += 1) {
      names.push(`f${i}.txt`);
      fs.writeFileSync(path.join(root, `f${i}.txt`), `file ${i}`);
    }
    const options = new ours.FileSystemUploadOptions()
      .withUrl(`${emulator.url}${FOLDER}`)
      .withHttpOptions({ headers: { Authorization: DEFAULT_AUTHORIZATION } })
      .withHttpRetryDelay(10);
    result = await new ours.FileSystemUpload().upload(options, names.map((n) => path.join(root, n)));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  expect(result.totalCompleted).toBe(FILES);

  const events = await emulator.eventsIdle();
  expect(events.registration).toMatchObject({ webhookUrl: hookUrl, status: 'active', challenges: 1 });
  expect(handlerErrors.filter((e) => e.stage !== 'onEvent failed')).toEqual([]);

  // Exactly once per uploaded asset, with the emulator's ids and paths, processed.
  const assets = emulator.state().assets.filter((a) => a.path.startsWith(`${FOLDER}/`));
  expect(assets).toHaveLength(FILES);
  const completed = handled.filter((e) => e.type === 'aem.assets.asset.processing_completed');
  const counts = count(completed);
  expect(counts.size).toBe(FILES);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
  for (const asset of assets) {
    const event = completed.find((e) => e.assetId === asset.assetId);
    expect(event).toMatchObject({ path: asset.path, assetState: 'processed', programId: '1', environmentId: '1' });
    expect(asset.assetState).toBe('processed');
  }

  // The first delivery of every fifth event failed and was retried with x-adobe-retry-count.
  expect(failedOnce.size).toBe(FILES / 5);
  const retried = deliveries.filter((d) => d.retryCount !== undefined);
  expect(retried.length).toBe(FILES / 5);
  expect(new Set(retried.map((d) => d.retryCount))).toEqual(new Set(['1']));
  expect(new Set(retried.map((d) => d.eventId))).toEqual(failedOnce);

  // Duplicates were sent, reached the receiver, were answered 200 and dropped.
  expect(events.duplicatesSent).toBeGreaterThan(0);
  expect(events.reordered).toBeGreaterThan(0);
  expect(deliveries.length).toBe(FILES + FILES / 5 + events.duplicatesSent);
  expect(new Set(deliveries.map((d) => d.eventId)).size).toBe(FILES);
  expect(deliveries.filter((d) => d.status !== undefined && d.status !== 200)).toEqual([]);
  expect(events).toMatchObject({
    published: FILES,
    delivered: FILES,
    failed: 0,
    dropped: 0,
    pending: 0,
    attempts: deliveries.length,
    retries: FILES / 5,
  });
});

test('metadata_updated and deleted, made through the Assets client, reach onEvent once each', async () => {
  const client = new AssetsClient({ url: emulator.url, auth, apiKey: API_KEY, retryDelay: 10 });
  const before = handled.length;
  const ids = await Promise.all([0, 1, 2].map((i) => client.assetIdForPath(`${FOLDER}/f${i}.txt`)));
  for (const [i, id] of ids.entries()) await client.updateMetadata(id, { 'dc:title': `File ${i}` });
  await client.deleteAsset(ids[2]);
  await client.deleteAsset(ids[1]);

  const events = await emulator.eventsIdle();
  expect(events).toMatchObject({ failed: 0, dropped: 0, pending: 0 });
  const fresh = handled.slice(before);
  const updated = fresh.filter((e) => e.type === 'aem.assets.asset.metadata_updated');
  expect([...count(updated).entries()].sort()).toEqual(ids.map((id) => [id, 1]).sort());
  for (const event of updated) {
    const i = ids.indexOf(event.assetId);
    expect(event.data.assetMetadata).toMatchObject({ 'dc:title': `File ${i}`, 'event:created': ['dc:title'] });
  }
  const deleted = fresh.filter((e) => e.type === 'aem.assets.asset.deleted');
  expect(deleted.map((e) => e.assetId).sort()).toEqual([ids[1], ids[2]].sort());
  expect(deleted.map((e) => e.path).sort()).toEqual([`${FOLDER}/f1.txt`, `${FOLDER}/f2.txt`]);
  expect(fresh).toHaveLength(5);
});

test('a rotated key (signature 1 made with a key its path does not serve) is accepted through signature 2', async () => {
  emulator.configure({ events: { invalidSignature1: true, duplicateRate: 0, reorderRate: 0 } });
  const client = new AssetsClient({ url: emulator.url, auth, apiKey: API_KEY, retryDelay: 10 });
  const id = await client.assetIdForPath(`${FOLDER}/f3.txt`);
  const before = handled.length;
  await client.updateMetadata(id, { 'dc:title': 'Rotated' });
  const events = await emulator.eventsIdle();
  expect(events.failed).toBe(0);
  expect(handled.slice(before)).toEqual([
    expect.objectContaining({ type: 'aem.assets.asset.metadata_updated', assetId: id }),
  ]);
  expect(deliveries[deliveries.length - 1].status).toBe(200);
});

test('the README example against the emulator (examples/asset-events-receiver.js --emulator) prints each upload\'s event once', () => {
  const { execFileSync } = require('child_process');
  const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'examples', 'asset-events-receiver.js'), '--emulator'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = out.trim().split('\n').map((line) => JSON.parse(line));
  expect(lines.map((l) => l.path).sort()).toEqual(['/content/dam/demo/hero.jpg', '/content/dam/demo/logo.png', '/content/dam/demo/notes.txt']);
  expect(lines.every((l) => l.type === 'aem.assets.asset.processing_completed' && l.state === 'processed')).toBe(true);
});
