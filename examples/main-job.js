#!/usr/bin/env node
'use strict';

// `npm start`: the three flows of Adobe's programmatic-upload tutorial, run
// with aem-upload-rs against the embedded emulator (or a real AEM when
// AEM_URL is set in the environment or a .env file):
//   1. FileSystemUpload of sample-assets/ with folder creation
//   2. DirectBinaryUpload from URLs (a local origin server this job starts,
//      as the tutorial's flow takes files from a remote URL), streamed by the
//      engine instead of downloaded into memory first
//   3. a batch of many files, with retries (and injected faults locally)
// It prints live progress and a summary, and against the emulator checks
// every byte that landed.

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { FileSystemUpload, FileSystemUploadOptions, DirectBinaryUpload, DirectBinaryUploadOptions } = require('..');
const { startEmulator, DEFAULT_AUTHORIZATION } = require('../emulator');

const SAMPLE_ASSETS = path.join(__dirname, '..', 'sample-assets');

/** Reads KEY=VALUE lines of a .env file into process.env (without overriding). */
function loadDotEnv(file) {
  if (!fs.existsSync(file)) return;
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match || line.trim().startsWith('#')) continue;
    let value = match[2];
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) value = value.slice(1, -1);
    if (process.env[match[1]] === undefined) process.env[match[1]] = value;
  }
}

function authorization() {
  const { AEM_BEARER_TOKEN, AEM_USERNAME, AEM_PASSWORD } = process.env;
  if (AEM_BEARER_TOKEN) return `Bearer ${AEM_BEARER_TOKEN}`;
  if (AEM_USERNAME) return `Basic ${Buffer.from(`${AEM_USERNAME}:${AEM_PASSWORD || ''}`).toString('base64')}`;
  return undefined;
}

function humanBytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i += 1; }
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/**
 * A small origin of remote files (a CDN, another DAM): serves `files` (name ->
 * Buffer) with byte ranges, as most origins do. Resolves to its base URL.
 */
async function startOrigin(files) {
  const server = http.createServer((req, res) => {
    const body = files.get(decodeURIComponent(new URL(req.url, 'http://o').pathname.slice(1)));
    if (!body) return res.writeHead(404).end();
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range || '');
    const [start, end] = range ? [Number(range[1]), Math.min(Number(range[2]) + 1, body.length)] : [0, body.length];
    res.writeHead(range ? 206 : 200, {
      'accept-ranges': 'bytes',
      'content-length': end - start,
      etag: `"${crypto.createHash('md5').update(body).digest('hex')}"`,
      ...(range ? { 'content-range': `bytes ${start}-${end - 1}/${body.length}` } : {}),
    });
    return res.end(req.method === 'HEAD' ? undefined : body.subarray(start, end));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** One line of live progress, rewritten in place on a terminal. */
class Progress {
  constructor(label, totalFiles, totalBytes) {
    Object.assign(this, { label, totalFiles, totalBytes, files: 0, failed: 0, bytes: 0, started: Date.now(), last: 0 });
    this.perFile = new Map();
    this.tty = process.stdout.isTTY;
  }

  attach(upload) {
    upload.on('fileprogress', (p) => {
      const before = this.perFile.get(p.targetFile) || 0;
      this.perFile.set(p.targetFile, p.transferred);
      this.bytes += p.transferred - before;
      this.render();
    });
    upload.on('fileend', () => { this.files += 1; this.render(); });
    upload.on('fileerror', (p) => {
      this.failed += 1;
      this.render(true);
      process.stdout.write(`${this.tty ? '\n' : ''}  failed: ${p.targetFile}: ${p.errors[0].code} ${p.errors[0].message}\n`);
    });
  }

  render(force = false) {
    const now = Date.now();
    if (!force && now - this.last < (this.tty ? 100 : 1000)) return;
    this.last = now;
    const secs = Math.max((now - this.started) / 1000, 0.001);
    const line = `  ${this.label}: ${this.files + this.failed}/${this.totalFiles} files, ${humanBytes(this.bytes)} of ${humanBytes(this.totalBytes)}, ${humanBytes(this.bytes / secs)}/s`;
    process.stdout.write(this.tty ? `\r${line.padEnd(100)}` : `${line}\n`);
  }

  finish() {
    this.render(true);
    if (this.tty) process.stdout.write('\n');
  }
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

/** A folder of `count` files of assorted sizes, plus one large multi-part file. */
function makeBatch(dir, count) {
  const files = [];
  for (let i = 0; i < count; i += 1) {
    const sub = path.join(dir, `part ${String(Math.floor(i / 100)).padStart(2, '0')}`);
    fs.mkdirSync(sub, { recursive: true });
    const data = crypto.createHash('sha512').update(`batch-${i}`).digest();
    const content = Buffer.concat(Array.from({ length: 1 + (i % 128) }, () => data));
    const file = path.join(sub, `asset-${String(i).padStart(5, '0')}.bin`);
    fs.writeFileSync(file, content);
    files.push({ file, size: content.length, sha256: sha256(content) });
  }
  const large = Buffer.alloc(24 * 1024 * 1024);
  for (let i = 0; i < large.length; i += 64) crypto.createHash('sha512').update(String(i)).digest().copy(large, i);
  fs.writeFileSync(path.join(dir, 'large-24MiB.bin'), large);
  files.push({ file: path.join(dir, 'large-24MiB.bin'), size: large.length, sha256: sha256(large) });
  return files;
}

function walkFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walkFiles(full));
    else out.push({ file: full, size: fs.statSync(full).size });
  }
  return out;
}

