'use strict';

/**
 * The `aem-upload` command line. Commands:
 *   emulator   run a local AEM (prints one JSON ready-line, runs until SIGINT/SIGTERM)
 */

const fs = require('fs');
const { parseArgs } = require('util');

const USAGE = `Usage: aem-upload <command> [options]

Commands:
  emulator    Run a local AEM emulator until SIGINT or SIGTERM.
              Prints one JSON line {"url":...,"blobUrl":...} when ready.

Emulator options:
  --port N            AEM port (default 0: a free port)
  --blob-port N       blob-storage port (default 0: a free port)
  --host ADDR         address to bind (default 127.0.0.1)
  --storage MODE      memory | digest | size | dir:PATH (default memory)
  --config FILE       JSON configuration file (flags override it)
  --strict MODE       fail | record (default fail)
  --seed N            fault-injection seed
  --anonymous         accept requests without credentials
  --service-credentials FILE
                      IMS service credentials: a FILE this emulator did not
                      mint (e.g. the Developer Console's) is accepted as is;
                      otherwise fresh ones are minted and written to FILE
                      (mode 600, imsEndpoint pointing here) before the ready line
  --oauth-client FILE same for an OAuth server-to-server client
  --token-lifetime N  lifetime in seconds of the IMS tokens it issues (default 86400)
  -h, --help          show this help
`;

class UsageError extends Error {}

function parsePort(value, flag) {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`${flag} must be a port number from 0 to 65535, got '${value}'`);
  }
  return port;
}

/** Where emulatorConfig() leaves the credentials files to mint once the emulator runs. */
const MINT = Symbol('credentials to mint');

function emulatorConfig(args) {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      'blob-port': { type: 'string' },
      host: { type: 'string' },
      storage: { type: 'string' },
      config: { type: 'string' },
      strict: { type: 'string' },
      seed: { type: 'string' },
      anonymous: { type: 'boolean' },
      'service-credentials': { type: 'string' },
      'oauth-client': { type: 'string' },
      'token-lifetime': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return null;
  let config = {};
  if (values.config) {
    let text;
    try {
      text = fs.readFileSync(values.config, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --config ${values.config}: ${err.message}`);
    }
    try {
      config = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`--config ${values.config} is not JSON: ${err.message}`);
    }
  }
  if (values.port !== undefined) config.port = parsePort(values.port, '--port');
  if (values['blob-port'] !== undefined) config.blobPort = parsePort(values['blob-port'], '--blob-port');
  if (values.host !== undefined) config.host = values.host;
  if (values.storage !== undefined) config.storage = values.storage;
  if (values.strict !== undefined) config.strict = values.strict;
  if (values.seed !== undefined) {
    const seed = Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got '${values.seed}'`);
    config.faults = { ...(config.faults || {}), seed };
  }
  if (values.anonymous) config.auth = { ...(config.auth || {}), anonymous: true };
  const ims = { ...(config.ims || {}) };
  if (values['token-lifetime'] !== undefined) {
    const seconds = Number(values['token-lifetime']);
    if (!Number.isSafeInteger(seconds) || seconds < 1) {
      throw new UsageError(`--token-lifetime must be a whole number of seconds, at least 1, got '${values['token-lifetime']}'`);
    }
    ims.tokenLifetimeSeconds = seconds;
  }
  // Credentials files: registered when they are someone else's, minted after start otherwise.
  const mint = [];
  for (const [flag, kind] of [['service-credentials', 'service'], ['oauth-client', 'oauth']]) {
    const file = values[flag];
    if (file === undefined) continue;
    const existing = readCredentials(file, `--${flag}`);
    if (existing && !mintedByAnEmulator(existing)) {
      ims.credentials = [...(ims.credentials || []), existing];
    } else {
      mint.push({ file, kind });
    }
  }
  if (Object.keys(ims).length > 0) config.ims = ims;
  // Not configuration: carried past startEmulator() without reaching it.
  Object.defineProperty(config, MINT, { value: mint, enumerable: false });
  return config;
}

/** The parsed credentials in `file`, or null when there is no such file. */
function readCredentials(file, flag) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw new UsageError(`cannot read ${flag} ${file}: ${err.message}`);
  }
  try {
    const document = JSON.parse(text);
    if (document === null || typeof document !== 'object' || Array.isArray(document)) throw new Error('not an object');
    return document;
  } catch (err) {
    throw new UsageError(`${flag} ${file} is not a JSON credentials object: ${err.message}`);
  }
}

/**
 * Whether a credentials document came from an emulator (its IMS endpoint is a
 * URL on a loopback address): those are replaced by fresh ones, as their port
 * is gone. Anything else may be a user's real credentials and is never written.
 */
function mintedByAnEmulator(document) {
  const endpoint = (document.integration || document).imsEndpoint;
  try {
    const { protocol, hostname } = new URL(endpoint);
    return (protocol === 'http:' || protocol === 'https:')
      && (hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname));
  } catch {
    return false;
  }
}

/** Writes a secret-bearing document readable by its owner only, replacing any old one whole. */
function writePrivate(file, document) {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
}

async function runEmulator(args, io) {
  const config = emulatorConfig(args);
  if (config === null) {
    io.stdout.write(USAGE);
    return 0;
  }
  const { startEmulator } = require('../emulator');
  // Signal handlers go up before the ready line: a caller may signal as soon
  // as it reads it (the native listeners answer before this thread moves on).
  let stopRequested;
  const stopped = new Promise((resolve) => { stopRequested = resolve; });
  const onSignal = () => stopRequested();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let emulator;
  try {
    emulator = await startEmulator(config);
  } catch (err) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw err;
  }
  try {
    for (const { file, kind } of config[MINT]) {
      writePrivate(file, kind === 'service' ? emulator.createServiceCredentials() : emulator.createOAuthClient());
    }
  } catch (err) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await emulator.stop();
    throw new UsageError(`cannot write credentials: ${err.message}`);
  }
  // Native listeners do not keep Node's event loop alive; this timer does.
  const keepAlive = setInterval(() => {}, 1 << 30);
  io.stdout.write(`${JSON.stringify({ url: emulator.url, blobUrl: emulator.blobUrl })}\n`);
  await stopped;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await emulator.stop();
  clearInterval(keepAlive);
  return 0;
}

/**
 * Runs the CLI; resolves with the exit code.
 * @param {string[]} argv arguments after the program name
 */
async function main(argv, io = { stdout: process.stdout, stderr: process.stderr }) {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'emulator':
        return await runEmulator(rest, io);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError || (err && err.code && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      io.stderr.write(`aem-upload: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err && err.code === 'EINVALIDOPTIONS') {
      io.stderr.write(`aem-upload: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

module.exports = { main, USAGE };
