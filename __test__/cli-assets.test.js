'use strict';

// `aem-upload assets …` and `upload --asset-ids --metadata FILE.csv`
// (docs/assets.md §3) as a user runs them: the real command in child
// processes against the emulator's Author API, checked through AssetsClient.

const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { useEmulator, tempDir } = require('./helpers/emulator');
const { AssetsClient } = require('../assets');

const BIN = path.join(__dirname, '..', 'bin', 'aem-upload.js');
const TOKEN = 'canary-token-5e2b';
const KEY = 'cli-test-client';
const env = useEmulator({ storage: 'digest', auth: { bearer: [TOKEN] }, author: { apiKeys: [KEY] } });

let work;
beforeEach(() => {
  work = tempDir('aem-cli-assets-');
  env.emulator.reset();
  env.emulator.configure({ faults: { routes: null }, asyncDelete: null, author: { referenced: [], jobMs: 200 } });
  fs.writeFileSync(path.join(work, '.env'), `AEM_URL=${env.emulator.url}\nAEM_BEARER_TOKEN=${TOKEN}\nAEM_API_KEY=${KEY}\n`);
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

function cli(args, { extraEnv = {} } = {}) {
  const childEnv = { ...process.env, ...extraEnv };
  for (const key of ['AEM_URL', 'AEM_USERNAME', 'AEM_PASSWORD', 'AEM_BEARER_TOKEN', 'AEM_API_KEY', 'AEM_IMS_CLIENT_ID']) {
    if (!(key in extraEnv)) delete childEnv[key];
  }
  const child = spawn(process.execPath, [BIN, ...args], { cwd: work, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => { out.stdout += d; });
  child.stderr.on('data', (d) => { out.stderr += d; });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, ...out })));
}

const client = () => new AssetsClient({ url: env.emulator.url, auth: { headers: () => ({ Authorization: `Bearer ${TOKEN}` }) }, apiKey: KEY, retryDelay: 10 });

test('upload then tag 1,000 files with a CSV: every file lands with its asset id and its row as metadata', async () => {
  const top = path.join(work, 'catalog');
  const rows = ['path,dc:title,sku,empty'];
  for (let i = 0; i < 1000; i += 1) {
    const rel = `d${String(i % 20).padStart(2, '0')}/p-${i}.txt`;
    fs.mkdirSync(path.dirname(path.join(top, rel)), { recursive: true });
    fs.writeFileSync(path.join(top, rel), `product ${i}`);
    rows.push(`${rel},"Product ${i}, blue",SKU-${i},`);
  }
  rows.push('d99/missing.txt,Nobody,SKU-X,');
  fs.writeFileSync(path.join(work, 'tags.csv'), `${rows.join('\n')}\n`);
  const r = await cli(['upload', top, '--target', '/content/dam/shop', '--metadata', 'tags.csv', '--asset-ids', '--report', 'report.json', '--quiet']);
  expect(r.stderr).toMatch(/--metadata row 1002 matches no file of this upload/);
  expect(r.code).toBe(0);
  const report = JSON.parse(fs.readFileSync(path.join(work, 'report.json'), 'utf8'));
  expect(report.totals).toMatchObject({ files: 1000, uploaded: 1000, failed: 0 });
  expect(report.files.every((f) => /^urn:aaid:aem:/.test(f.assetId) && f.metadata === 'written')).toBe(true);
  const c = client();
  for (const file of report.files.filter((f, i) => i % 50 === 0)) {
    const i = Number(/p-(\d+)\.txt$/.exec(file.target)[1]);
    const doc = await c.getMetadata(file.assetId);
    expect(doc.assetMetadata).toMatchObject({ 'dc:title': `Product ${i}, blue`, sku: `SKU-${i}` });
    expect(doc.assetMetadata).not.toHaveProperty('empty');
    expect(await c.assetIdForPath(file.target)).toBe(file.assetId);
  }
});

test('assets metadata get/set, a stale --if-match, delete --wait and job, with their exit codes', async () => {
  const file = path.join(work, 'a.txt');
  fs.writeFileSync(file, 'hello');
  expect((await cli(['upload', file, '--target', '/content/dam/x', '--quiet'])).code).toBe(0);

  const got = await cli(['assets', 'metadata', 'get', '/content/dam/x/a.txt']);
  expect(got.code).toBe(0);
  const doc = JSON.parse(got.stdout);
  expect(doc.assetId).toMatch(/^urn:aaid:aem:/);
  expect(doc.repositoryMetadata['repo:path']).toBe('/content/dam/x/a.txt');

  const set = await cli(['assets', 'metadata', 'set', doc.assetId, 'dc:title=Hello', 'rank=3', 'tags=["a","b"]']);
  expect(set.code).toBe(0);
  expect(JSON.parse(set.stdout).assetMetadata).toMatchObject({ 'dc:title': 'Hello', rank: 3, tags: ['a', 'b'] });

  fs.writeFileSync(path.join(work, 'ops.json'), JSON.stringify([{ op: 'replace', path: '/dc:title', value: 'Patched' }]));
  const stale = await cli(['assets', 'metadata', 'set', doc.assetId, '--patch', 'ops.json', '--if-match', doc.etag]);
  expect(stale.code).toBe(1);
  expect(stale.stderr).toMatch(/EPRECONDITIONFAILED/);
  const patched = await cli(['assets', 'metadata', 'set', doc.assetId, '--patch', 'ops.json']);
  expect(patched.code).toBe(0);
  expect((await client().getMetadata(doc.assetId)).assetMetadata['dc:title']).toBe('Patched');

  env.emulator.configure({ asyncDelete: 100 });
  const started = await cli(['assets', 'delete', '/content/dam/x/a.txt']);
  expect(started.code).toBe(0);
  const accepted = JSON.parse(started.stdout);
  expect(accepted).toMatchObject({ status: 'accepted', jobId: expect.any(String) });
  const waited = await cli(['assets', 'job', accepted.jobId, '--wait']);
  expect(waited.code).toBe(0);
  expect(JSON.parse(waited.stdout)).toMatchObject({ done: true, failed: false });
  const gone = await cli(['assets', 'metadata', 'get', doc.assetId]);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toMatch(/ENOTFOUND/);

  const usage = await cli(['assets', 'metadata', 'get', 'not-an-id']);
  expect(usage.code).toBe(2);
  const noKey = await cli(['assets', 'metadata', 'get', doc.assetId, '--api-key', 'unknown-client']);
  expect(noKey.code).toBe(2);
  expect(noKey.stderr).toMatch(/EFORBIDDEN/);
  const outputs = [got, set, stale, patched, started, waited, gone, usage, noKey].map((o) => o.stdout + o.stderr).join('\n');
  expect(outputs).not.toContain(TOKEN);
});
