#!/usr/bin/env node
'use strict';

// The real-link rows of `npm run bench` (issue 21): the emulator at the
// distances of a real AEM (`aem-upload emulator --profile real-link`,
// docs/protocol.md "A real link": initiate ~150 ms, complete
// ~250 ms, folder ~100 ms, part PUT round trip ~20 ms, 25 MB/s per
// connection to blob storage, all with jitter).
//
//   R   the sample-assets mix × 100 (1,000 files in 3 folders) and 10 × 200 MiB:
//       reference vs ours, both at default options.
//   RT  the mix on `real-link-throttled` (AEM answers 429, Retry-After: 1,
//       beyond 16 concurrent requests): ours at default options (the
//       adaptive AEM limit) vs ours at each fixed AEM concurrency of a sweep
//       (withMaxAemRequests(n)); the share of AEM requests answered 429
//       after the first 10 s comes from the emulator's request log.
//
// Run by bench/run.js when BENCH_WORKLOADS is empty or names R or RT, or alone:
//   BENCH_WORKLOADS=R,RT node bench/real-link.js
// Environment: BENCH_REAL_RUNS (ours, default 3), BENCH_REAL_REF_RUNS (the
// reference, default 1: one run of the mix takes it minutes), BENCH_SWEEP
// (fixed AEM concurrencies, default 8,12,16,24,32), BENCH_OUT (append the table).

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { spawn } = require('child_process');
const { startEmulator: startProcess } = require('./processes');

const ROOT = path.join(__dirname, '..');
const MIB = 1024 * 1024;
const IDS = ['R', 'RT'];
const RUNS = Number(process.env.BENCH_REAL_RUNS) || 3;
const REF_RUNS = Number(process.env.BENCH_REAL_REF_RUNS) || 1;
const SWEEP = (process.env.BENCH_SWEEP || '8,12,16,24,32').split(',').map(Number).filter((n) => n >= 1);
const AEM_ROUTES = new Set(['initiate', 'complete', 'folder', 'createasset']);
// The 429 share is judged after the warm-up: the adaptive limit finds AEM's ceiling in it.
const WARMUP_MS = 10000;

const log = (message) => process.stderr.write(`${message}\n`);
const fmt = (n, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (x) => `${fmt(100 * x, 1)} %`;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ----- workloads -----

/** sample-assets × 100: each file copied 100 times into its own folder (doc, img, video), names numbered. */
function makeMix(dir) {
  const source = path.join(ROOT, 'sample-assets');
  const expected = new Map();
  for (const folder of fs.readdirSync(source)) {
    const from = path.join(source, folder);
    if (!fs.statSync(from).isDirectory()) continue;
    fs.mkdirSync(path.join(dir, folder), { recursive: true });
    for (const name of fs.readdirSync(from)) {
      const data = fs.readFileSync(path.join(from, name));
      const sha256 = crypto.createHash('sha256').update(data).digest('hex');
      const { name: stem, ext } = path.parse(name);
      for (let i = 0; i < 100; i += 1) {
        const copy = `${stem}-${String(i).padStart(3, '0')}${ext}`;
        fs.writeFileSync(path.join(dir, folder, copy), data);
        expected.set(`/${folder}/${copy}`, { size: data.length, sha256 });
      }
    }
  }
  return expected;
}

function makeBigFiles(dir, count, size) {
  fs.mkdirSync(dir, { recursive: true });
  const expected = new Map();
  for (let f = 0; f < count; f += 1) {
    const name = `big-${f}.bin`;
    let block = crypto.createHash('sha512').update(`real-link ${f}`).digest();
    const chunk = Buffer.alloc(4 * MIB);
    for (let i = 0; i < chunk.length; i += block.length) {
      block.copy(chunk, i);
      block = crypto.createHash('sha512').update(block).digest();
    }
    const hash = crypto.createHash('sha256');
    const fd = fs.openSync(path.join(dir, name), 'w');
    for (let written = 0, n = 0; written < size; written += chunk.length, n += 1) {
      chunk.writeUInt32LE(n, 0);
      fs.writeSync(fd, chunk);
      hash.update(chunk);
    }
    fs.closeSync(fd);
    expected.set(`/${name}`, { size, sha256: hash.digest('hex') });
  }
  return expected;
}

// ----- the emulator and one run -----

async function startEmulator(profile) {
  const emulator = await startProcess(['--storage', 'digest', '--profile', profile]);
  // Every request of a run stays in the log (the 429 share is read from it).
  await emulator.configure({ requestLogLimit: 100000 });
  return emulator;
}

function warm(dir) {
  const buf = Buffer.allocUnsafe(4 * MIB);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) warm(full);
    else if (entry.isFile()) {
      const fd = fs.openSync(full, 'r');
      try { while (fs.readSync(fd, buf, 0, buf.length, null) > 0); } finally { fs.closeSync(fd); }
    }
  }
}

