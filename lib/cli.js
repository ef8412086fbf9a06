'use strict';

/**
 * The `aem-upload` command line (docs/cli.md): argument parsing with
 * commander; the work lives in lib/cli/ and in the emulator.
 *   upload     upload files, folders and URLs to AEM
 *   plan       split an upload into shard manifests for several machines
 *   assets     the Assets Author API (metadata, delete, jobs)
 *   events     a webhook receiver for AEM's asset events
 *   emulator   run a local AEM
 */

const fs = require('fs');
const { parseArgs } = require('util');
const { Command, CommanderError, Option } = require('commander');
const { UsageError } = require('./cli/config');

const EMULATOR_USAGE = `Usage: aem-upload emulator [options]

Run a local AEM emulator until SIGINT or SIGTERM.
Prints one JSON line {"url":...,"blobUrl":...} when ready.

Options:
  --port N            AEM port (default 0: a free port)
  --blob-port N       blob-storage port (default 0: a free port)
  --host ADDR         address to bind (default 127.0.0.1)
  --storage MODE      memory | digest | size | dir:PATH (default memory)
  --config FILE       JSON configuration file (flags override it)
  --strict MODE       fail | record (default fail)
  --profile NAME      real-link | real-link-throttled: AEM and blob storage at
                      the latency and bandwidth of a real link, and AEM's
                      429s beyond 16 concurrent requests (docs/protocol.md)
  --seed N            fault-injection seed
  --anonymous         accept requests without credentials
  --service-credentials FILE
                      IMS service credentials: a FILE this emulator did not
                      mint (e.g. the Developer Console's) is accepted as is;
                      otherwise fresh ones are minted and written to FILE
                      (mode 600, imsEndpoint pointing here) before the ready line
  --oauth-client FILE same for an OAuth server-to-server client
  --token-lifetime N  lifetime in seconds of the IMS tokens it issues (default 86400)
  --webhook-url URL   deliver asset events to URL as Adobe I/O Events does
                      (signed with keys served here: keyBaseUrl = this URL)
  --webhook-client-id ID
                      the events' recipient client id (default aem-emulator-events)
  -h, --help          show this help
`;
const USAGE = EMULATOR_USAGE;


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
      profile: { type: 'string' },
      seed: { type: 'string' },
      anonymous: { type: 'boolean' },
      'service-credentials': { type: 'string' },
      'oauth-client': { type: 'string' },
      'token-lifetime': { type: 'string' },
      'webhook-url': { type: 'string' },
      'webhook-client-id': { type: 'string' },
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
  if (values.profile !== undefined) config.profile = values.profile;
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
  if (values['webhook-url'] !== undefined || values['webhook-client-id'] !== undefined) {
    const events = { ...(config.events || {}) };
    if (values['webhook-url'] !== undefined) {
      if (!/^https?:\/\/[^/]/.test(values['webhook-url'])) {
        throw new UsageError(`--webhook-url must be an http:// or https:// URL, got '${values['webhook-url']}'`);
      }
      events.webhookUrl = values['webhook-url'];
    }
    if (values['webhook-client-id'] !== undefined) events.clientId = values['webhook-client-id'];
    config.events = events;
  }
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
    io.stdout.write(EMULATOR_USAGE);
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

const collect = (value, previous) => previous.concat([value]);

