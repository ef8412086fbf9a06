'use strict';

// `aem-upload events serve` (docs/assets.md §3, docs/cli.md §4): a webhook
// receiver for AEM's asset events. Each verified, new event is one JSON line
// on stdout and nothing else goes there; refused deliveries are one line on
// stderr (never a body or a header). The receiver itself is the library's
// createWebhookHandler on http.createServer: the same one `upload
// --wait-processed --webhook-port N` runs while it uploads.

const { UsageError, loadEnv } = require('./config');

/** How long in-flight deliveries may finish once the server is told to stop. */
const CLOSE_GRACE_MS = 5000;

function port(value, flag) {
  const n = Number(value);
  if (value === undefined || value === '' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`${flag} must be a port number from 0 to 65535, got '${value}'`);
  }
  return n;
}

function keyBaseUrl(value, flag) {
  if (value === undefined) return undefined;
  let url;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} must be an http(s) URL, got '${value}'`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`${flag} must be an http(s) URL, got '${value}'`);
  return value.replace(/\/+$/, '');
}

/** `http://host:port/` for a bound address (IPv6 in brackets; a wildcard shown as loopback). */
function urlOf(address) {
  let host = address.address;
  if (host === '0.0.0.0' || host === '::') host = host === '::' ? '::1' : '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/`;
}

/**
 * Starts a webhook receiver: createWebhookHandler on http.createServer,
 * bound to `host:port`. Resolves with `{url, port, close()}` once it
 * listens; a port in use or an address that cannot be bound is a UsageError.
 * `onEvent(event)` runs once per verified, new event (a throw answers 500, so
 * that I/O Events delivers it again); `onError(err, context)` hears the rest.
 */
async function startReceiver({ host = '127.0.0.1', port: wanted = 0, clientId, keyBaseUrl: keys, onEvent, onError, flag = '--port' }) {
  const { createWebhookHandler } = require('../../events');
  const handler = createWebhookHandler({
    onEvent,
    onError,
    ...(clientId ? { clientId } : {}),
    ...(keys ? { keyBaseUrl: keys } : {}),
  });
  const server = require('http').createServer(handler); // loaded here: `upload` needs it only with --webhook-port
  // I/O Events gives a delivery 10 s; a receiver that hangs longer gains nothing.
  server.requestTimeout = 30000;
  await new Promise((resolve, reject) => {
    const failed = (err) => {
      server.off('listening', resolve);
      reject(new UsageError(`cannot listen on ${host}:${wanted} (${flag}): ${err.code === 'EADDRINUSE' ? 'the port is in use' : err.message}`));
    };
    server.once('error', failed);
    server.listen(wanted, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const address = server.address();
  let closing = null;
  return {
    url: urlOf(address),
    port: address.port,
    /** Stops accepting; lets deliveries in flight finish (at most CLOSE_GRACE_MS), then closes. */
    close() {
      if (!closing) {
        closing = new Promise((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
      }
      return closing;
    },
  };
}

/** A line on stderr for a refused delivery or a failed handler: the reason, never the body or headers. */
function describeRefusal(err, context) {
  const status = context && context.status ? ` (${context.status})` : '';
  const code = err && err.code ? `${err.code}: ` : '';
  const what = context && context.event ? ` ${context.event.type} ${context.event.id}` : '';
  return `aem-upload: ${(context && context.stage) || 'delivery failed'}${what}${status}: ${code}${err && err.message ? err.message : err}`;
}

/** Writes a line, waiting for a full pipe to drain (so a slow reader slows the answers, not memory). */
function writeLine(stream, line) {
  return new Promise((resolve, reject) => {
    const ok = stream.write(line, (err) => (err ? reject(err) : undefined));
    if (ok) resolve();
    else stream.once('drain', resolve);
  });
}

/**
 * `aem-upload events serve`: runs until SIGINT or SIGTERM, then stops
 * accepting, lets deliveries in flight finish, and resolves 0.
 */
async function serve(opts, io) {
  const env = loadEnv(opts.envFile);
  const clientId = opts.clientId || env.AEM_EVENTS_CLIENT_ID || undefined;
  const keys = keyBaseUrl(opts.keyBaseUrl || env.AEM_EVENTS_KEY_BASE_URL, opts.keyBaseUrl ? '--key-base-url' : 'AEM_EVENTS_KEY_BASE_URL');
  const host = opts.host || '127.0.0.1';
  let stdoutClosed = false;
  // A reader that went away (`| head`): stop printing, keep answering until told to stop.
  io.stdout.on('error', () => { stdoutClosed = true; });

  let stopRequested;
  const stopped = new Promise((resolve) => { stopRequested = resolve; });
  let signals = 0;
  // The first signal closes (deliveries in flight may finish); a second one exits at once.
  const onSignal = () => {
    signals += 1;
    if (signals === 1) stopRequested();
    else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let receiver;
  try {
    receiver = await startReceiver({
      host,
      port: opts.port === undefined ? 0 : port(opts.port, '--port'),
      clientId,
      keyBaseUrl: keys,
      onEvent: async (event) => {
        if (!stdoutClosed) await writeLine(io.stdout, `${JSON.stringify(event)}\n`);
      },
      onError: (err, context) => io.stderr.write(`${describeRefusal(err, context)}\n`),
    });
  } catch (err) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw err;
  }
  io.stderr.write(`aem-upload: listening for asset events on ${receiver.url}; recipient: ${clientId || 'any (no --client-id)'}; `
    + `keys from ${keys || 'https://static.adobeioevents.com'}\n`);
  await stopped;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await receiver.close();
  return 0;
}

module.exports = { serve, startReceiver, describeRefusal, keyBaseUrl, port };