function runOnce(which, dir, url, maxAemRequests) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    if (maxAemRequests) env.BENCH_MAX_AEM_REQUESTS = String(maxAemRequests);
    else delete env.BENCH_MAX_AEM_REQUESTS;
    const child = spawn(process.execPath, [path.join(__dirname, 'upload-once.js'), which, dir, url], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH '));
      if (!line) return reject(new Error(`${which} run printed no result (exit ${code})`));
      const result = JSON.parse(line.slice(6));
      if (result.error) return reject(new Error(`${which}: ${result.error}`));
      return resolve(result);
    });
  });
}

/** Files that did not arrive whole; 429 counts from the request log. */
async function check(emulator, prefix, expected) {
  const state = await emulator.state();
  const assets = new Map(state.assets.map((a) => [a.path, a]));
  let bad = 0;
  for (const [rel, want] of expected) {
    const asset = assets.get(`${prefix}${rel}`);
    if (!asset || asset.size !== want.size || asset.sha256 !== want.sha256) bad += 1;
  }
  const { requests, dropped } = await emulator.requests();
  const aem = requests.filter((r) => AEM_ROUTES.has(r.route));
  const t0 = aem.length ? Math.min(...aem.map((r) => r.at)) : 0;
  const late = aem.filter((r) => r.at >= t0 + WARMUP_MS);
  const throttled = (rs) => rs.filter((r) => r.status === 429).length;
  return {
    bad,
    violations: state.violations.length,
    aem: aem.length,
    throttled: throttled(aem),
    late: late.length,
    lateThrottled: throttled(late),
    peakAem: state.limits.peakAemInFlight,
    logDropped: dropped,
  };
}

// ----- main -----

