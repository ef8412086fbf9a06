'use strict';

/**
 * aem-upload-rs/events: AEM asset events as Adobe I/O Events delivers them to
 * a webhook. Parsing, signature verification and deduplication run in the
 * engine; this module adapts them to Node values and HTTP servers. See the
 * README's "Asset events" section.
 */

const native = require('../binding');

const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Verifiers by keyBaseUrl for verifyEventSignature, so keys stay cached between calls. */
const MAX_SHARED_VERIFIERS = 16;
const sharedVerifiers = new Map();
const EMPTY = Buffer.alloc(0);
/** Each EventDeduper's native deduper, so that webhook handlers can share it. */
const nativeDedupers = new WeakMap();

/**
 * A refused event or delivery. `code`: `EINVALIDEVENT` (not an AEM asset
 * event) or `ESIGNATURE` (not proven to come from Adobe I/O Events for this
 * client). `reason` says which check failed (`invalid`, `headers`,
 * `recipient`, `key-path`, `key`, `key-unavailable`, `mismatch`).
 */
class EventError extends Error {
  constructor(message, code, reason) {
    super(message);
    this.name = 'EventError';
    this.code = code;
    this.reason = reason;
  }

  /** Whether the same delivery may verify later (a key could not be fetched now). */
  get transient() {
    return this.reason === 'key-unavailable';
  }

  static fromNative(error) {
    return new EventError(error.message, error.code, error.reason);
  }
}

function optionsError(message) {
  const error = new TypeError(message);
  error.code = 'EINVALIDOPTIONS';
  return error;
}

function isBytes(value) {
  return Buffer.isBuffer(value) || value instanceof Uint8Array || value instanceof ArrayBuffer;
}

function bytesOf(value, what) {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  throw optionsError(`${what} must be a string, Buffer or Uint8Array (the bytes as received)`);
}

/**
 * Parses a CloudEvents 1.0 AEM asset event: a string, Buffer or object; a
 * JSON array (a batch) gives an array. Throws an EventError `EINVALIDEVENT`.
 */
function parseAssetEvent(body) {
  let bytes;
  if (body !== null && typeof body === 'object' && !isBytes(body)) {
    let text;
    try {
      text = JSON.stringify(body);
    } catch (err) {
      throw new EventError(`The event cannot be read as JSON: ${err.message}`, 'EINVALIDEVENT', 'invalid');
    }
    bytes = Buffer.from(text, 'utf8');
  } else {
    bytes = bytesOf(body, 'parseAssetEvent(body)');
  }
  const answer = JSON.parse(native.parseAssetEventJson(bytes));
  if (answer.error) throw EventError.fromNative(answer.error);
  return answer.event;
}