const UPLOAD_HELP = `
Sources are local files and folders (walked recursively; --no-deep for one
level) and http(s) URLs (streamed from their origin). The target is a full
folder URL, or a DAM path joined to AEM_URL (default TARGET_FOLDER, else
/content/dam).

Configuration: flags, then the environment, then .env in the working
directory (or --env-file): AEM_URL, TARGET_FOLDER; credentials from
AEM_SERVICE_CREDENTIALS_FILE, AEM_IMS_CLIENT_ID + AEM_IMS_CLIENT_SECRET
(+ AEM_IMS_SCOPES, AEM_IMS_ENDPOINT), AEM_BEARER_TOKEN, or AEM_USERNAME +
AEM_PASSWORD (the first set wins); HTTPS_PROXY / HTTP_PROXY / NO_PROXY.

--wait-processed: after the upload, waits until AEM has processed each file
that landed (aem:assetState "processed"), polling its metadata through the
Assets Author API, or, with --webhook-port, hearing the
aem.assets.asset.processing_completed events that Adobe I/O Events delivers
to a webhook registered for this port (files without an event after a minute
are polled too). A file whose processing failed, or that is not processed
within --processed-timeout, is a failed file. The report gives each file's
"processing" ({status, via, seconds}) and the totals with the median and
maximum processing time.

Exit codes: 0 every file uploaded (or skipped by the journal) and, with
--wait-processed, processed; 1 some files failed (or were not processed);
2 bad usage, configuration or credentials (nothing was sent); 130
interrupted (the first Ctrl-C cancels cleanly, a second exits at once).

Examples:
  $ aem-upload upload ./photos --target /content/dam/photos
  $ aem-upload upload https://cdn.example.com/video.mp4 --target /content/dam/videos
  $ aem-upload upload ./archive --target /content/dam/archive --journal archive.journal --report report.json
  $ aem-upload upload ./photos --include '*.jpg' --exclude 'drafts/**' --dry-run
  $ aem-upload upload ./photos --json | jq -c 'select(.event == "fileerror")'
  $ aem-upload upload ./photos --wait-processed --processed-timeout 20m
  $ aem-upload upload ./photos --wait-processed --webhook-port 8080 --events-client-id 0a1b2c…
`;

const PLAN_HELP = `
Walks once and writes DIR/shard-<i>.json manifests that split the files into
N groups of about equal bytes (each folder's files together where possible),
every folder listed in each. Run each shard anywhere with
  aem-upload upload --manifest DIR/shard-<i>.json --journal shard-<i>.journal

Examples:
  $ aem-upload plan ./archive --target /content/dam/archive --shards 4 --out shards
  $ aem-upload upload --manifest shards/shard-$JOB_COMPLETION_INDEX.json --journal shard-$JOB_COMPLETION_INDEX.journal
`;

const ASSETS_HELP = `
Configuration as for upload: AEM_URL and credentials from flags, the
environment or .env; X-Api-Key from --api-key, AEM_API_KEY or
AEM_IMS_CLIENT_ID. Results are JSON on stdout.

Exit codes: 0 done, 1 the call failed (e.g. ENOTFOUND, EPRECONDITIONFAILED,
EJOBFAILED), 2 bad usage, configuration or refused credentials.

Examples:
  $ aem-upload assets metadata get /content/dam/photos/a.jpg
  $ aem-upload assets metadata set /content/dam/photos/a.jpg dc:title="Summer" sku=A-1234
  $ aem-upload assets metadata set urn:aaid:aem:0b1c… --patch ops.json
  $ aem-upload assets delete /content/dam/photos/old.jpg --wait
  $ aem-upload assets job 2f1e… --wait
`;

const EVENTS_HELP = `
Answers the ?challenge= handshake; checks each delivery's digital signature
(x-adobe-digital-signature-1/-2 with the public keys it names) and, with
--client-id, its recipient; drops duplicates (I/O Events delivers at least
once). Each new event is one JSON line on stdout:
  {"id","eventId","source","type","time","programId","environmentId",
   "assetId","path","size","assetState","data"}
Refused deliveries (401 bad signature or recipient, 400 not an asset event)
are one line each on stderr; stdout carries events only. The first line on
stderr says where it listens. SIGINT or SIGTERM: stops accepting, lets
deliveries in flight finish, exits 0.

Register the receiver's public URL (e.g. behind a tunnel or a reverse proxy)
as the webhook of your I/O Events registration for AEM asset events.

Examples:
  $ aem-upload events serve --port 8080 --client-id 0a1b2c…
  $ aem-upload events serve --port 8080 | jq -c 'select(.type == "aem.assets.asset.processing_completed")'
  $ aem-upload events serve --key-base-url http://127.0.0.1:4502   # the emulator's keys
`;

/** Options shared by upload and plan. */
function selectionOptions(command) {
  return command
    .option('-t, --target <folder>', 'target folder: a full URL, or a DAM path joined to AEM_URL')
    .option('--include <glob>', 'upload only matching paths (relative to each source; repeatable)', collect, [])
    .option('--exclude <glob>', 'skip matching paths (repeatable)', collect, [])
    .option('--no-deep', 'only the first level of each folder')
    .option('--max-files <n>', 'refuse more than N files (default: no limit)')
    .option('--env-file <file>', 'read variables from this file instead of ./.env')
    .option('-q, --quiet', 'no progress and no summary');
}