async function main(only = (process.env.BENCH_WORKLOADS || '').split(',').filter(Boolean)) {
  const wanted = (id) => !only.length || only.includes(id);
  if (!IDS.some(wanted)) return '';
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aem-upload-rs-real-link-'));
  const emulators = [];
  try {
    log('real link: generating the mix (sample-assets × 100)');
    const mix = { id: 'mix', label: 'mix × 100 (1,000 files)', dir: path.join(work, 'mix', 'payload'), unit: 'files/s' };
    mix.expected = makeMix(mix.dir);
    mix.files = mix.expected.size;
    const workloads = [mix];
    if (wanted('R')) {
      log('real link: generating 10 × 200 MiB');
      const big = { id: 'big', label: '10 × 200 MiB', dir: path.join(work, 'big', 'payload'), unit: 'MB/s', files: 10, bytes: 10 * 200 * MIB };
      big.expected = makeBigFiles(big.dir, 10, 200 * MIB);
      workloads.push(big);
    }
    const rate = (w, ms) => (w.unit === 'files/s' ? w.files / (ms / 1000) : w.bytes / 1e6 / (ms / 1000));

    // The runs: [variant, client, maxAemRequests]; run i of each before run i+1.
    const variants = [];
    if (wanted('R')) {
      const real = await startEmulator('real-link');
      emulators.push(real);
      for (const w of workloads) {
        variants.push({ name: `R: ${w.label}, real link`, w, emulator: real, client: 'reference', runs: REF_RUNS });
        variants.push({ name: `R: ${w.label}, real link`, w, emulator: real, client: 'ours', runs: RUNS });
      }
    }
    if (wanted('RT')) {
      const throttled = await startEmulator('real-link-throttled');
      emulators.push(throttled);
      variants.push({ name: 'RT: mix, throttled link', w: mix, emulator: throttled, client: 'ours', runs: RUNS, adaptive: true });
      for (const n of SWEEP) {
        variants.push({ name: 'RT: mix, throttled link', w: mix, emulator: throttled, client: 'ours', runs: Math.max(1, Math.ceil(RUNS / 2)), fixed: n });
      }
    }
    for (const v of variants) v.results = [];
    const maxRuns = Math.max(...variants.map((v) => v.runs));
    for (let i = 0; i < maxRuns; i += 1) {
      for (const v of variants) {
        if (i >= v.runs) continue;
        await v.emulator.reset();
        warm(v.w.dir);
        const target = `/content/dam/real-${v.w.id}`;
        const run = await runOnce(v.client, v.w.dir, `${v.emulator.url}${target}`, v.fixed);
        const checked = await check(v.emulator, `${target}/payload`, v.w.expected);
        // A fixed limit far above AEM's can exhaust a file's retries on 429s: reported, not fatal.
        if ((checked.bad || checked.violations) && !v.fixed) {
          throw new Error(`${v.name} ${v.client}: ${checked.bad} of ${v.w.expected.size} files wrong or missing, ${checked.violations} violations`);
        }
        v.results.push({ ...run, ...checked });
        const how = v.fixed ? `fixed ${v.fixed}` : v.client;
        log(`real link: ${v.name} #${i + 1} ${how}: ${fmt(run.uploadMs)} ms, ${checked.throttled}/${checked.aem} AEM requests 429 (${checked.lateThrottled}/${checked.late} after 10 s), peak ${checked.peakAem} AEM in flight${checked.bad ? `, ${checked.bad} files failed` : ''}`);
      }
    }

    const summary = (v) => {
      const ms = median(v.results.map((r) => r.uploadMs));
      const late = v.results.reduce((a, r) => a + r.late, 0);
      const lateThrottled = v.results.reduce((a, r) => a + r.lateThrottled, 0);
      return {
        ms,
        rate: rate(v.w, ms),
        lateShare: late ? lateThrottled / late : 0,
        late,
        share: v.results.reduce((a, r) => a + r.throttled, 0) / Math.max(1, v.results.reduce((a, r) => a + r.aem, 0)),
        peak: Math.max(...v.results.map((r) => r.peakAem)),
        bad: Math.max(...v.results.map((r) => r.bad)),
        n: v.results.length,
      };
    };
    const lines = ['', '### Real link (docs/protocol.md §12)', ''];
    const targets = [];
    if (wanted('R')) {
      lines.push('| workload | client | median time | rate | peak AEM in flight | ours/ref |', '|---|---|---|---|---|---|');
      for (const w of workloads) {
        const [ref, our] = ['reference', 'ours'].map((c) => summary(variants.find((v) => v.w === w && v.client === c && v.name.startsWith('R:'))));
        const ratio = our.rate / ref.rate;
        lines.push(`| R: ${w.label}, real link | reference (${ref.n} run${ref.n > 1 ? 's' : ''}) | ${fmt(ref.ms / 1000, 1)} s | ${fmt(ref.rate, 1)} ${w.unit} | ${ref.peak} | |`);
        lines.push(`| | ours (${our.n}) | ${fmt(our.ms / 1000, 1)} s | ${fmt(our.rate, 1)} ${w.unit} | ${our.peak} | **${fmt(ratio, 1)}×** |`);
        if (w === mix) targets.push(['R mix on a real link vs reference, default options', '≥ 20×', `${fmt(ratio, 2)}×`, ratio >= 20]);
      }
    }
    if (wanted('RT')) {
      lines.push('', '| RT: mix, throttled link (429 beyond 16) | median time | 429s after 10 s | 429s overall | peak AEM in flight | files failed |', '|---|---|---|---|---|---|');
      const rt = variants.filter((v) => v.w === mix && (v.adaptive || v.fixed));
      const rows = rt.map((v) => ({ v, s: summary(v) }));
      for (const { v, s } of rows) {
        const who = v.adaptive ? '**ours, default (adaptive)**' : `ours, withMaxAemRequests(${v.fixed})`;
        lines.push(`| ${who} | ${fmt(s.ms / 1000, 1)} s | ${s.late ? pct(s.lateShare) : 'n/a (< 10 s)'} | ${pct(s.share)} | ${s.peak} | ${s.bad} |`);
      }
      const adaptive = rows.find((r) => r.v.adaptive);
      const fixed = rows.filter((r) => r.v.fixed && r.s.bad === 0);
      if (adaptive) targets.push(['RT 429s after the first 10 s (ours, default)', '< 5 %', adaptive.s.late ? pct(adaptive.s.lateShare) : 'none after 10 s', adaptive.s.lateShare < 0.05]);
      if (adaptive && fixed.length) {
        const best = fixed.reduce((a, b) => (b.s.ms < a.s.ms ? b : a));
        const vsBest = adaptive.s.ms / best.s.ms;
        targets.push([`RT time vs the best fixed AEM concurrency (${best.v.fixed})`, '≤ 1.25×', `${fmt(vsBest, 2)}×`, vsBest <= 1.25]);
      }
    }
    lines.push('', '| target | wanted | measured | met |', '|---|---|---|---|');
    for (const [label, want, got, met] of targets) lines.push(`| ${label} | ${want} | ${got} | ${met ? 'yes' : '**no**'} |`);
    return lines.join('\n');
  } finally {
    for (const e of emulators) await e.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

module.exports = { IDS, main };

if (require.main === module) {
  main().then((table) => {
    process.stdout.write(`${table}\n`);
    if (process.env.BENCH_OUT) fs.appendFileSync(process.env.BENCH_OUT, `${table}\n`);
  }).catch((err) => {
    log(`real-link bench failed: ${err && err.stack ? err.stack : err}`);
    process.exitCode = 1;
  });
}
