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
  UsageError, loadEnv, integer, targetUrl, authorization, agentFor,
} = require('./config');
const { planUpload, shard, readManifest, planOfManifest } = require('./plan');
const { Output, shown } = require('./output');

/** Codes that mean the call could not start: configuration or credentials (exit 2). */
const SETUP_CODES = new Set(['EINVALIDOPTIONS', 'ENOTAUTHORIZED', 'EFORBIDDEN', 'ERR_INVALID_URL']);

/** FileSystemUploadOptions from the flags and the environment. */
function uploadOptions(opts, env, folderUrl) {
  const headers = {};
  const auth = authorization(opts, env);
  if (auth) headers.Authorization = auth;
  const options = new FileSystemUploadOptions()
    .withUrl(folderUrl)
    .withDeepUpload(opts.deep !== false)
    .withHttpOptions({ headers, agent: agentFor(folderUrl, opts, env) });
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

async function runUpload(sources, opts, io) {
  const env = loadEnv(opts.envFile);
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
  const settle = (payload, outcome) => {
    const list = byTarget.get(payload.targetFile) || [];
    const i = list.find((k) => outcomes[k] === null);
    if (i === undefined) return null;
    outcomes[i] = outcome;
    return i;
  };

  const upload = new FileSystemUpload();
  const errorOf = (payload) => (payload.errors && payload.errors[0] ? { code: payload.errors[0].code, message: payload.errors[0].message } : undefined);
  const forward = (name, payload) => {
    const event = { event: name, ...payload };
    if (payload.errors) event.errors = payload.errors.map((e) => ({ code: e.code, message: e.message }));
    output.event(event);
  };
  upload.on('fileuploadstart', (p) => {
    output.begin(plan.entries.length, plan.entries.reduce((s, e) => s + (e.size || 0), 0));
    forward('fileuploadstart', { fileCount: p.fileCount, totalSize: p.totalSize, directoryCount: p.directoryCount });
  });
  upload.on('foldercreated', (p) => forward('foldercreated', p));
  upload.on('filestart', (p) => forward('filestart', p));
  upload.on('fileprogress', (p) => {
    output.progressed(p.targetFile, p.transferred);
    forward('fileprogress', p);
  });
  upload.on('fileend', (p) => {
    settle(p, { status: 'uploaded', size: p.fileSize });
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

  let interrupted = false;
  const release = onInterrupt(() => {
    interrupted = true;
    upload.cancel();
  });
  let result;
  try {
    result = await upload.uploadPlanned(options, plan, { onSettled: (i, n) => { retries[i] = n; } });
  } catch (err) {
    output.end();
    release();
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
  release();
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
  output.event({ event: 'report', ...report });
  writeReport(opts.report, report);
  output.summary(report, { interrupted });
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
  return report.totals.failed || report.totals.cancelled || result.errors.length ? 1 : 0;
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
