#!/usr/bin/env node
'use strict';

// `npm run bench`: @adobe/aem-upload 2.0.3, aem-upload-rs and a bare protocol
// client side by side in one run, against the emulator running as its own
// process.
//
// Workloads (generated under a temp folder):
//   A  5,000 files of 8 KiB in 50 folders      B  200 files of 1 MiB
//   C  one 2 GiB file                          D  one 8 GiB file (when the disk has room)
// Clients, each run as a whole process and measured the same way (wall time
// from spawn to exit here; CPU time from the process's own getrusage and peak
// RSS from its VmHWM, as it ends):
//   reference  @adobe/aem-upload through its public API (bench/upload-once.js,
//              FileSystemUpload, deep)
//   ours       aem-upload-rs the same way
//   limit      bench/bare (`bare-upload`, built by `npm run bench`): a minimal
//              Rust client that speaks only the wire protocol, with the same
//              folders, initiate batches and part-PUT limit as ours (5, or
//              16 in the row where both libraries get withMaxConcurrent(16)).
//              Ours as a percentage of its speed, by process wall time, is
//              the cost of everything beyond the protocol: Node, the API,
//              events, the engine's own overhead.
//   engine     the engine alone, without Node (crates/engine/examples/
//              upload_tree.rs, built by `npm run bench`): walk, folders,
//              pre-validation and transfer as FileSystemUpload does them.
//              Between ours and the limit, it splits what we cost beyond
//              the protocol into the engine's part and Node's.
//   cli        `aem-upload upload <dir> --target <url> --quiet` with default
//              options, as a user runs it (workload A only; its CPU and RSS
//              come from bench/measure.js, preloaded with --require)
// Runs alternate clients, then variants: A(ref, ours, limit, cli) B(...) A(...)
// B(...). After every run the emulator's state is checked: each file arrived
// with the right size (and SHA-256 where the emulator hashes). Before every
// run the workload's files are read once, so that no run reads from disk.
// Variants: a size-only emulator (no hashing) for C and D, and 5 ms of
// latency per request for A, once at the default maxConcurrent and once with
// all clients at 16 part PUTs in flight (shown, not a target); and C's file
// uploaded by ours from a URL, served by an origin process on loopback
// (bench/origin.js), next to the same file from disk.
// Node's own floor is measured in the same run, alternated with the others:
// an empty `node` process, and one that only loads the package. A Node
// library's process wall time can never be below it, so next to ours/limit
// by process wall the report gives the most any Node library could reach by
// that measure, and ours/limit by upload time (the call alone, in process).
//
// Options (environment): BENCH_RUNS (A and B, default 5), BENCH_BIG_RUNS
// (C and D, default 3), BENCH_WORKLOADS (e.g. "A,B"), BENCH_OUT (a markdown
// file to write the table to), BENCH_BARE (the bare client's binary; default
// target/release/bare-upload). BENCH_WORKLOADS R and RT are the real-link
// rows, run after the others by bench/real-link.js (its own options there).

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { spawn, execFileSync } = require('child_process');