function program(io, exit) {
  const cli = new Command('aem-upload')
    .description('Upload files, folders and URLs to Adobe Experience Manager as a Cloud Service.')
    .version(require('../package.json').version, '-V, --version')
    .showHelpAfterError(false)
    .configureOutput({ writeOut: (t) => io.stdout.write(t), writeErr: (t) => io.stderr.write(t) })
    .exitOverride();

  const upload = selectionOptions(cli.command('upload')
    .description('Upload files, folders and URLs to an AEM folder.')
    .argument('[source...]', 'local files and folders, http(s) URLs'))
    .option('--user <user:password>', 'Basic authentication')
    .option('--token <token>', 'a bearer token (e.g. a local development token)')
    .option('--service-credentials <file>', 'the Developer Console\'s service credentials JSON (exchanged at IMS)')
    .option('--replace', 'replace existing assets')
    .option('--create-version', 'add a version to existing assets')
    .option('--version-label <label>', 'label of the version (with --create-version)')
    .option('--version-comment <comment>', 'comment of the version (with --create-version)')
    .option('--concurrency <n>', 'part uploads in flight (default 5)')
    .option('--retries <n>', 'retries of a failed request (default 3)')
    .option('--retry-delay <ms>', 'first wait before a retry, doubled each time (default 5000)')
    .option('--timeout <ms>', 'fail a request when no byte moves for this long (default 60000)')
    .option('--journal <file>', 'resume: a rerun with the same journal sends only what is not done')
    .option('--manifest <file>', 'upload exactly the entries of a manifest written by `plan`')
    .option('--dry-run', 'walk, name and plan; print source → target per file; send nothing')
    .option('--json', 'NDJSON on stdout: one object per event and a final report')
    .option('--report <file>', 'write the final report as JSON')
    .option('--asset-ids', 'look up each uploaded file\'s asset id for the report')
    .option('--metadata <file.csv>', 'after the upload, write each file\'s CSV row as its metadata (first column: the source path)')
    .option('--api-key <key>', 'X-Api-Key for --asset-ids, --metadata and --wait-processed (default AEM_API_KEY, else AEM_IMS_CLIENT_ID)')
    .option('--wait-processed', 'after the upload, wait until AEM has processed every file (polls aem:assetState, or hears processing_completed events with --webhook-port)')
    .option('--processed-timeout <duration>', 'with --wait-processed: files not processed this long after the upload fail (e.g. 90s, 10m, 1h; default 30m)')
    .option('--webhook-port <n>', 'with --wait-processed: receive processing_completed events on this port (listening before the upload starts)')
    .option('--webhook-host <addr>', 'address the webhook binds (default 127.0.0.1)')
    .option('--events-client-id <id>', 'the webhook refuses events for another recipient (default AEM_EVENTS_CLIENT_ID)')
    .option('--events-key-base-url <url>', 'where the webhook fetches the signing keys (default AEM_EVENTS_KEY_BASE_URL, else https://static.adobeioevents.com)')
    .option('--no-progress', 'no progress output')
    .option('--ca <file>', 'trust this CA certificate (PEM) too')
    .option('--insecure', 'do not verify TLS certificates')
    .addHelpText('after', UPLOAD_HELP)
    .action(async (sources, opts) => exit(await require('./cli/upload').runUpload(sources, opts, io)));

  selectionOptions(cli.command('plan')
    .description('Split an upload into shard manifests, to run on several machines.')
    .argument('<source...>', 'local files and folders, http(s) URLs'))
    .addOption(new Option('--shards <n>', 'number of manifests').makeOptionMandatory())
    .addOption(new Option('--out <dir>', 'folder for shard-<i>.json').makeOptionMandatory())
    .addHelpText('after', PLAN_HELP)
    .action(async (sources, opts) => exit(await require('./cli/upload').runPlan(sources, opts, io)));

  const assets = cli.command('assets')
    .description('Read and change assets through the Assets Author API (metadata, delete, jobs).')
    .addHelpText('after', ASSETS_HELP);
  const assetOptions = (command) => command
    .option('--env-file <file>', 'read variables from this file instead of ./.env')
    .option('--user <user:password>', 'Basic authentication')
    .option('--token <token>', 'a bearer token')
    .option('--service-credentials <file>', 'the Developer Console\'s service credentials JSON (exchanged at IMS)')
    .option('--api-key <key>', 'X-Api-Key (default AEM_API_KEY, else AEM_IMS_CLIENT_ID)')
    .option('--retries <n>', 'retries of a failed request (default 3)')
    .option('--timeout <ms>', 'fail a request when no byte moves for this long (default 60000)');
  const metadata = assets.command('metadata').description('An asset\'s metadata.');
  assetOptions(metadata.command('get')
    .description('Print an asset\'s metadata document (JSON, with its etag).')
    .argument('<asset>', 'an asset id (urn:aaid:aem:…) or a DAM path'))
    .action(async (asset, opts) => exit(await require('./cli/assets').metadataGet(asset, opts, io)));
  assetOptions(metadata.command('set')
    .description('Set metadata: name=value pairs (read-modify-write, no lost update), or a JSON Patch file.')
    .argument('<asset>', 'an asset id (urn:aaid:aem:…) or a DAM path')
    .argument('[pairs...]', 'name=value (JSON values parse: 3, true, ["a","b"]; name= removes)'))
    .option('--patch <file>', 'a JSON Patch document (an array of operations)')
    .option('--if-match <etag>', 'with --patch: apply only to this version (default: the current one)')
    .action(async (asset, pairs, opts) => exit(await require('./cli/assets').metadataSet(asset, pairs, opts, io)));
  assetOptions(assets.command('delete')
    .description('Delete an asset.')
    .argument('<asset>', 'an asset id (urn:aaid:aem:…) or a DAM path'))
    .option('--force', 'delete even if other assets reference it')
    .option('--wait', 'when AEM deletes in a job, wait for the job to finish')
    .option('--wait-timeout <ms>', 'give up waiting after this long')
    .action(async (asset, opts) => exit(await require('./cli/assets').remove(asset, opts, io)));
  assetOptions(assets.command('job')
    .description('A job\'s status (a delete AEM finishes later).')
    .argument('<job>', 'a job id or the location a delete gave'))
    .option('--wait', 'poll until the job finishes')
    .option('--wait-timeout <ms>', 'give up waiting after this long')
    .action(async (job, opts) => exit(await require('./cli/assets').job(job, opts, io)));

  const events = cli.command('events')
    .description('Receive AEM\'s asset events (Adobe I/O Events webhooks).');
  events.command('serve')
    .description('A webhook receiver: prints each verified, new asset event as one JSON line on stdout.')
    .option('--port <n>', 'port to listen on (default 0: a free one, shown on stderr)')
    .option('--host <addr>', 'address to bind (default 127.0.0.1; 0.0.0.0 for every interface)')
    .option('--client-id <id>', 'your Developer Console client id: refuse events for another recipient (default AEM_EVENTS_CLIENT_ID)')
    .option('--key-base-url <url>', 'where the public keys are fetched (default AEM_EVENTS_KEY_BASE_URL, else https://static.adobeioevents.com)')
    .option('--env-file <file>', 'read variables from this file instead of ./.env')
    .addHelpText('after', EVENTS_HELP)
    .action(async (opts) => exit(await require('./cli/events').serve(opts, io)));

  // Its own parser (and messages), as before commander.
  cli.command('emulator')
    .description('Run a local AEM emulator until SIGINT or SIGTERM (see `aem-upload emulator --help`).')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .action(async (args) => exit(await runEmulator(args, io)));

  void upload;
  return cli;
}

/**
 * Runs the CLI; resolves with the exit code.
 * @param {string[]} argv arguments after the program name
 */
async function main(argv, io = { stdout: process.stdout, stderr: process.stderr }) {
  let code = 0;
  const cli = program(io, (c) => { code = c; });
  if (argv.length === 0) {
    io.stderr.write(cli.helpInformation());
    return 2;
  }
  if (argv[0] === 'help' && argv.length === 1) {
    io.stdout.write(cli.helpInformation());
    return 0;
  }
  try {
    await cli.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version print and succeed; anything else is bad usage.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof UsageError || (err && err.code && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      const emulator = argv[0] === 'emulator';
      io.stderr.write(`aem-upload: ${err.message}\n${emulator ? `\n${EMULATOR_USAGE}` : ''}`);
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