/** Request headers (a Node/Express headers object, a fetch `Headers`, a Map or pairs) as `{name: value}`. */
function normalizeHeaders(headers) {
  const out = {};
  const add = (name, value) => {
    if (value === undefined || value === null) return;
    out[String(name).toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  };
  if (headers === undefined || headers === null) return out;
  if (typeof headers !== 'object') throw optionsError('headers must be an object');
  if (typeof headers.forEach === 'function' && !Array.isArray(headers)) {
    headers.forEach((value, name) => add(name, value)); // Headers, Map
  } else if (Array.isArray(headers)) {
    for (const pair of headers) if (Array.isArray(pair)) add(pair[0], pair[1]);
  } else {
    for (const name of Object.keys(headers)) add(name, headers[name]);
  }
  return out;
}

/** A PEM string from what a `fetchKey` returned ('' for "no such key"). */
function keyText(key) {
  if (key === undefined || key === null || key === '') return '';
  if (typeof key === 'string') return key;
  if (Buffer.isBuffer(key) || key instanceof Uint8Array) return Buffer.from(key).toString('utf8');
  if (typeof key === 'object' && typeof key.export === 'function' && key.type === 'public') {
    return key.export({ type: 'spki', format: 'pem' }).toString(); // a crypto.KeyObject
  }
  throw new TypeError('fetchKey must resolve to a PEM string, a Buffer, a public KeyObject or null');
}

function newVerifier(keyBaseUrl, fetchKey) {
  if (keyBaseUrl !== undefined && keyBaseUrl !== null && typeof keyBaseUrl !== 'string') {
    throw optionsError('keyBaseUrl must be a string URL');
  }
  if (fetchKey !== undefined && fetchKey !== null && typeof fetchKey !== 'function') {
    throw optionsError('fetchKey must be a function (path) => PEM');
  }
  const wrapped = fetchKey ? async (path) => keyText(await fetchKey(path)) : undefined;
  try {
    return new native.NativeEventVerifier(keyBaseUrl || undefined, wrapped);
  } catch (err) {
    throw optionsError(err.message);
  }
}

function sharedVerifier(keyBaseUrl) {
  const id = keyBaseUrl || '';
  let verifier = sharedVerifiers.get(id);
  if (!verifier) {
    verifier = newVerifier(keyBaseUrl);
    if (sharedVerifiers.size >= MAX_SHARED_VERIFIERS) sharedVerifiers.delete(sharedVerifiers.keys().next().value);
    sharedVerifiers.set(id, verifier);
  }
  return verifier;
}

function checkClientId(clientId) {
  if (clientId !== undefined && clientId !== null && (typeof clientId !== 'string' || clientId === '')) {
    throw optionsError('clientId must be a non-empty string');
  }
  return clientId || undefined;
}

/**
 * Verifies an Adobe I/O Events delivery: either digital signature
 * (`x-adobe-digital-signature-1`/`-2`, RSA-SHA256 over `rawBody`) with its
 * public key (`x-adobe-public-key1-path`/`-2-path` on keyBaseUrl, default
 * https://static.adobeioevents.com, or from `fetchKey(path)`), and with
 * `clientId` the events' `recipient_client_id`. Resolves `true`, or rejects
 * with an EventError `ESIGNATURE`.
 */
async function verifyEventSignature(rawBody, headers, options = {}) {
  const { keyBaseUrl, clientId, fetchKey } = options || {};
  const bytes = bytesOf(rawBody, 'verifyEventSignature(rawBody)');
  const verifier = fetchKey ? newVerifier(keyBaseUrl, fetchKey) : sharedVerifier(keyBaseUrl);
  const refused = await verifier.verify(bytes, normalizeHeaders(headers), checkClientId(clientId));
  if (refused) throw EventError.fromNative(refused);
  return true;
}

/** An event's dedupe key parts: the I/O Events id, else source and id. */
function keyParts(event) {
  if (event === null || typeof event !== 'object') {
    throw optionsError('EventDeduper takes an event object (parsed, or as delivered)');
  }
  const text = (v) => (typeof v === 'string' && v !== '' ? v : undefined);
  return [text(event.eventId) || text(event.event_id) || text(event.eventid), text(event.source), text(event.id)];
}

/**
 * Remembers the events already handled: keyed on the I/O Events id
 * (`x-adobe-event-id` / `event_id`) when the event has one, else on
 * (`source`, `id`); at most `max` events, each for `ttlMs`.
 */
class EventDeduper {
  #native;

  constructor(options = {}) {
    const { max = 100000, ttlMs = 86400000 } = options || {};
    if (!Number.isInteger(max) || max < 1 || max > 2 ** 32 - 1) throw optionsError('max must be a positive integer');
    if (typeof ttlMs !== 'number' || !(ttlMs > 0) || !Number.isFinite(ttlMs)) {
      throw optionsError('ttlMs must be a positive number of milliseconds');
    }
    this.max = max;
    this.ttlMs = ttlMs;
    this.#native = new native.NativeEventDeduper(max, ttlMs);
    nativeDedupers.set(this, this.#native);
  }

  #call(method, event) {
    const [eventId, source, id] = keyParts(event);
    try {
      return this.#native[method](eventId, source, id);
    } catch (err) {
      throw optionsError(err.message);
    }
  }

  /** `true` if the event was seen within ttlMs; otherwise `false`, and it is remembered from now. */
  seen(event) {
    return this.#call('seen', event);
  }

  /** Forgets the event (its handling failed), so a redelivery is not a duplicate. */
  forget(event) {
    return this.#call('forget', event);
  }

  /** Events remembered now (at most `max`). */
  get size() {
    return this.#native.size;
  }
}

function send(res, status, body, headers = {}) {
  if (res.headersSent || res.writableEnded) return;
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('x-content-type-options', 'nosniff');
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end(JSON.stringify(body));
}

class HandlerError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function queryChallenge(req) {
  const url = req.originalUrl || req.url || '/';
  const question = url.indexOf('?');
  if (question < 0) return null;
  return new URLSearchParams(url.slice(question + 1)).get('challenge');
}

/**
 * The request's bytes as sent. Signatures cover the exact bytes, so a body
 * parser that ran first must have kept them: `express.raw()` (req.body is a
 * Buffer), `express.text()` (a string), or a `verify` hook that sets
 * `req.rawBody`. After `express.json()` alone they are gone.
 */
async function rawBody(req, maxBytes) {
  const kept = req.rawBody !== undefined ? req.rawBody : req.body;
  if (Buffer.isBuffer(kept)) return kept;
  if (typeof kept === 'string') return Buffer.from(kept, 'utf8');
  if (kept instanceof Uint8Array) return Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength);
  if (req._body === true || req.readableEnded) {
    throw new HandlerError(
      500,
      'ERAWBODY',
      'The raw request body is not available: a body parser (such as express.json()) consumed it, and signatures ' +
        'cover the exact bytes. Mount the webhook with express.raw({ type: "*/*" }), with no parser before it, or ' +
        'keep the bytes in req.rawBody (express.json({ verify: (req, res, buf) => { req.rawBody = buf } })).',
    );
  }
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > maxBytes) {
      throw new HandlerError(413, 'ETOOLARGE', `The body is larger than ${maxBytes} bytes`);
    }
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  }
  return Buffer.concat(chunks, size);
}

