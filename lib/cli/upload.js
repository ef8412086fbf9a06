'use strict';

// `aem-upload upload <source...>` (docs/cli.md §2) and `aem-upload plan`
// (§3): the library's FileSystemUpload planning and transfer, driven from
// flags, the environment and .env, with progress, NDJSON, reports, dry runs,
// journals, manifests and clean cancellation.

const fs = require('fs');
const path = require('path');
const FileSystemUpload = require('../filesystem-upload');
const FileSystemUploadOptions = require('../filesystem-upload-options');
const {
  UsageError, loadEnv, integer, duration, targetUrl, agentFor,
} = require('./config');
const { authProvider } = require('./credentials');
const { planUpload, shard, readManifest, planOfManifest } = require('./plan');
const { Output, shown } = require('./output');
const { readMetadataCsv, matchRows, afterUpload } = require('./after-upload');
const processing = require('./processing');
const events = require('./events');

/** How long --wait-processed waits by default (large files can take AEM many minutes). */
const DEFAULT_PROCESSED_TIMEOUT_MS = 30 * 60 * 1000;

/** Codes that mean the call could not start: configuration or credentials (exit 2). */
const SETUP_CODES = new Set(['EINVALIDOPTIONS', 'ENOTAUTHORIZED', 'EFORBIDDEN', 'ERR_INVALID_URL']);

/** FileSystemUploadOptions from the flags and the environment. */
function uploadOptions(opts, env, folderUrl) {
  const options = new FileSystemUploadOptions()
    .withUrl(folderUrl)
    .withDeepUpload(opts.deep !== false)
    .withHttpOptions({ agent: agentFor(folderUrl, opts, env) });
  const auth = authProvider(opts, env);
  if (auth) options.withAuth(auth);
  const concurrency = integer(opts.concurrency, '--concurrency', { min: 1 });
  const retries = integer(opts.retries, '--retries');
  const retryDelay = integer(opts.retryDelay, '--retry-delay');
  const timeout = integer(opts.timeout, '--timeout', { min: 1 });
  if (concurrency !== undefined) options.withMaxConcurrent(concurrency);
  if (retries !== undefined) options.withHttpRetryCount(retries);
  if (retryDelay !== undefined) options.withHttpRetryDelay(retryDelay);
  if (timeout !== undefined) options.withHttpRequestTimeout(timeout);
  const fileOptions = {};
  if (opts.replace) fileOptions.replace = true;
  if (opts.createVersion) fileOptions.createVersion = true;
  if (opts.versionLabel) fileOptions.versionLabel = opts.versionLabel;
  if (opts.versionComment) fileOptions.versionComment = opts.versionComment;
  if ((opts.versionLabel || opts.versionComment) && !opts.createVersion) {
    throw new UsageError('--version-label and --version-comment need --create-version');
  }
  if (opts.replace && opts.createVersion) throw new UsageError('--replace and --create-version exclude each other');
  options.withUploadFileOptions(fileOptions);
  if (opts.journal) options.withJournal(path.resolve(opts.journal));
  return options;
}

/** The report (docs/cli.md §2): per file and totals, sources and targets as paths. */
function buildReport(folderUrl, started, entries, outcomes) {
  const totals = { files: entries.length, uploaded: 0, failed: 0, skipped: 0, cancelled: 0, bytes: 0 };
  const files = entries.map((entry, i) => {
    const outcome = outcomes[i] || { status: 'cancelled' };
    totals[outcome.status] += 1;
    const size = outcome.size !== undefined ? outcome.size : entry.size;
    if (outcome.status === 'uploaded') totals.bytes += size || 0;
    const file = { source: shown(entry.source), target: entry.target, size, status: outcome.status, retries: outcome.retries || 0 };
    if (outcome.error) file.error = { code: outcome.error.code, message: outcome.error.message };
    return file;
  });
  return {
    target: shown(folderUrl),
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    totals,
    files,
  };
}

