#!/usr/bin/env node
'use strict';

// One benchmark run as a whole Node process: load the library (reference or
// ours), upload a folder with FileSystemUpload (deep), and print one JSON
// line with what the run cost. Usage:
//   node bench/upload-once.js <reference|ours> <local dir> <AEM folder URL> [maxConcurrent]
//   node bench/upload-once.js ours-url <file URL> <AEM folder URL>   (a URL source, DirectBinaryUpload)

const started = process.hrtime.bigint();
const [which, dir, url, maxConcurrent] = process.argv.slice(2);
const loadStart = process.hrtime.bigint();
const lib = which === 'reference' ? require('@adobe/aem-upload') : require('..');
const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;

async function fromUrl() {
  const fileName = decodeURIComponent(new URL(dir).pathname.split('/').pop());
  const options = new lib.DirectBinaryUploadOptions()
    .withUrl(url)
    .withUploadFiles([{ fileName, sourceUrl: dir }])
    .withHttpOptions({ headers: { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` } });
  return new lib.DirectBinaryUpload().uploadFiles(options);
}

async function main() {
  if (which === 'ours-url') return report(await timed(fromUrl));
  const options = new lib.FileSystemUploadOptions()
    .withUrl(url)
    .withDeepUpload(true)
    .withMaxUploadFiles(1000000)
    .withHttpOptions({ headers: { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` } });
  if (maxConcurrent) options.withMaxConcurrent(Number(maxConcurrent));
  // The real-link sweep (bench/real-link.js): a fixed AEM concurrency instead of the adaptive limit.
  if (process.env.BENCH_MAX_AEM_REQUESTS) options.withMaxAemRequests(Number(process.env.BENCH_MAX_AEM_REQUESTS));
  const upload = new lib.FileSystemUpload();
  return report(await timed(() => upload.upload(options, [dir])));
}

async function timed(run) {
  const uploadStart = process.hrtime.bigint();
  const result = await run();
  return { result, uploadMs: Number(process.hrtime.bigint() - uploadStart) / 1e6 };
}

/**
 * The process's peak RSS since it started: VmHWM. Not getrusage's maxRSS,
 * which on Linux also counts the bench process's own RSS when it forked this
 * one (it survives the exec), so a small client spawned by a larger bench
 * would report the bench's size.
 */
function peakRss(usage) {
  try {
    const kb = /^VmHWM:\s*(\d+) kB$/m.exec(require('fs').readFileSync('/proc/self/status', 'utf8'));
    if (kb) return Number(kb[1]) * 1024;
  } catch (e) { /* not Linux */ }
  return usage.maxRSS * 1024;
}

function report({ result, uploadMs }) {
  const usage = process.resourceUsage();
  const line = {
    which,
    loadMs,
    uploadMs,
    processMs: Number(process.hrtime.bigint() - started) / 1e6,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    peakRssBytes: peakRss(usage),
    totalFiles: result.totalFiles,
    totalCompleted: result.totalCompleted,
    errors: result.errors.length,
  };
  // The reference logs to stdout on its own; the result line is marked.
  process.stdout.write(`\nBENCH ${JSON.stringify(line)}\n`);
}

main().catch((err) => {
  process.stdout.write(`\nBENCH ${JSON.stringify({ which, error: String(err && err.message) })}\n`);
  process.exitCode = 1;
});