function defaultOnError(err, context) {
  const what = context && context.event ? ` for ${context.event.type} ${context.event.id}` : '';
  // Only the message: never the body or the headers of the delivery.
  console.error(`aem-upload-rs/events: ${context && context.stage}${what}: ${err && err.message ? err.message : err}`);
}

/**
 * A webhook receiver for `http.createServer` and Express: answers the
 * `?challenge=` handshake, reads the raw body, verifies its signature, parses
 * it, skips events already handled, and calls `await onEvent(event)` once per
 * new event. Answers 200 (also for duplicates), 401 for a bad signature,
 * 400 for a body that is not an asset event, 503 when a key could not be
 * fetched and 500 when `onEvent` throws (I/O Events then retries, and the
 * failed event is delivered again).
 */
function createWebhookHandler(options) {
  const {
    onEvent,
    clientId,
    keyBaseUrl,
    fetchKey,
    dedupe = true,
    onError = defaultOnError,
    maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
  } = options || {};
  if (typeof onEvent !== 'function') throw optionsError('createWebhookHandler needs onEvent(event)');
  if (typeof onError !== 'function') throw optionsError('onError must be a function');
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw optionsError('maxBodyBytes must be a positive integer');
  const client = checkClientId(clientId);
  const verifier = newVerifier(keyBaseUrl, fetchKey);
  let deduper = null;
  if (dedupe instanceof EventDeduper) deduper = dedupe;
  else if (dedupe === true) deduper = new EventDeduper();
  else if (dedupe && typeof dedupe === 'object') deduper = new EventDeduper(dedupe);
  else if (dedupe !== false) throw optionsError('dedupe must be true, false, an EventDeduper or {max, ttlMs}');
  // Verifies, parses and leaves out events already handled (in the engine).
  const receiver = new native.NativeWebhookReceiver(verifier, client, deduper ? nativeDedupers.get(deduper) : undefined);

  const report = (err, context) => {
    try {
      onError(err, context);
    } catch (ignored) {
      // A failing reporter must not change the answer.
    }
  };

  async function receive(req, res) {
    const query = queryChallenge(req);
    if (req.method === 'GET') {
      const challenge = native.webhookChallenge(query === null ? undefined : query, EMPTY);
      if (challenge) return send(res, 200, { challenge });
      return send(res, 400, {
        error: { code: 'EINVALIDEVENT', message: 'A GET is only the ?challenge= handshake; events come by POST' },
      });
    }
    if (req.method !== 'POST') {
      return send(res, 405, { error: { code: 'EINVALIDEVENT', message: 'Events come by POST' } }, { allow: 'GET, POST' });
    }
    const body = await rawBody(req, maxBodyBytes);
    const challenge = native.webhookChallenge(query === null ? undefined : query, body);
    if (challenge) return send(res, 200, { challenge });

    const reception = JSON.parse(await receiver.receive(body, normalizeHeaders(req.headers)));
    if (reception.error) {
      report(EventError.fromNative(reception.error), { stage: 'delivery refused', status: reception.status });
      return send(res, reception.status, { error: reception.error });
    }
    const { events, keys, duplicates, invalid } = reception;
    const failedKeys = [];
    for (let i = 0; i < events.length; i += 1) {
      try {
        await onEvent(events[i]);
      } catch (err) {
        failedKeys.push(keys[i]);
        report(err, { stage: 'onEvent failed', event: events[i] });
      }
    }
    // 500 when onEvent failed (the failed events are forgotten, so I/O Events'
    // retry reaches onEvent), 400 when some event is invalid, else 200.
    const status = receiver.settle(failedKeys, invalid.length);
    const delivered = events.length - failedKeys.length;
    if (failedKeys.length > 0) {
      return send(res, status, {
        error: { code: 'EHANDLER', message: `onEvent failed for ${failedKeys.length} of ${events.length} events` },
        delivered,
        duplicates,
      });
    }
    if (invalid.length > 0) {
      report(EventError.fromNative(invalid[0]), { stage: 'invalid event', status });
      return send(res, status, { error: invalid[0], invalid, delivered, duplicates });
    }
    return send(res, status, { delivered, duplicates });
  }

  return function webhookHandler(req, res) {
    return receive(req, res).catch((err) => {
      const status = err instanceof HandlerError ? err.status : 500;
      const code = err instanceof HandlerError ? err.code : 'EUNKNOWN';
      report(err, { stage: 'webhook failed', status });
      send(res, status, { error: { code, message: err instanceof HandlerError ? err.message : 'Internal error' } });
    });
  };
}

module.exports = {
  parseAssetEvent,
  verifyEventSignature,
  EventDeduper,
  EventError,
  createWebhookHandler,
};