async function run(label, upload, totalFiles, totalBytes, start) {
  const progress = new Progress(label, totalFiles, totalBytes);
  progress.attach(upload);
  const began = Date.now();
  const result = await start();
  progress.finish();
  const failures = result.detailedResult.filter((d) => !d.result || d.result.errors).length + result.errors.length;
  return { label, files: result.totalCompleted, failures, bytes: totalBytes, ms: Date.now() - began, result };
}

async function main() {
  loadDotEnv(path.join(process.cwd(), '.env'));
  const local = !process.env.AEM_URL;
  const batchCount = Number(process.env.BATCH_FILES) || (local ? 1000 : 100);
  let emulator;
  let base;
  let auth;
  if (local) {
    emulator = await startEmulator({ storage: 'digest' });
    base = emulator.url;
    auth = DEFAULT_AUTHORIZATION;
    console.log(`Local AEM emulator at ${emulator.url} (blob storage at ${emulator.blobUrl})`);
  } else {
    base = process.env.AEM_URL.replace(/\/+$/, '');
    auth = authorization();
    console.log(`Target AEM: ${base} (${auth ? auth.split(' ')[0] : 'no'} authentication)`);
  }
  const target = `/${(process.env.TARGET_FOLDER || '/content/dam/aem-upload-rs-demo').replace(/^\/+|\/+$/g, '')}`;
  const headers = auth ? { Authorization: auth } : {};
  const flows = [];

  // 1. A local folder, its structure mirrored as AEM folders.
  console.log(`\n1. FileSystemUpload of sample-assets/ to ${target}`);
  const samples = walkFiles(SAMPLE_ASSETS);
  const fsUpload = new FileSystemUpload();
  fsUpload.on('foldercreated', (f) => console.log(`  folder created: ${f.targetFolder}`));
  flows.push(await run('sample-assets', fsUpload, samples.length, samples.reduce((s, f) => s + f.size, 0), () => fsUpload.upload(
    new FileSystemUploadOptions().withUrl(`${base}${target}`).withDeepUpload(true).withHttpOptions({ headers }),
    [SAMPLE_ASSETS],
  )));

  // 2. Files from URLs: the engine streams them from the origin (ranges in
  //    parallel where it serves them), never holding a whole file.
  const remote = new Map();
  for (let i = 0; i < 25; i += 1) {
    remote.set(`report-${String(i).padStart(2, '0')}.json`, Buffer.from(JSON.stringify({ report: i, generated: 'by the origin', rows: Array.from({ length: 50 + i * 10 }, (__, r) => [r, r * i]) })));
  }
  remote.set('catalog-video.bin', crypto.randomBytes(24 * 1024 * 1024));
  const origin = await startOrigin(remote);
  console.log(`\n2. DirectBinaryUpload from URLs (a local origin at ${origin.url}) to ${target}/sample-assets`);
  const fromUrls = [...remote.keys()].map((name) => ({ fileName: name, sourceUrl: `${origin.url}/${encodeURIComponent(name)}` }));
  const remoteBytes = [...remote.values()].reduce((sum, b) => sum + b.length, 0);
  const dbu = new DirectBinaryUpload();
  try {
    flows.push(await run('from URLs', dbu, fromUrls.length, remoteBytes, () => dbu.uploadFiles(
      new DirectBinaryUploadOptions().withUrl(`${base}${target}/sample-assets`).withUploadFiles(fromUrls).withHttpOptions({ headers }),
    )));
  } finally {
    await origin.close();
  }

  // 3. Many files, with retries.
  console.log(`\n3. Batch upload of ${batchCount + 1} files with retries to ${target}/batch`);
  if (emulator) {
    // Seeded, so every run meets the same ~5% of 503s and 429s.
    emulator.configure({ faults: { seed: 7, routes: { initiate: { status503: 0.05 }, part: { status503: 0.05, status429: 0.02, retryAfterSeconds: 0 }, complete: { status503: 0.05 } } } });
    console.log('  the emulator now injects ~5% 503 and 429 answers');
  }
  const batchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aem-upload-rs-batch-'));
  const batchRoot = path.join(batchDir, 'batch');
  const batch = makeBatch(batchRoot, batchCount);
  const batchUpload = new FileSystemUpload();
  let retried = 0;
  try {
    const flow = await run('batch', batchUpload, batch.length, batch.reduce((s, f) => s + f.size, 0), () => batchUpload.upload(
      new FileSystemUploadOptions().withUrl(`${base}${target}`).withDeepUpload(true).withMaxUploadFiles(batchCount + 100)
        .withHttpRetryCount(5).withHttpRetryDelay(50).withMaxConcurrent(8).withHttpOptions({ headers }),
      [batchRoot],
    ));
    retried = flow.result.retryErrors.length;
    flows.push(flow);
  } finally {
    fs.rmSync(batchDir, { recursive: true, force: true });
  }

  // Summary.
  console.log('\nSummary');
  const rows = [['flow', 'files', 'failed', 'bytes', 'time', 'files/s', 'throughput']];
  let total = { files: 0, failures: 0, bytes: 0, ms: 0 };
  for (const f of flows) {
    const secs = Math.max(f.ms / 1000, 0.001);
    rows.push([f.label, String(f.files), String(f.failures), humanBytes(f.bytes), `${secs.toFixed(2)} s`, (f.files / secs).toFixed(0), `${humanBytes(f.bytes / secs)}/s`]);
    total = { files: total.files + f.files, failures: total.failures + f.failures, bytes: total.bytes + f.bytes, ms: total.ms + f.ms };
  }
  const secs = Math.max(total.ms / 1000, 0.001);
  rows.push(['total', String(total.files), String(total.failures), humanBytes(total.bytes), `${secs.toFixed(2)} s`, (total.files / secs).toFixed(0), `${humanBytes(total.bytes / secs)}/s`]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const row of rows) console.log(`  ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')}`);
  console.log(`  retried attempts in the batch: ${retried}`);

  if (emulator) {
    const state = emulator.state();
    const byPath = new Map(state.assets.map((a) => [a.path, a]));
    const expected = [
      ...samples.map((s) => [s.size, sha256(fs.readFileSync(s.file))]),
      ...[...remote.values()].map((b) => [b.length, sha256(b)]),
      ...batch.map((b) => [b.size, b.sha256]),
    ];
    const landed = new Set([...byPath.values()].map((a) => `${a.size}:${a.sha256}`));
    const verified = expected.filter(([size, hash]) => landed.has(`${size}:${hash}`)).length;
    console.log(`\nEmulator: ${state.assets.length} assets in ${state.folders.length} folders; ${verified}/${expected.length} uploads verified by size and SHA-256; ${state.violations.length} protocol violations; ${state.faults.length} injected faults survived`);
    await emulator.stop();
    if (verified !== expected.length || state.violations.length) process.exitCode = 1;
  }
  if (total.failures) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`main job failed: ${err && err.code ? `${err.code} ` : ''}${err && err.message ? err.message : err}`);
  process.exitCode = 1;
});
