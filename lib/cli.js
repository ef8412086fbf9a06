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
  return config;
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