const ROOT = path.join(__dirname, '..');
const KIB = 1024;
const MIB = 1024 * KIB;
const GIB = 1024 * MIB;
const RUNS = Number(process.env.BENCH_RUNS) || 5;
const BIG_RUNS = Number(process.env.BENCH_BIG_RUNS) || 3;
const ONLY = (process.env.BENCH_WORKLOADS || '').split(',').filter(Boolean);
const realLink = require('./real-link');
const { startEmulator, startOrigin } = require('./processes');
// Part PUTs in flight of the latency row where both clients get the same limit.
const LATENCY_MAX_CONCURRENT = 16;
// compat.md §2.1's default part PUTs in flight, which the bare client is given too.
const DEFAULT_MAX_CONCURRENT = 5;
// The emulator's default user, given to the command and the bare client as a user would.
const CREDENTIALS = { AEM_USERNAME: 'admin', AEM_PASSWORD: 'admin' };
const ENGINE = path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'release', 'examples', 'upload_tree');
const BARE = process.env.BENCH_BARE
  || path.join(process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target'), 'release', 'bare-upload');

function log(message) {
  process.stderr.write(`${message}\n`);
}

// ----- workloads -----

function fillDeterministic(buf, seed) {
  let block = crypto.createHash('sha512').update(String(seed)).digest();
  for (let i = 0; i < buf.length; i += block.length) {
    block.copy(buf, i);
    block = crypto.createHash('sha512').update(block).digest();
  }
  return buf;
}

function makeSmallFiles(dir, folders, perFolder, size) {
  const expected = new Map();
  for (let f = 0; f < folders; f += 1) {
    const sub = path.join(dir, `folder-${String(f).padStart(3, '0')}`);
    fs.mkdirSync(sub, { recursive: true });
    for (let i = 0; i < perFolder; i += 1) {
      const data = fillDeterministic(Buffer.alloc(size), `${f}/${i}`);
      const name = `file-${String(i).padStart(5, '0')}.bin`;
      fs.writeFileSync(path.join(sub, name), data);
      expected.set(`${sub.slice(dir.length)}/${name}`, { size, sha256: crypto.createHash('sha256').update(data).digest('hex') });
    }
  }
  return expected;
}

function makeBigFile(dir, size) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `big-${size / GIB}GiB.bin`);
  const block = fillDeterministic(Buffer.alloc(4 * MIB), size);
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'w');
  for (let written = 0, n = 0; written < size; written += block.length, n += 1) {
    block.writeUInt32LE(n, 0);
    fs.writeSync(fd, block);
    hash.update(block);
  }
  fs.closeSync(fd);
  return new Map([[`/${path.basename(file)}`, { size, sha256: hash.digest('hex') }]]);
}

// ----- one run -----

/**
 * Reads every file of a workload once, so that each run starts with it in
 * the page cache: an 8 GiB workload before a small one would otherwise
 * leave some runs (of either client) reading from disk.
 */
function warm(dir) {
  const buf = Buffer.allocUnsafe(4 * MIB);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      warm(full);
    } else if (entry.isFile()) {
      const fd = fs.openSync(full, 'r');
      try {
        while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
      } finally {
        fs.closeSync(fd);
      }
    }
  }
}

// ----- one run: a whole process, measured -----

/** The `BENCH {json}` line a Node run prints on stdout (bench/upload-once.js, bench/measure.js). */
const benchLine = (out) => {
  const line = out.split('\n').find((l) => l.startsWith('BENCH '));
  return line && JSON.parse(line.slice(6));
};

/**
 * Runs one process to its end and measures it as every row is measured:
 * `wallMs` from spawn to exit, here; CPU time and peak RSS as the process
 * reported them on stdout as it ended (`parse` finds that report; peak RSS
 * must be VmHWM: getrusage's maxRSS in a child counts this process's RSS at
 * the fork). Rejects when it fails or reports nothing.
 */
function measureProcess(label, command, args, { env, cwd, parse = benchLine } = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd, env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      let result = null;
      try { result = parse(out); } catch (e) { /* reported below */ }
      if (result && result.error) return reject(new Error(`${label}: ${result.error}`));
      if (!result || code !== 0) return reject(new Error(`${label} run failed (exit ${code === null ? signal : code}${result ? '' : ', no result'})`));
      return resolve({ ...result, wallMs });
    });
  });
}

/** The library through its public API (bench/upload-once.js); `which` is reference, ours or ours-url. */
function uploadOnce(which, source, url, maxConcurrent) {
  const args = [path.join(__dirname, 'upload-once.js'), which, source, url];
  if (maxConcurrent) args.push(String(maxConcurrent));
  return measureProcess(which, process.execPath, args);
}

/**
 * How each client uploads variant `v` to the AEM folder `url`: one whole
 * process, resolving with {uploadMs, wallMs, cpuSeconds, peakRssBytes}.
 */
