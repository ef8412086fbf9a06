#!/usr/bin/env node
'use strict';

// A webhook receiver for AEM asset events (Adobe I/O Events): it answers the
// registration handshake, verifies each delivery's digital signatures against
// Adobe's public keys, parses the CloudEvents body, drops duplicates, and
// prints one JSON line per new event.
//
//   node examples/asset-events-receiver.js               # listen on $HOST:$PORT (default 127.0.0.1:8080)
//   CLIENT_ID=<your client id> node examples/asset-events-receiver.js
//   node examples/asset-events-receiver.js --demo        # deliver two signed events to itself, then exit
//   node examples/asset-events-receiver.js --emulator    # upload three files to the local AEM emulator,
//                                                        # which delivers their events here, then exit
//
// Register the public URL of this server (behind HTTPS) as the webhook of an
// "AEM Assets" event registration in the Adobe Developer Console. --demo
// plays Adobe's part locally: it makes a key pair, serves the public key the
// way static.adobeioevents.com does, signs events and posts each twice.
// --emulator lets the emulator play it: it signs with keys it serves itself
// (so keyBaseUrl is its URL), and sends every delivery twice.

const crypto = require('crypto');
const http = require('http');
const { createWebhookHandler } = require('../events');

function listen(server, port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    server.listen(port, host, () => resolve(`http://${host}:${server.address().port}`));
  });
}

function receiver({ clientId, keyBaseUrl }) {
  return http.createServer(
    createWebhookHandler({
      clientId, // each event's recipient_client_id must be yours
      keyBaseUrl, // default https://static.adobeioevents.com
      onEvent: async (event) => {
        // Throwing here answers 500, and I/O Events delivers the event again later.
        console.log(JSON.stringify({ type: event.type, assetId: event.assetId, path: event.path, state: event.assetState }));
      },
    }),
  );
}

async function demo() {
  // Adobe's part: a key pair, its public key served at a key path.
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPath = '/prod/keys/pub-key-demo.pem';
  const keyServer = http.createServer((req, res) => {
    if (req.url !== keyPath) return res.writeHead(404).end();
    return res.end(publicKey.export({ type: 'spki', format: 'pem' }));
  });
  const keyBaseUrl = await listen(keyServer, 0);
  const server = receiver({ clientId: 'demo-client', keyBaseUrl });
  const url = await listen(server, 0);

  const challenge = await (await fetch(`${url}/?challenge=${crypto.randomUUID()}`)).json();
  console.error(`handshake answered: ${JSON.stringify(challenge)}`);
  for (const [type, name] of [['aem.assets.asset.processing_completed', 'hero.jpg'], ['aem.assets.asset.metadata_updated', 'hero.jpg']]) {
    const eventId = crypto.randomUUID();
    const body = JSON.stringify({
      specversion: '1.0',
      id: crypto.randomUUID(),
      source: 'acct:aem-p12345-e67890@adobe.com',
      type,
      datacontenttype: 'application/json',
      time: new Date().toISOString(),
      event_id: eventId,
      recipient_client_id: 'demo-client',
      data: {
        assetId: 'urn:aaid:aem:0f7a3c52-9f3e-4a57-8d2e-3c1b6a1f9e10',
        repositoryMetadata: { 'repo:path': `/content/dam/demo/${name}`, 'repo:size': '1024', 'aem:assetState': 'processed' },
      },
    });
    const signature = crypto.sign('sha256', Buffer.from(body), privateKey).toString('base64');
    const headers = {
      'content-type': 'application/cloudevents+json; charset=UTF-8',
      'x-adobe-event-id': eventId,
      'x-adobe-digital-signature-1': signature,
      'x-adobe-digital-signature-2': signature,
      'x-adobe-public-key1-path': keyPath,
      'x-adobe-public-key2-path': keyPath,
    };
    // Delivered twice, as at-least-once delivery may: printed once.
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const res = await fetch(url, { method: 'POST', body, headers });
      console.error(`delivery ${attempt + 1} of ${type}: ${res.status} ${await res.text()}`);
    }
  }
  server.close();
  keyServer.close();
}

async function againstTheEmulator() {
  const fs = require('fs');
  const os = require('os');
  const path = require('path');
  const { FileSystemUpload, FileSystemUploadOptions } = require('..');
  const { startEmulator, DEFAULT_AUTHORIZATION } = require('../emulator');

  const emulator = await startEmulator({ events: { clientId: 'demo-client', duplicateRate: 1 } });
  const server = receiver({ clientId: 'demo-client', keyBaseUrl: emulator.url });
  const url = await listen(server, 0);
  emulator.configure({ events: { webhookUrl: url } }); // registers it: the handshake runs first
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asset-events-demo-'));
  try {
    const files = ['hero.jpg', 'logo.png', 'notes.txt'].map((name) => {
      fs.writeFileSync(path.join(dir, name), `the bytes of ${name}`);
      return path.join(dir, name);
    });
    const options = new FileSystemUploadOptions()
      .withUrl(`${emulator.url}/content/dam/demo`)
      .withHttpOptions({ headers: { Authorization: DEFAULT_AUTHORIZATION } });
    await new FileSystemUpload().upload(options, files);
    // Each file is processed, then its processing_completed is delivered twice: printed once each.
    const events = await emulator.eventsIdle();
    console.error(`the emulator sent ${events.attempts} deliveries of ${events.published} events`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    server.close();
    await emulator.stop();
  }
}

if (process.argv.includes('--emulator')) {
  againstTheEmulator().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
} else if (process.argv.includes('--demo')) {
  demo().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  const port = Number(process.env.PORT || 8080);
  listen(receiver({ clientId: process.env.CLIENT_ID || undefined }), port, process.env.HOST || '127.0.0.1').then((url) => {
    console.error(`listening on ${url}`);
  });
}
