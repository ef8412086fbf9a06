#!/usr/bin/env node
'use strict';

// What `npm install aem-upload-rs` gives a user, checked from the tarballs
// scripts/pack.js makes: installed into a fresh project with cargo and rustc
// off PATH, then
//   - every entry of the `exports` map loads with require() and with import,
//     with the same named exports (compat entries: the same as @adobe/aem-upload's);
//   - a TypeScript program using every entry's types passes `tsc --strict --noEmit`;
//   - `npx aem-upload --help` works;
//   - the installed emulator takes an upload through the installed library;
//   - the tarballs hold only what the runtime needs.
// Entries are read from package.json, so a new subpath joins by being exported.
//
//   node scripts/packaging-test.js [--release]   (default: packs the debug addon)

const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const ROOT = path.join(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const REFERENCE = path.join(ROOT, 'node_modules', '@adobe', 'aem-upload');

/** Files the main tarball may hold (paths inside `package/`). */
const MAIN_ALLOWED = [
  /^package\.json$/, /^README\.md$/, /^LICENSE$/, /^CHANGELOG\.md$/,
  /^(index|emulator|binding)\.(js|d\.ts)$/,
  /^(auth|assets|events)\/index\.(js|d\.ts)$/,
  /^lib\/[\w/-]+\.(js|d\.ts)$/,
  /^bin\/aem-upload\.js$/,
];

function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

function step(name, fn) {
  process.stdout.write(`packaging: ${name} ... `);
  const detail = fn();
  process.stdout.write(`ok${detail ? ` (${detail})` : ''}\n`);
}

/** PATH without any directory holding cargo or rustc: the install must not build. */
function pathWithoutRust() {
  return process.env.PATH.split(path.delimiter)
    .filter((dir) => !['cargo', 'rustc'].some((bin) => fs.existsSync(path.join(dir, bin))))
    .join(path.delimiter);
}

function entries() {
  return Object.entries(pkg.exports)
    .filter(([sub]) => sub !== './package.json')
    .map(([sub, target]) => ({ sub, specifier: sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`, types: typeof target === 'object' && target.types }));
}

function main() {
  const release = process.argv.includes('--release');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aem-upload-rs-packaging-'));
  const tarballDir = path.join(work, 'tarballs');
  const project = path.join(work, 'project');
  const env = { ...process.env, PATH: pathWithoutRust(), npm_config_audit: 'false', npm_config_fund: 'false' };
  try {
    let tarballs;
    step('pack', () => {
      const out = sh(process.execPath, [path.join(__dirname, 'pack.js'), ...(release ? [] : ['--debug']), '--out', tarballDir]);
      ({ tarballs } = JSON.parse(out.trim().split('\n').pop()));
      return tarballs.map((t) => `${path.basename(t.file)} ${(t.bytes / 1024).toFixed(0)} KiB`).join(', ');
    });

    step('tarball contents', () => {
      const main = tarballs.find((t) => path.basename(t.file).startsWith(`${pkg.name}-${pkg.version}`));
      const files = sh('tar', ['tzf', main.file]).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
      const stray = files.filter((f) => !MAIN_ALLOWED.some((re) => re.test(f)));
      assert.deepStrictEqual(stray, [], `files the runtime does not need: ${stray.join(', ')}`);
      for (const required of ['index.js', 'index.d.ts', 'binding.js', 'LICENSE', 'README.md']) assert(files.includes(required), `missing ${required}`);
      for (const t of tarballs.filter((x) => x !== main)) {
        const platformFiles = sh('tar', ['tzf', t.file]).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')).sort();
        assert.deepStrictEqual(platformFiles.filter((f) => !/^(package\.json|README\.md|[\w.-]+\.node)$/.test(f)), []);
        assert.strictEqual(platformFiles.filter((f) => f.endsWith('.node')).length, 1);
      }
      return `${files.length} files in the main package`;
    });

    step('install into a fresh project, cargo and rustc off PATH', () => {
      assert.throws(() => sh('cargo', ['--version'], { env }), 'cargo must not be reachable');
      fs.mkdirSync(project);
      fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'packaging-probe', version: '1.0.0', private: true }));
      sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs.map((t) => t.file)], { cwd: project, env });
      // Types for the TypeScript check come from this repository's install, as a user's own @types/node would.
      for (const dep of ['@types/node', 'undici-types']) {
        fs.cpSync(path.join(ROOT, 'node_modules', dep), path.join(project, 'node_modules', dep), { recursive: true });
      }
      return null;
    });

    const list = entries();
    let keysOf;
    step('require() of every entry', () => {
      const script = `const keys = {}; for (const s of ${JSON.stringify(list.map((e) => e.specifier))}) { const m = require(s); keys[s] = Object.keys(m); if (!keys[s].length) throw new Error(s + ' exports nothing'); } console.log(JSON.stringify(keys));`;
      keysOf = JSON.parse(sh(process.execPath, ['-e', script], { cwd: project, env }));
      return `${list.length} entries`;
    });

    step('import of every entry, named exports', () => {
      const probe = path.join(project, 'probe.mjs');
      fs.writeFileSync(probe, `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const list = ${JSON.stringify(list)};
const reference = ${JSON.stringify(REFERENCE)};
for (const { sub, specifier } of list) {
  const esm = await import(specifier);
  const named = Object.keys(esm).filter((k) => k !== 'default').sort();
  const cjs = require(specifier);
  if (esm.default !== cjs) throw new Error(specifier + ': default import is not the CommonJS exports');
  // Compat entries must offer the same named imports as @adobe/aem-upload's own files.
  const twin = sub === '.' ? reference + '/index.js' : sub.startsWith('./src/') || sub.startsWith('./dist/') ? reference + sub.slice(1) + (sub.endsWith('.js') ? '' : '.js') : null;
  const expected = twin ? Object.keys(await import(twin)).filter((k) => k !== 'default').sort() : Object.keys(cjs).sort();
  if (JSON.stringify(named) !== JSON.stringify(expected)) throw new Error(specifier + ': named exports ' + named + ' != ' + expected);
}
`);
      sh(process.execPath, [probe], { cwd: project, env });
      return null;
    });

    step('tsc --strict --noEmit over every entry\'s types', () => {
      const lines = [];
      list.forEach(({ specifier }, i) => {
        lines.push(`import * as e${i} from '${specifier}';`);
      });
      // Every runtime export is typed: a name missing from the .d.ts fails to compile.
      list.forEach(({ specifier }, i) => {
        lines.push(`export const used${i} = [${keysOf[specifier].map((k) => `e${i}.${k}`).join(', ')}];`);
      });
      // The program the type tests compile, now against the installed package.
      const usage = fs.readFileSync(path.join(ROOT, '__test__', 'types', 'usage.ts'), 'utf8')
        .replace(/from '\.\.\/\.\.'/g, `from '${pkg.name}'`)
        .replace(/from '\.\.\/\.\.\/([\w/-]+)'/g, `from '${pkg.name}/$1'`);
      fs.writeFileSync(path.join(project, 'entries.ts'), `${lines.join('\n')}\n`);
      fs.writeFileSync(path.join(project, 'usage.ts'), usage);
      fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', types: ['node'], skipLibCheck: false },
        files: ['entries.ts', 'usage.ts'],
      }));
      sh(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project, env });
      return null;
    });

    step('npx aem-upload --help', () => {
      const help = sh('npx', ['--no-install', 'aem-upload', '--help'], { cwd: project, env });
      assert(/Usage: aem-upload/.test(help), help);
      return null;
    });

    step('an upload to the installed emulator', () => {
      const script = `
const { startEmulator, DEFAULT_AUTHORIZATION } = require('aem-upload-rs/emulator');
const { FileSystemUpload, FileSystemUploadOptions } = require('aem-upload-rs');
const fs = require('fs');
(async () => {
  fs.mkdirSync('tree/sub', { recursive: true });
  fs.writeFileSync('tree/a.txt', 'hello');
  fs.writeFileSync('tree/sub/b.bin', Buffer.alloc(70000, 1));
  const emulator = await startEmulator({});
  try {
    const options = new FileSystemUploadOptions().withUrl(emulator.url + '/content/dam/installed')
      .withDeepUpload(true).withHttpOptions({ headers: { Authorization: DEFAULT_AUTHORIZATION } });
    const result = await new FileSystemUpload().upload(options, ['tree']);
    const state = emulator.state();
    if (result.totalCompleted !== 2 || state.assets.length !== 2 || state.violations.length) throw new Error(JSON.stringify({ result, state }));
  } finally { await emulator.stop(); }
})().catch((e) => { console.error(e); process.exit(1); });`;
      sh(process.execPath, ['-e', script], { cwd: project, env });
      return '2 files, 0 violations';
    });

    step('without its platform package, the error names the platform', () => {
      const platformPkg = fs.readdirSync(path.join(project, 'node_modules')).find((d) => d.startsWith(`${pkg.name}-`));
      fs.rmSync(path.join(project, 'node_modules', platformPkg), { recursive: true });
      const script = `try { require('${pkg.name}'); process.exit(3); } catch (e) { console.log(e.code + ' ' + e.message); }`;
      const message = sh(process.execPath, ['-e', script], { cwd: project, env }).trim();
      const platform = platformPkg.slice(pkg.name.length + 1);
      assert(message.startsWith('ERR_AEM_UPLOAD_RS_NO_BINARY'), message);
      assert(message.includes(`(${platform})`) && message.includes(`${platformPkg}@${pkg.version}`), message);
      return platform;
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  process.stdout.write('FAILED\n');
  console.error(err.stderr !== undefined ? `${err.stdout || ''}${err.stderr}` : err);
  process.exit(1);
}