const CLIENTS = {
  reference: (v, url) => uploadOnce('reference', v.w.dir, url, v.maxConcurrent),
  ours: (v, url) => (v.fromUrl ? uploadOnce('ours-url', v.sourceUrl, url) : uploadOnce('ours', v.w.dir, url, v.maxConcurrent)),
  // Its one JSON line: {files, bytes, ms, cpuSeconds, peakRssBytes}, `ms` from main() to done.
  limit: async (v, url) => {
    const args = [v.w.dir, url, '--concurrency', String(v.maxConcurrent || DEFAULT_MAX_CONCURRENT)];
    const run = await measureProcess('limit', BARE, args, { env: CREDENTIALS, parse: (out) => JSON.parse(out.trim().split('\n').pop()) });
    return { ...run, uploadMs: run.ms };
  },
  // The same JSON line as the bare client's, `ms` from main() to done.
  engine: async (v, url) => {
    const args = [v.w.dir, url, String(v.maxConcurrent || DEFAULT_MAX_CONCURRENT)];
    const run = await measureProcess('engine', ENGINE, args, { env: CREDENTIALS, parse: (out) => JSON.parse(out.trim().split('\n').pop()) });
    return { ...run, uploadMs: run.ms };
  },
  // The command prints nothing when quiet; its rate is over the process wall
  // time (it has no upload() call to time). Run from a temp folder: no .env.
  cli: async (v, url) => {
    const args = ['--require', path.join(__dirname, 'measure.js'), path.join(ROOT, 'bin', 'aem-upload.js'), 'upload', v.w.dir, '--target', url, '--quiet'];
    const run = await measureProcess('cli', process.execPath, args, { env: CREDENTIALS, cwd: os.tmpdir() });
    return { ...run, uploadMs: run.wallMs };
  },
};

// What a Node process costs before and after any upload: an empty one, and
// one that loads the package (bench/measure.js reports its CPU and VmHWM).
const FLOORS = {
  node: () => measureProcess('node', process.execPath, ['--require', path.join(__dirname, 'measure.js'), '-e', '0']),
  'node + require': () => measureProcess('node + require', process.execPath, ['--require', path.join(__dirname, 'measure.js'), '-e', `require(${JSON.stringify(ROOT)})`]),
};

async function verify(emulator, prefix, expected, hashed) {
  const state = await emulator.state();
  const assets = new Map(state.assets.map((a) => [a.path, a]));
  let bad = 0;
  for (const [rel, want] of expected) {
    const asset = assets.get(`${prefix}${rel}`);
    if (!asset || asset.size !== want.size || (hashed && asset.sha256 !== want.sha256)) bad += 1;
  }
  if (bad || state.violations.length) {
    throw new Error(`verification failed: ${bad} of ${expected.size} files wrong or missing, ${state.violations.length} violations`);
  }
}

// ----- statistics and report -----

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function summarise(runs, workload) {
  const rate = (r) => (workload.unit === 'files/s' ? workload.files / (r.uploadMs / 1000) : workload.bytes / 1e6 / (r.uploadMs / 1000));
  const rates = runs.map(rate);
  return {
    rate: median(rates),
    min: Math.min(...rates),
    max: Math.max(...rates),
    wallMs: median(runs.map((r) => r.wallMs)),
    cpuPerGB: median(runs.map((r) => r.cpuSeconds / (workload.bytes / 1e9))),
    cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    peakRss: Math.max(...runs.map((r) => r.peakRssBytes)),
    loadMs: median(runs.map((r) => r.loadMs)),
    n: runs.length,
  };
}

const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mb = (bytes) => `${fmt(bytes / 1e6, 0)} MB`;

function machine() {
  const cpu = (os.cpus()[0] || {}).model || 'unknown CPU';
  let rustc = '';
  try { rustc = execFileSync('rustc', ['--version'], { encoding: 'utf8' }).trim(); } catch (e) { rustc = 'rustc unknown'; }
  return `${os.cpus().length} × ${cpu}, ${fmt(os.totalmem() / GIB, 0)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}, ${rustc}`;
}

// ----- main -----