function writeReport(file, report) {
  if (!file) return;
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** How the run shows progress. */
function progressMode(opts, io) {
  if (opts.quiet || opts.progress === false || opts.json) return 'none';
  return io.stderr.isTTY ? 'bar' : 'lines';
}

/**
 * Cancels on the first SIGINT/SIGTERM; exits at once on the second.
 * Returns a function that removes the handlers.
 */
function onInterrupt(cancel) {
  let count = 0;
  const handler = () => {
    count += 1;
    if (count === 1) cancel();
    else process.exit(130);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/**
 * --wait-processed and its flags, checked before anything is sent:
 * `{timeoutMs, webhook: {host, port, clientId, keyBaseUrl} | null}`, or null.
 */
function processingOptions(opts, env) {
  const dependent = [['processedTimeout', '--processed-timeout'], ['webhookPort', '--webhook-port'], ['webhookHost', '--webhook-host'],
    ['eventsClientId', '--events-client-id'], ['eventsKeyBaseUrl', '--events-key-base-url']];
  if (!opts.waitProcessed) {
    const given = dependent.find(([key]) => opts[key] !== undefined);
    if (given) throw new UsageError(`${given[1]} needs --wait-processed`);
    return null;
  }
  const timeoutMs = opts.processedTimeout !== undefined ? duration(opts.processedTimeout, '--processed-timeout') : DEFAULT_PROCESSED_TIMEOUT_MS;
  if (opts.webhookPort === undefined) {
    const given = dependent.slice(2).find(([key]) => opts[key] !== undefined);
    if (given) throw new UsageError(`${given[1]} needs --webhook-port (without it, --wait-processed polls aem:assetState)`);
    // Polling reads the Assets Author API, which refuses a request without
    // X-Api-Key: say so now, not after every file has been sent.
    if (!(opts.apiKey || env.AEM_API_KEY || env.AEM_IMS_CLIENT_ID)) {
      throw new UsageError('--wait-processed polls the Assets Author API, which needs an X-Api-Key: '
        + 'give --api-key (or AEM_API_KEY), or hear the events with --webhook-port');
    }
    return { timeoutMs, webhook: null };
  }
  return {
    timeoutMs,
    webhook: {
      port: events.port(opts.webhookPort, '--webhook-port'),
      host: opts.webhookHost || '127.0.0.1',
      clientId: opts.eventsClientId || env.AEM_EVENTS_CLIENT_ID || undefined,
      keyBaseUrl: events.keyBaseUrl(opts.eventsKeyBaseUrl || env.AEM_EVENTS_KEY_BASE_URL,
        opts.eventsKeyBaseUrl ? '--events-key-base-url' : 'AEM_EVENTS_KEY_BASE_URL'),
    },
  };
}

const secondsText = (s) => (s < 60 ? `${s < 10 ? s.toFixed(1) : Math.round(s)}s` : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`);

/** The closing line about processing (stderr), unless --quiet. */
function processingSummary(io, report, quiet) {
  const p = report.processing;
  if (quiet || !p) return;
  const times = p.medianSeconds === null ? '' : ` (median ${secondsText(p.medianSeconds)}, max ${secondsText(p.maxSeconds)})`;
  const failed = p.failed ? `, ${p.failed} not processed` : '';
  io.stderr.write(`aem-upload: processing: ${p.processed} of ${p.files} file${p.files === 1 ? '' : 's'} processed${times}${failed}\n`);
}

async function runUpload(sources, opts, io) {
  const env = loadEnv(opts.envFile);
  const waitFor = processingOptions(opts, env);
  const manifest = opts.manifest ? readManifest(opts.manifest) : null;
  if (!manifest && !sources.length) throw new UsageError('nothing to upload: give files, folders or URLs, or --manifest FILE');
  if (manifest && sources.length) throw new UsageError('--manifest takes no sources: they are in the manifest');
  const folderUrl = targetUrl(opts.target || (manifest && manifest.target), env);
  const options = uploadOptions(opts, env, folderUrl);
  const maxFiles = opts.maxFiles !== undefined ? integer(opts.maxFiles, '--max-files', { min: 1 }) : 0xffffffff;
  const output = new Output(io, { json: !!opts.json, quiet: !!opts.quiet, progress: progressMode(opts, io) });

  const plan = manifest
    ? planOfManifest(manifest, new URL(folderUrl).origin, options.getUploadFileOptions())
    : await planUpload(sources, options, { include: opts.include, exclude: opts.exclude, maxFiles });
  for (const warning of plan.warnings || []) output.failure(`skipped: ${warning}`);
  const started = Date.now();
  // --metadata: each CSV row matched to a planned file now, so a dry run shows the misses too.
  let rowOf = null;
  if (opts.metadata) {
    const roots = sources.filter((s) => !/^https?:\/\//i.test(s)).map((s) => path.resolve(s));
    const matched = matchRows(readMetadataCsv(opts.metadata), plan.entries, roots);
    rowOf = matched.rowOf;
    for (const row of matched.unmatched) output.failure(`--metadata row ${row} matches no file of this upload`);
  }

  if (opts.dryRun) {
    const outcomes = plan.entries.map(() => null);
    for (const entry of plan.entries) {
      if (opts.json) output.event({ event: 'plan', source: shown(entry.source), target: entry.target, size: entry.size });
      else io.stdout.write(`${shown(entry.source)} → ${entry.target}\n`);
    }
    const report = buildReport(folderUrl, started, plan.entries, outcomes.map(() => ({ status: 'skipped' })));
    report.totals = { files: plan.entries.length, uploaded: 0, failed: 0, skipped: 0, cancelled: 0, bytes: plan.entries.reduce((s, e) => s + (e.size || 0), 0) };
    report.files.forEach((f) => { f.status = 'planned'; });
    report.dryRun = true;
    output.event({ event: 'report', ...report });
    writeReport(opts.report, report);
    output.summary(report, { dryRun: true });
    return 0;
  }

  // Where each file stands, by decoded target path (several sources may share one).
  const byTarget = new Map();
  plan.entries.forEach((entry, i) => {
    const list = byTarget.get(entry.target) || [];
    list.push(i);
    byTarget.set(entry.target, list);
  });
  const outcomes = new Array(plan.entries.length).fill(null);
  const retries = new Uint32Array(plan.entries.length);
  // When each file started and landed in this run (--wait-processed's times).
  const times = new Array(plan.entries.length).fill(null);
  const startedAt = new Map();
  const settle = (payload, outcome) => {
    const list = byTarget.get(payload.targetFile) || [];
    const i = list.find((k) => outcomes[k] === null);
    if (i === undefined) return null;
    outcomes[i] = outcome;
    return i;
  };

  const upload = new FileSystemUpload();
  const errorOf = (payload) => (payload.errors && payload.errors[0] ? { code: payload.errors[0].code, message: payload.errors[0].message } : undefined);
  // Events become NDJSON lines with --json only; without it, nothing is built
  // per file that nobody prints (thousands of files, every run).
  const forward = (name, payload) => {
    if (!output.json) return;
    const event = { event: name, ...payload };
    if (payload.errors) event.errors = payload.errors.map((e) => ({ code: e.code, message: e.message }));
    output.event(event);
  };
  upload.on('fileuploadstart', (p) => {
    output.begin(plan.entries.length, plan.entries.reduce((s, e) => s + (e.size || 0), 0));
    forward('fileuploadstart', { fileCount: p.fileCount, totalSize: p.totalSize, directoryCount: p.directoryCount });
  });
  upload.on('foldercreated', (p) => forward('foldercreated', p));
  // Start and progress events cross from the engine only while listened to:
  // listen when a line, a display or --wait-processed's times use them.
  if (output.json || waitFor) {
    upload.on('filestart', (p) => {
      if (!startedAt.has(p.targetFile)) startedAt.set(p.targetFile, Date.now());
      forward('filestart', p);
    });
  }
  if (output.json || output.progress !== 'none') {
    upload.on('fileprogress', (p) => {
      output.progressed(p.targetFile, p.transferred);
      forward('fileprogress', p);
    });
  }
  upload.on('fileend', (p) => {
    const i = settle(p, { status: 'uploaded', size: p.fileSize });
    if (i !== null) times[i] = { started: startedAt.get(p.targetFile) || Date.now(), ended: Date.now() };
    output.finished(p.targetFile, p.fileSize, false);
    forward('fileend', p);
  });
  upload.on('fileerror', (p) => {
    const i = settle(p, { status: 'failed', error: errorOf(p) });
    output.finished(p.targetFile, p.fileSize, true);
    const error = errorOf(p) || { code: 'EUNKNOWN', message: 'failed' };
    output.failure(`failed: ${i === null ? p.targetFile : `${shown(plan.entries[i].source)} → ${p.targetFile}`}: ${error.code} ${error.message}`);
    forward('fileerror', p);
  });
  upload.on('filecancelled', (p) => {
    settle(p, { status: 'cancelled', error: errorOf(p) });
    output.finished(p.targetFile, p.fileSize, false);
    forward('filecancelled', p);
  });

  // --wait-processed with a webhook: listening before the first file is sent, so no event is missed.
  const heard = waitFor && waitFor.webhook ? new processing.EventLog() : null;
  let receiver = null;
  if (heard) {
    receiver = await events.startReceiver({
      ...waitFor.webhook,
      flag: '--webhook-port',
      onEvent: (event) => heard.record(event),
      onError: (err, context) => output.failure(events.describeRefusal(err, context).replace(/^aem-upload: /, 'webhook: ')),
    });
    // Port 0 picks a free port: the one place where the user needs to be told which.
    if (waitFor.webhook.port === 0 && !opts.quiet && !opts.json) io.stderr.write(`aem-upload: listening for processing events on ${receiver.url}\n`);
  }

  let interrupted = false;
  const stopWaiting = new AbortController();
  const release = onInterrupt(() => {
    interrupted = true;
    upload.cancel();
    stopWaiting.abort();
  });
  try {
    let result;
    try {
      result = await upload.uploadPlanned(options, plan, { onSettled: (i, n) => { retries[i] = n; } });
    } catch (err) {
      output.end();
      // Nothing was sent for any file: each is reported failed with the reason, and a setup
      // problem (credentials, options) is a usage error.
      const error = { code: (err && err.code) || 'EUNKNOWN', message: (err && err.message) || String(err) };
      const report = buildReport(folderUrl, started, plan.entries, plan.entries.map(() => ({ status: 'failed', error })));
      report.errors = [error];
      output.event({ event: 'report', ...report });
      writeReport(opts.report, report);
      if (err && SETUP_CODES.has(err.code)) throw new UsageError(`${err.code}: ${err.message}`);
      throw err;
    }
    output.end();
    // Files with a result but no event were completed by an earlier run (the journal).
    for (const entry of result.detailedResult) {
      if (!entry.result || entry.result.errors) continue;
      const target = entry.result.targetFile;
      const list = byTarget.get(target) || [];
      for (const k of list) if (outcomes[k] === null) outcomes[k] = { status: 'skipped', size: entry.fileSize };
    }
    outcomes.forEach((outcome, i) => { if (outcome) outcome.retries = retries[i]; });
    const report = buildReport(folderUrl, started, plan.entries, outcomes);
    if (result.errors.length && !interrupted) report.errors = result.errors.map((e) => ({ code: e.code, message: e.message }));
    let metadataFailed = 0;
    let notProcessed = 0;
    let assetsClient = null;
    const assetsClientOf = () => {
      const { clientFor } = require('./assets');
      // The upload's provider: its token serves the Author API too.
      assetsClient = assetsClient || clientFor(opts, { ...env, AEM_URL: env.AEM_URL || new URL(folderUrl).origin }, options.getAuth());
      return assetsClient;
    };
    if (!interrupted && (opts.assetIds || rowOf)) {
      const client = assetsClientOf();
      metadataFailed = await afterUpload(client, report, { assetIds: !!opts.assetIds, rowOf });
      for (const file of report.files.filter((f) => f.metadataError)) {
        output.failure(`metadata not written: ${file.source} → ${file.target}: ${file.metadataError.code} ${file.metadataError.message}`);
      }
      report.seconds = (Date.now() - started) / 1000;
    }
    if (waitFor && !interrupted) {
      notProcessed = await waitForProcessing({
        client: assetsClientOf(), report, times, heard, waitFor, signal: stopWaiting.signal, output, opts, io,
      });
      report.seconds = (Date.now() - started) / 1000;
    }
    release();
    if (receiver) await receiver.close();
    output.event({ event: 'report', ...report });
    writeReport(opts.report, report);
    output.summary(report, { interrupted });
    processingSummary(io, report, !!opts.quiet);
    if (interrupted) return 130;
    // Refused credentials fail every file at its first request: that is bad configuration, not failed files.
    const refused = report.files.length && report.totals.uploaded === 0 && report.totals.skipped === 0
      && report.files.every((f) => f.error && (f.error.code === 'ENOTAUTHORIZED' || f.error.code === 'EFORBIDDEN'));
    const setupFailure = result.errors.find((e) => SETUP_CODES.has(e.code));
    if ((setupFailure || refused) && report.totals.uploaded === 0) {
      const error = setupFailure || report.files[0].error;
      io.stderr.write(`aem-upload: ${error.code}: ${error.message} (check the credentials and the target)\n`);
      return 2;
    }
    return report.totals.failed || report.totals.cancelled || result.errors.length || metadataFailed || notProcessed ? 1 : 0;
  } finally {
    // Also when something above threw: the receiver must not keep the process alive.
    release();
    if (receiver) await receiver.close();
  }
}

/**
 * --wait-processed: waits for the files that landed, with a status line every
 * 5 s (not with --quiet or --json), each file's outcome as NDJSON
 * (`fileprocessed` / `fileprocessingerror`) and each failure on stderr.
 * Resolves with how many files were not processed.
 */
async function waitForProcessing({ client, report, times, heard, waitFor, signal, output, opts, io }) {
  const indices = report.files.map((f, i) => i).filter((i) => report.files[i].status === 'uploaded' || report.files[i].status === 'skipped');
  let settled = 0;
  let failed = 0;
  const timer = !opts.quiet && !opts.json && indices.length
    ? setInterval(() => io.stderr.write(`aem-upload: waiting for processing: ${settled - failed}/${indices.length} processed, ${failed} not processed\n`), 5000)
    : null;
  output.event({ event: 'processingstart', files: indices.length, via: heard ? 'webhook' : 'poll' });
  try {
    return await processing.waitProcessed({
      client,
      report,
      indices,
      times,
      events: heard,
      timeoutMs: waitFor.timeoutMs,
      signal,
      onSettled: (i) => {
        const file = report.files[i];
        const p = file.processing;
        settled += 1;
        const base = { source: file.source, target: file.target, ...(file.assetId ? { assetId: file.assetId } : {}) };
        if (p.status === 'processed') {
          output.event({ event: 'fileprocessed', ...base, via: p.via, ...(p.seconds !== undefined ? { seconds: p.seconds } : {}) });
          return;
        }
        failed += 1;
        output.event({ event: 'fileprocessingerror', ...base, error: p.error });
        if (p.error.code !== 'EUSERCANCELLED') output.failure(`not processed: ${file.source} → ${file.target}: ${p.error.code} ${p.error.message}`);
      },
    });
  } finally {
    if (timer) clearInterval(timer);
  }
}

async function runPlan(sources, opts, io) {
  const env = loadEnv(opts.envFile);
  if (!sources.length) throw new UsageError('nothing to plan: give files, folders or URLs');
  const count = integer(opts.shards, '--shards', { min: 1 });
  if (!opts.out) throw new UsageError('--out DIR is required');
  const folderUrl = targetUrl(opts.target, env);
  const options = uploadOptions({ ...opts, journal: undefined }, env, folderUrl);
  const maxFiles = opts.maxFiles !== undefined ? integer(opts.maxFiles, '--max-files', { min: 1 }) : 0xffffffff;
  const plan = await planUpload(sources, options, { include: opts.include, exclude: opts.exclude, maxFiles });
  // Sources are kept absolute: a shard runs from any working directory.
  const manifests = shard(plan, count, opts.target || env.TARGET_FOLDER || folderUrl);
  fs.mkdirSync(opts.out, { recursive: true });
  manifests.forEach((m, i) => fs.writeFileSync(path.join(opts.out, `shard-${i}.json`), `${JSON.stringify(m, null, 1)}\n`));
  if (!opts.quiet) {
    for (const [i, m] of manifests.entries()) {
      const bytes = m.files.reduce((s, f) => s + (f.size || 0), 0);
      io.stderr.write(`aem-upload: ${path.join(opts.out, `shard-${i}.json`)}: ${m.files.length} files, ${bytes} bytes\n`);
    }
  }
  return 0;
}

module.exports = { runUpload, runPlan };
