#!/usr/bin/env node
'use strict';

// Builds what `npm publish` would ship, offline, the way napi-rs lays it out:
// the main package (JS, types, the generated loader) and one platform package
// per target under npm/ holding the native binary, which the main package
// lists as optional dependencies (as `napi pre-publish` would add them).
//
//   node scripts/pack.js [--debug] [--out DIR]
//
// --debug packs the debug addon that `npm run build:debug` left in the
// package root instead of building a release one (CI uses it: a release build
// with LTO takes minutes on two cores). Prints one JSON line: the tarballs and
// their sizes.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const ROOT = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const napi = path.join(ROOT, 'node_modules', '.bin', 'napi');

function run(cmd, args, cwd = ROOT) {
  return execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
}

/** `npm pack` of `dir` into `dest`; returns the tarball's path. */
function npmPack(dir, dest) {
  const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dest], dir));
  return path.join(dest, info.filename);
}

function main() {
  const args = process.argv.slice(2);
  const debug = args.includes('--debug');
  const outIndex = args.indexOf('--out');
  const out = path.resolve(outIndex >= 0 ? args[outIndex + 1] : path.join(ROOT, 'dist'));
  fs.mkdirSync(out, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aem-upload-rs-pack-'));
  try {
    // 1. The binary, into a folder of artifacts as CI jobs would hand it over.
    const artifacts = path.join(work, 'artifacts');
    fs.mkdirSync(artifacts);
    const binaries = fs.readdirSync(ROOT).filter((f) => f.startsWith(`${pkg.napi.binaryName}.`) && f.endsWith('.node'));
    if (debug) {
      if (binaries.length === 0) throw new Error('no debug addon in the package root: run `npm run build:debug` first');
      for (const f of binaries) fs.copyFileSync(path.join(ROOT, f), path.join(artifacts, f));
    } else {
      // The loader and types it generates land in the artifacts folder; the committed ones ship.
      run(napi, ['build', '--platform', '--release', '--js', 'binding.js', '--dts', 'binding.d.ts', '--output-dir', artifacts]);
    }

    // 2. napi-rs moves each artifact into its platform package and keeps their versions in step.
    run(napi, ['version']);
    run(napi, ['artifacts', '--output-dir', artifacts, '--npm-dir', 'npm']);

    const tarballs = [];
    const optionalDependencies = {};
    for (const dir of fs.readdirSync(path.join(ROOT, 'npm'))) {
      const platformDir = path.join(ROOT, 'npm', dir);
      const platformPkg = JSON.parse(fs.readFileSync(path.join(platformDir, 'package.json'), 'utf8'));
      tarballs.push(npmPack(platformDir, out));
      optionalDependencies[platformPkg.name] = platformPkg.version;
      // The binary stays out of git (npm/*/ keeps only package.json and README).
      for (const f of fs.readdirSync(platformDir)) if (f.endsWith('.node')) fs.rmSync(path.join(platformDir, f));
    }

    // 3. The main package, with its platform packages as optional dependencies.
    const stage = path.join(work, 'stage');
    fs.mkdirSync(stage);
    const first = npmPack(ROOT, work);
    run('tar', ['xzf', first, '-C', stage]);
    const staged = path.join(stage, 'package');
    const manifest = JSON.parse(fs.readFileSync(path.join(staged, 'package.json'), 'utf8'));
    manifest.optionalDependencies = { ...(manifest.optionalDependencies || {}), ...optionalDependencies };
    delete manifest.devDependencies;
    delete manifest.scripts;
    fs.writeFileSync(path.join(staged, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    tarballs.unshift(npmPack(staged, out));

    const report = tarballs.map((file) => ({ file, bytes: fs.statSync(file).size }));
    process.stdout.write(`${JSON.stringify({ debug, tarballs: report })}\n`);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main();