async function main() {
  if (ONLY.length && ONLY.every((id) => realLink.IDS.includes(id))) return printRealLink();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aem-upload-rs-bench-'));
  const free = fs.statfsSync(work);
  const freeBytes = free.bavail * free.bsize;
  const workloads = [
    { id: 'A', label: 'A: 5,000 × 8 KiB in 50 folders', unit: 'files/s', files: 5000, bytes: 5000 * 8 * KIB, runs: RUNS, make: (d) => makeSmallFiles(d, 50, 100, 8 * KIB) },
    { id: 'B', label: 'B: 200 × 1 MiB', unit: 'MB/s', files: 200, bytes: 200 * MIB, runs: RUNS, make: (d) => makeSmallFiles(d, 1, 200, MIB) },
    { id: 'C', label: 'C: 1 × 2 GiB', unit: 'MB/s', files: 1, bytes: 2 * GIB, runs: BIG_RUNS, make: (d) => makeBigFile(d, 2 * GIB) },
    { id: 'D', label: 'D: 1 × 8 GiB', unit: 'MB/s', files: 1, bytes: 8 * GIB, runs: Math.max(1, Math.min(BIG_RUNS, 2)), make: (d) => makeBigFile(d, 8 * GIB), needs: 9 * GIB },
  ].filter((w) => !ONLY.length || ONLY.includes(w.id));
  const skipped = [];
  try {
    log(`bench: ${machine()}`);
    for (const w of workloads) {
      if (w.needs && freeBytes < w.needs + 2 * GIB) {
        skipped.push(`${w.id} (needs ${fmt(w.needs / GIB)} GiB free, ${fmt(freeBytes / GIB, 1)} GiB available)`);
        w.skip = true;
        continue;
      }
      log(`bench: generating ${w.label}`);
      w.dir = path.join(work, w.id, 'payload');
      w.expected = w.make(w.dir);
    }
    const active = workloads.filter((w) => !w.skip);
    const digest = await startEmulator(['--storage', 'digest']);
    const sizeOnly = await startEmulator(['--storage', 'size']);
    const variants = [];
    const all = ['reference', 'ours', 'limit'];
    for (const w of active) {
      // The command's row on A, where the cost of starting a call shows most.
      // The engine alone where the per-file cost shows: A and B.
      const plain = ['A', 'B'].includes(w.id) ? [...all, 'engine'] : all;
      variants.push({ w, name: `${w.label}`, emulator: digest, hashed: true, clients: w.id === 'A' ? [...plain, 'cli'] : plain });
      if (w.id === 'C' || w.id === 'D') variants.push({ w, name: `${w.label}, no server hashing`, emulator: sizeOnly, hashed: false, clients: all });
      // Ours only (the reference has no URL sources): the same file streamed from an origin.
      if (w.id === 'C') variants.push({ w, name: `${w.label} from a URL (origin on loopback)`, emulator: digest, hashed: true, fromUrl: true, clients: ['ours'] });
      if (w.id === 'A') {
        const runs = Math.max(3, Math.ceil(w.runs / 2));
        variants.push({ w, name: `${w.label}, 5 ms latency`, emulator: digest, hashed: true, latency: 5, runs, clients: all });
        // Not a target: at the default of 5 part PUTs in flight (compat.md
        // §2.1) no client passes 5 / 5 ms = 1,000 files/s. This row shows
        // every client given the same higher limit.
        variants.push({ w, name: `${w.label}, 5 ms latency, every client at ${LATENCY_MAX_CONCURRENT} part PUTs in flight`, emulator: digest, hashed: true, latency: 5, maxConcurrent: LATENCY_MAX_CONCURRENT, runs, clients: all });
      }
    }
    if (!fs.existsSync(ENGINE)) throw new Error(`no engine example at ${ENGINE}: build it with \`cargo build --release -p aem-upload-engine --example upload_tree\` (npm run bench does)`);
    if (!fs.existsSync(BARE)) throw new Error(`no bare client at ${BARE}: build it with \`cargo build --release -p aem-upload-bare\` (npm run bench does)`);
    const origin = active.some((w) => w.id === 'C') ? await startOrigin(active.find((w) => w.id === 'C').dir) : null;
    for (const v of variants.filter((x) => x.fromUrl)) v.sourceUrl = `${origin.url}${[...v.w.expected.keys()][0]}`;
    const results = new Map(variants.map((v) => [v, Object.fromEntries(v.clients.map((c) => [c, []]))]));
    // Alternate: run i of every variant, each client in turn, before run i+1.
    const maxRuns = Math.max(...variants.map((v) => v.runs || v.w.runs));
    const floorRuns = Object.fromEntries(Object.keys(FLOORS).map((k) => [k, []]));
    for (let i = 0; i < maxRuns; i += 1) {
      for (const [name, measure] of Object.entries(FLOORS)) {
        // Three a round: the floor is short, and its noise is of its own size.
        for (let k = 0; k < 3; k += 1) floorRuns[name].push(await measure());
      }
      for (const v of variants) {
        if (i >= (v.runs || v.w.runs)) continue;
        for (const which of v.clients) {
          await v.emulator.reset();
          await v.emulator.configure({ faults: { routes: v.latency ? { '*': { latencyMs: v.latency } } : null } });
          // A URL source goes through DirectBinaryUpload, which creates no folder: it lands in /content/dam.
          const target = v.fromUrl ? '/content/dam' : `/content/dam/bench-${v.w.id.toLowerCase()}`;
          warm(v.w.dir);
          const run = await CLIENTS[which](v, `${v.emulator.url}${target}`);
          await verify(v.emulator, v.fromUrl ? target : `${target}/payload`, v.w.expected, v.hashed);
          results.get(v)[which].push(run);
          log(`bench: ${v.name} #${i + 1} ${which}: ${fmt(run.uploadMs)} ms upload, ${fmt(run.wallMs)} ms process, ${fmt(run.cpuSeconds, 2)} s CPU, ${mb(run.peakRssBytes)} peak RSS`);
        }
      }
    }
    await digest.stop();
    await sizeOnly.stop();
    if (origin) await origin.stop();

    // Medians for what a process typically pays; the least wall time seen for
    // the ceiling, which must hold for every run.
    const floor = Object.fromEntries(Object.entries(floorRuns).map(([k, runs]) => [k, {
      wallMs: median(runs.map((r) => r.wallMs)), minWallMs: Math.min(...runs.map((r) => r.wallMs)), cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    }]));
    const loaded = floor['node + require'];
    const rows = [];
    for (const v of variants) {
      const s = Object.fromEntries(v.clients.map((c) => [c, summarise(results.get(v)[c], v.w)]));
      rows.push({
        v,
        ref: s.reference,
        our: s.ours,
        limit: s.limit,
        cli: s.cli,
        engine: s.engine,
        ratio: s.reference ? s.ours.rate / s.reference.rate : null,
        // Speed as a share of the bare client's, by whole-process wall time.
        ofLimit: s.limit ? s.limit.wallMs / s.ours.wallMs : null,
        // The same by upload time: our call alone against the bare client's run.
        ofLimitInProcess: s.limit ? s.ours.rate / s.limit.rate : null,
        // The most any Node library could reach by process wall: an upload as
        // fast as the bare client's whole process, after the least an empty
        // Node process took.
        wallCeiling: s.limit ? s.limit.wallMs / (s.limit.wallMs + floor.node.minWallMs) : null,
      });
    }
    // The URL row is compared with ours on the same file from disk.
    for (const row of rows.filter((r) => r.v.fromUrl)) {
      const disk = rows.find((r) => r.v.w === row.v.w && !r.v.fromUrl && r.v.hashed && !r.v.latency);
      row.vsDisk = disk ? row.our.rate / disk.our.rate : null;
    }
    const pct = (x, digits = 0) => `${fmt(100 * x, digits)} %`;
    const lines = [];
    lines.push(`Machine: ${machine()}`);
    lines.push(`Date: ${new Date().toISOString()}; runs per variant: A, B ${RUNS} (latency ${Math.max(3, Math.ceil(RUNS / 2))}), C, D ${BIG_RUNS}`);
    lines.push('');
    lines.push('"limit" is the bare protocol client (bench/bare) at the same part PUTs in flight as ours; "ours/limit" is its process wall time over ours. "The engine alone" is crates/engine/examples/upload_tree.rs: our engine without Node. '
      + 'The command\'s rate is over its process wall time.');
    lines.push('');
    lines.push('| workload | client | median (range) | process wall | CPU s/GB | peak RSS | ours/ref | ours/limit |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const { v, ref, our, limit, cli, engine, ratio, ofLimit, vsDisk } of rows) {
      const cell = (s) => `${fmt(s.rate, s.rate < 100 ? 1 : 0)} ${v.w.unit} (${fmt(s.min, s.min < 100 ? 1 : 0)}–${fmt(s.max, s.max < 100 ? 1 : 0)})`;
      const row = (...cells) => lines.push(`|${cells.map((c) => (c ? ` ${c} ` : ' ')).join('|')}|`);
      const measured = (s) => [cell(s), `${fmt(s.wallMs)} ms`, fmt(s.cpuPerGB, 2), mb(s.peakRss)];
      if (!ref) {
        row(v.name, 'ours', ...measured(our), vsDisk ? `**${fmt(vsDisk, 2)}× from disk**` : '', '');
        continue;
      }
      row(v.name, 'reference', ...measured(ref), '', '');
      row('', 'ours', ...measured(our), `**${fmt(ratio, 1)}×**`, limit ? `**${pct(ofLimit)}**` : '');
      if (limit) row('', 'limit (bare client)', ...measured(limit), '', '');
      if (engine) row('', 'the engine alone (no Node)', ...measured(engine), '', limit ? pct(limit.wallMs / engine.wallMs) : '');
      if (cli) row('', 'ours, `aem-upload upload`', ...measured(cli), '', limit ? pct(limit.wallMs / cli.wallMs) : '');
    }
    if (skipped.length) lines.push('', `Skipped: ${skipped.join('; ')}`);
    lines.push('', `Node's own floor (medians of ${floorRuns.node.length} runs): an empty \`node\` process ${fmt(floor.node.wallMs)} ms wall `
      + `(least ${fmt(floor.node.minWallMs)} ms), ${fmt(floor.node.cpuSeconds, 3)} s CPU; one that only loads the package ${fmt(loaded.wallMs)} ms, `
      + `${fmt(loaded.cpuSeconds, 3)} s CPU; the bare client's whole process starts and exits in a few ms. By process wall, no Node library can pass `
      + rows.filter((r) => r.limit && !r.v.latency && !r.v.maxConcurrent).map((r) => `${r.v.w.id}${r.v.hashed ? '' : ' (no hashing)'} ${pct(r.wallCeiling)}`).join(', ')
      + ' of the bare client (its upload taking no longer than the bare client\'s whole run, after the least an empty `node` took).');

    // Targets (issues: throughput and memory; performance round 2).
    const find = (id, kind) => rows.find((r) => r.v.w.id === id && !r.v.maxConcurrent && !r.v.fromUrl
      && (kind === 'latency' ? r.v.latency : kind === 'size' ? !r.v.hashed : !r.v.latency && r.v.hashed));
    const targets = [];
    const ratioTarget = (id, kind, want, label) => {
      const row = find(id, kind);
      // Two decimals: a ratio of 11.96 must not read as a 12.0 that missed.
      if (row) targets.push([label, `≥ ${want}×`, `${fmt(row.ratio, 2)}×`, row.ratio >= want]);
    };
    ratioTarget('A', 'plain', 12, 'A speed vs reference');
    ratioTarget('B', 'plain', 5, 'B speed vs reference');
    ratioTarget('C', 'plain', 1.7, 'C speed vs reference, server hashing');
    ratioTarget('D', 'plain', 1.7, 'D speed vs reference, server hashing');
    ratioTarget('C', 'size', 3, 'C speed vs reference, no hashing');
    ratioTarget('D', 'size', 3, 'D speed vs reference, no hashing');
    ratioTarget('A', 'latency', 15, 'A speed vs reference, 5 ms latency');
    // Ours against the bare client, whole processes (the Node process included).
    const limitTarget = (id, kind, want, label) => {
      const row = find(id, kind);
      if (row && row.limit) targets.push([label, `≥ ${want} %`, pct(row.ofLimit, 1), 100 * row.ofLimit >= want]);
    };
    limitTarget('A', 'plain', 85, 'A speed vs the bare client (process wall)');
    limitTarget('B', 'plain', 85, 'B speed vs the bare client (process wall)');
    // The same two by upload time, Node's start and exit left out (see the floor above).
    const inProcessTarget = (id, want, label) => {
      const row = find(id, 'plain');
      if (row && row.limit) targets.push([label, `≥ ${want} %`, pct(row.ofLimitInProcess, 1), 100 * row.ofLimitInProcess >= want]);
    };
    inProcessTarget('A', 85, 'A speed vs the bare client (upload time)');
    inProcessTarget('B', 85, 'B speed vs the bare client (upload time)');
    limitTarget('C', 'plain', 95, 'C speed vs the bare client, server hashing');
    limitTarget('D', 'plain', 95, 'D speed vs the bare client, server hashing');
    limitTarget('C', 'size', 95, 'C speed vs the bare client, no hashing');
    limitTarget('D', 'size', 95, 'D speed vs the bare client, no hashing');
    const cpuTarget = (id, label, per) => {
      const row = find(id, 'plain');
      if (!row || !row.limit) return;
      const times = row.our.cpuSeconds / row.limit.cpuSeconds;
      targets.push([label, '≤ 1.5× the bare client\'s', `${fmt(times, 2)}× (${per(row, row.our)} against ${per(row, row.limit)})`, times <= 1.5]);
    };
    cpuTarget('A', 'A CPU per file (ours)', (row, s) => `${fmt((1e3 * s.cpuSeconds) / row.v.w.files, 3)} ms`);
    cpuTarget('B', 'B CPU per GB (ours)', (row, s) => `${fmt(s.cpuPerGB, 2)} s`);
    // The same with the CPU of a Node process that only loads the package taken out.
    const cpuAfterFloor = (id, label) => {
      const row = find(id, 'plain');
      if (!row || !row.limit) return;
      const ours = row.our.cpuSeconds - loaded.cpuSeconds;
      const times = ours / row.limit.cpuSeconds;
      targets.push([label, '≤ 1.5× the bare client\'s', `${fmt(times, 2)}× (${fmt(ours, 3)} s against ${fmt(row.limit.cpuSeconds, 3)} s)`, times <= 1.5]);
    };
    cpuAfterFloor('A', 'A CPU (ours, Node\'s floor taken out)');
    cpuAfterFloor('B', 'B CPU (ours, Node\'s floor taken out)');
    for (const id of ['C', 'D']) {
      const row = find(id, 'plain');
      if (row) {
        targets.push([`${id} peak RSS (ours)`, '≤ 64 MB', mb(row.our.peakRss), row.our.peakRss <= 64e6]);
        targets.push([`${id} CPU per GB (ours)`, '≤ 0.4 s', `${fmt(row.our.cpuPerGB, 2)} s`, row.our.cpuPerGB <= 0.4]);
      }
    }
    const c = find('C', 'plain');
    const d = find('D', 'plain');
    if (c && d) targets.push(['peak RSS growth C → D (ours)', '≤ 4 MB', mb(d.our.peakRss - c.our.peakRss), d.our.peakRss - c.our.peakRss <= 4e6]);
    for (const id of ['A', 'B']) {
      const row = find(id, 'plain');
      if (row) targets.push([`${id} peak RSS (ours)`, '≤ 100 MB', mb(row.our.peakRss), row.our.peakRss <= 100e6]);
    }
    const a = find('A', 'plain');
    if (a && a.cli) {
      const times = a.cli.wallMs / a.our.wallMs;
      targets.push(['A: `aem-upload upload` vs the library (process wall)', '≤ 1.10×', `${fmt(times, 2)}× (${fmt(a.cli.wallMs)} against ${fmt(a.our.wallMs)} ms)`, times <= 1.1]);
    }
    const url = rows.find((r) => r.v.fromUrl && r.vsDisk);
    if (url) targets.push(['C from a URL vs the same file from disk (ours)', '≥ 0.7×', `${fmt(url.vsDisk, 2)}×`, url.vsDisk >= 0.7]);
    const anyRow = rows[0];
    if (anyRow) targets.push(['module load (require of the package)', '≤ 50 ms', `${fmt(anyRow.our.loadMs, 1)} ms`, anyRow.our.loadMs <= 50]);
    lines.push('', '| target | wanted | measured | met |', '|---|---|---|---|');
    for (const [label, want, got, met] of targets) lines.push(`| ${label} | ${want} | ${got} | ${met ? 'yes' : '**no**'} |`);
    const latency = find('A', 'latency');
    if (latency) {
      // Every file needs one part PUT, each in flight for at least the latency.
      const ceiling = DEFAULT_MAX_CONCURRENT / 0.005;
      lines.push('', `A with 5 ms latency at the default of ${DEFAULT_MAX_CONCURRENT} part PUTs in flight: no client can pass ${fmt(ceiling)} files/s, `
        + `${fmt(ceiling / latency.ref.rate, 1)}× this run's reference; ours reached ${fmt(latency.our.rate)} files/s `
        + `(${fmt((100 * latency.our.rate) / ceiling)}% of that ceiling), the bare client ${fmt(latency.limit.rate)} files/s.`);
    }
    const table = lines.join('\n');
    process.stdout.write(`${table}\n`);
    if (process.env.BENCH_OUT) fs.writeFileSync(process.env.BENCH_OUT, `${table}\n`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  await printRealLink();
}

/** The real-link rows (R, RT), printed (and appended to BENCH_OUT) after the others. */
async function printRealLink() {
  const table = await realLink.main(ONLY);
  if (!table) return;
  process.stdout.write(`${table}\n`);
  if (process.env.BENCH_OUT) fs.appendFileSync(process.env.BENCH_OUT, `${table}\n`);
}

main().catch((err) => {
  log(`bench failed: ${err && err.stack ? err.stack : err}`);
  process.exitCode = 1;
});
