'use strict';

// The same uploads through @adobe/aem-upload 2.0.3 and through aem-upload-rs,
// against the emulator: results, per-file event sequences, payload keys and
// the DAM must match, except where compat.md §13 says we differ — and each
// of those differences is asserted here, explicitly.

const fs = require('fs');
const path = require('path');
const { useEmulator, tempDir, bytes, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');
const { makeTree } = require('./helpers/tree');
const { compare, normaliseResult, fileSequences, payloadShapes, callSequence } = require('./helpers/differential');

const env = useEmulator({ minPartSize: 1024, maxPartSize: 64 * 1024 });
let root;
beforeEach(() => {
  root = tempDir();
  env.emulator.configure({ faults: { routes: null, folderNotFoundWindowMs: 0 }, directBinary: true });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const AUTH = { headers: { Authorization: DEFAULT_AUTHORIZATION } };

function fsOptions(lib, target = '/content/dam/target') {
  return new lib.FileSystemUploadOptions()
    .withUrl(`${env.emulator.url}${target}`)
    .withHttpRetryDelay(10)
    .withHttpOptions(AUTH);
}

/** Everything must match; the reference's probe leaves one pending upload (compat.md §13 "probe initiate"). */
function expectSameOutcome(ref, our) {
  expect(our.rejection).toEqual(ref.rejection);
  expect(normaliseResult(our.result)).toEqual(normaliseResult(ref.result));
  expect(fileSequences(our.events)).toEqual(fileSequences(ref.events));
  expect(payloadShapes(our.events)).toEqual(payloadShapes(ref.events));
  expect(callSequence(our.events)).toEqual(callSequence(ref.events));
  expect(our.dam).toEqual(ref.dam);
  expect(our.state.violations).toEqual([]);
  expect(ref.state.violations).toEqual([]);
}

test('deep upload of a tree with names that trip clients up', async () => {
  const tree = makeTree(root);
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.FileSystemUpload();
    return { instance, run: () => Promise.resolve().then(() => instance.upload(fsOptions(lib).withDeepUpload(true), [tree.top])) };
  });
  expectSameOutcome(ref, our);
});

test('the reference probes with an extra initiate; we do not (compat.md §13 "probe initiate")', async () => {
  const tree = makeTree(root);
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.FileSystemUpload();
    return { instance, run: () => instance.upload(fsOptions(lib).withDeepUpload(true), [tree.top]) };
  });
  expect(ref.state.pendingUploads).toHaveLength(1);
  expect(our.state.pendingUploads).toEqual([]);
  expect(ref.state.counters.initiate.requests).toBe(our.state.counters.initiate.requests + 1);
  // All files of one folder go in one initiate (≤ 100), so we need one per folder with files.
  expect(our.state.counters.initiate.requests).toBe(new Set(tree.files.map((f) => path.posix.dirname(f.dam))).size);
});

test('shallow upload and several local paths', async () => {
  const tree = makeTree(root);
  const loose = path.join(root, 'loose file.txt');
  fs.writeFileSync(loose, bytes(700, 5));
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.FileSystemUpload();
    return { instance, run: () => instance.upload(fsOptions(lib), [loose, tree.top, path.join(tree.top, 'Sub Folder', 'big file.bin')]) };
  });
  expectSameOutcome(ref, our);
  expect(our.dam.assets.map((a) => a.path).sort()).toEqual([
    '/content/dam/target/a.txt',
    '/content/dam/target/big file.bin',
    '/content/dam/target/loose file.txt',
  ]);
});

test('deep upload of several trees and files', async () => {
  const tree = makeTree(root);
  const other = path.join(root, 'Other');
  fs.mkdirSync(path.join(other, 'inner'), { recursive: true });
  fs.writeFileSync(path.join(other, 'inner', 'x.bin'), bytes(1500, 9));
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.FileSystemUpload();
    return { instance, run: () => instance.upload(fsOptions(lib).withDeepUpload(true), [other, tree.top]) };
  });
  expectSameOutcome(ref, our);
});

function dbuOptions(lib, files, folder = '/content/dam') {
  return new lib.DirectBinaryUploadOptions()
    .withUrl(`${env.emulator.url}${folder}`)
    .withUploadFiles(files)
    .withHttpRetryDelay(10)
    .withHttpOptions(AUTH);
}

test('direct uploads from Buffers, with fileUrl, version fields and part headers', async () => {
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const files = [
      { fileName: 'buffer one.bin', fileSize: 3000, blob: bytes(3000, 1) },
      { fileName: 'second.jpg', fileSize: 10, blob: bytes(10, 2), partHeaders: { 'x-custom': 'yes' } },
      { fileUrl: `${env.emulator.url}/content/dam/by%20url.txt`, fileSize: 5, blob: Buffer.from('hello'), versionLabel: 'L', versionComment: 'C' },
    ];
    const instance = new lib.DirectBinaryUpload();
    return { instance, run: () => instance.uploadFiles(dbuOptions(lib, files)) };
  });
  expectSameOutcome(ref, our);
  expect(our.result.totalCompleted).toBe(3);
});

describe('conflicts', () => {
  const existing = async () => {
    const { Aem } = require('./helpers/http');
    const aem = new Aem(env.emulator, DEFAULT_AUTHORIZATION);
    expect((await aem.upload('/content/dam', 'taken.bin', bytes(2000, 1))).status).toBe(200);
  };
  const upload = (extra) => async (lib) => {
    const instance = new lib.DirectBinaryUpload();
    return { instance, run: () => instance.uploadFiles(dbuOptions(lib, [{ fileName: 'taken.bin', fileSize: 2500, blob: bytes(2500, 2), ...extra }])) };
  };

  test('a plain re-upload fails with EALREADYEXISTS', async () => {
    const { ref, our } = await compare(env.emulator, upload({}), existing);
    expectSameOutcome(ref, our);
    expect(our.result.detailedResult[0].result.errors[0].code).toBe('EALREADYEXISTS');
  });

  test('replace re-creates the asset', async () => {
    const { ref, our } = await compare(env.emulator, upload({ replace: true }), existing);
    expectSameOutcome(ref, our);
    expect(our.dam.assets[0]).toMatchObject({ size: 2500, versions: [] });
  });

  test('createVersion with a label and a comment keeps the old binary as a version', async () => {
    const { ref, our } = await compare(env.emulator, upload({ createVersion: true, versionLabel: 'v2', versionComment: 'second' }), existing);
    expectSameOutcome(ref, our);
    expect(our.dam.assets[0].versions).toEqual([{ label: 'v2', comment: 'second', size: 2000, sha256: expect.any(String) }]);
  });
});

test('injected 503s are retried by both; only we report them in retryErrors (compat.md §13)', async () => {
  const tree = makeTree(root);
  const prepare = () => env.emulator.configure({ faults: { seed: 11, routes: { part: { status503: 0.4, maxAttempt: 1 }, initiate: { status503: 0.5, maxAttempt: 1 } } } });
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.FileSystemUpload();
    return { instance, run: () => instance.upload(fsOptions(lib).withDeepUpload(true), [tree.top]) };
  }, prepare);
  expect(ref.result.retryErrors).toEqual([]);
  expect(our.result.retryErrors.length).toBeGreaterThan(0);
  expect(our.result.retryErrors[0]).toEqual({ message: 'Request failed with status code 503', code: 'EUNKNOWN', innerStack: '' });
  ref.result.retryErrors = [];
  our.result.retryErrors = [];
  expectSameOutcome(ref, our);
});

test('429 with Retry-After: the reference fails the file, we wait and retry (compat.md §13)', async () => {
  const prepare = () => env.emulator.configure({ faults: { routes: { complete: { status429: 1, retryAfterSeconds: 0, maxAttempt: 1 } } } });
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.DirectBinaryUpload();
    return { instance, run: () => instance.uploadFiles(dbuOptions(lib, [{ fileName: 'r.bin', fileSize: 10, blob: bytes(10) }])) };
  }, prepare);
  expect(ref.result.totalCompleted).toBe(0);
  expect(ref.result.detailedResult[0].result.errors[0].message).toBe('Request failed with status code 429');
  expect(our.result.totalCompleted).toBe(1);
  expect(our.dam.assets).toHaveLength(1);
});

test('an expired part URL: the reference fails the file, we initiate again (compat.md §13)', async () => {
  // Two attempts: the reference's probe takes the first, its real initiate the second.
  const prepare = () => env.emulator.configure({ faults: { routes: { initiate: { expiredUrls: 1, maxAttempt: 2 } } } });
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.DirectBinaryUpload();
    return { instance, run: () => instance.uploadFiles(dbuOptions(lib, [{ fileName: 'e.bin', fileSize: 10, blob: bytes(10) }])) };
  }, prepare);
  expect(ref.result.detailedResult[0].result.errors[0].code).toBe('EFORBIDDEN');
  expect(our.result.totalCompleted).toBe(1);
  expect(our.state.counters.initiate.requests).toBe(3);
  expect(our.state.violations).toEqual([]);
});

test('wrong credentials: files fail with ENOTAUTHORIZED; folder creation rejects', async () => {
  const wrong = { headers: { Authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` } };
  const dbu = await compare(env.emulator, async (lib) => {
    const instance = new lib.DirectBinaryUpload();
    return { instance, run: () => instance.uploadFiles(dbuOptions(lib, [{ fileName: 'a.bin', fileSize: 10, blob: bytes(10) }]).withHttpRetryCount(0).withHttpOptions(wrong)) };
  });
  expectSameOutcome(dbu.ref, dbu.our);
  expect(dbu.our.result.detailedResult[0].result.errors[0].code).toBe('ENOTAUTHORIZED');
  const tree = makeTree(root);
  const fsu = await compare(env.emulator, async (lib) => {
    const instance = new lib.FileSystemUpload();
    return { instance, run: () => instance.upload(fsOptions(lib).withHttpOptions(wrong), [tree.top]) };
  });
  expect(fsu.our.rejection).toEqual(fsu.ref.rejection);
  expect(fsu.our.rejection).toMatchObject({ code: 'ENOTAUTHORIZED', isUploadError: true });
  expect(fsu.our.events).toEqual([]);
});

test('a missing target folder: every file fails with ENOTFOUND', async () => {
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.DirectBinaryUpload();
    const files = [{ fileName: 'a.bin', fileSize: 10, blob: bytes(10) }, { fileName: 'b.bin', fileSize: 10, blob: bytes(10) }];
    return { instance, run: () => instance.uploadFiles(dbuOptions(lib, files, '/content/dam/missing')) };
  });
  expectSameOutcome(ref, our);
  expect(our.result.detailedResult.map((d) => d.result.errors[0].code)).toEqual(['ENOTFOUND', 'ENOTFOUND']);
});

test('too many files rejects with ETOOLARGE after the chain exists', async () => {
  const tree = makeTree(root);
  for (const max of [3, 5]) {
    const { ref, our } = await compare(env.emulator, async (lib) => {
      const instance = new lib.FileSystemUpload();
      return { instance, run: () => instance.upload(fsOptions(lib).withDeepUpload(true).withMaxUploadFiles(max), [tree.top]) };
    });
    expect(our.rejection).toEqual(ref.rejection);
    expect(our.rejection.code).toBe('ETOOLARGE');
    expect(our.dam).toEqual(ref.dam);
    expect(our.dam.folders.map((f) => f.path)).toEqual(['/content/dam/target']);
  }
});

test('missing local paths are dropped; the rest uploads', async () => {
  const file = path.join(root, 'present.txt');
  fs.writeFileSync(file, 'present');
  fs.symlinkSync(path.join(root, 'nowhere'), path.join(root, 'broken-link'));
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.FileSystemUpload();
    return { instance, run: () => instance.upload(fsOptions(lib), [path.join(root, 'absent'), file, path.join(root, 'broken-link')]) };
  });
  expectSameOutcome(ref, our);
  expect(our.result.totalCompleted).toBe(1);
});

test('names: punctuation, dots, temp files, empty folders, zero bytes and symlinks', async () => {
  const top = path.join(root, 'Names');
  const write = (rel, size) => {
    fs.mkdirSync(path.dirname(path.join(top, rel)), { recursive: true });
    fs.writeFileSync(path.join(top, rel), bytes(size, rel.length));
  };
  ['v1.2.3.txt', 'curly{x}.txt', 'pct%20.txt', 'q?.txt', 'hash#1.txt', 'a b.txt', 'Ünï cødé.txt', 'x.tmp', 'y.~tmp', '~z.txt', '.dot',
    'desktop.ini', 'Thumbs.db', 'TestFile.txt', 'Adobe Bridge Cache.bc', 'dir.with.dots/in.txt', 'R&D "Q1"/doc.txt', 'Empty']
    .forEach((rel) => (rel === 'Empty' ? fs.mkdirSync(path.join(top, rel)) : write(rel, 1200)));
  write('zero.txt', 0);
  fs.symlinkSync(path.join(top, 'v1.2.3.txt'), path.join(top, 'linked.txt'));
  fs.symlinkSync(path.join(top, 'dir.with.dots'), path.join(top, 'linked dir'));
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.FileSystemUpload();
    return { instance, run: () => instance.upload(fsOptions(lib).withDeepUpload(true), [top]) };
  });
  expectSameOutcome(ref, our);
  const assets = our.dam.assets.map((a) => a.path.replace('/content/dam/target/names/', '')).sort();
  expect(assets).toEqual([
    'a b.txt', 'curly-x-.txt', 'dir-with-dots/in.txt', 'hash-1.txt', 'linked-dir/in.txt', 'linked.txt', 'pct-20.txt', 'q-.txt',
    'r-d--q1-/doc.txt', 'v1.2.3.txt', 'Ünï cødé.txt',
  ]);
  expect(our.dam.folders.map((f) => f.path)).toContain('/content/dam/target/names/empty');
});

test('names with , + ; = @ $ & get a result and are counted only by us (compat.md §13)', async () => {
  const top = path.join(root, 'Punct');
  fs.mkdirSync(top);
  const names = ['a,b.txt', 'c+d.txt', 'e;f.txt', 'g=h.txt', 'i@j.txt', 'k$l.txt', 'plain.txt'];
  names.forEach((n, i) => fs.writeFileSync(path.join(top, n), bytes(50, i)));
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.FileSystemUpload();
    return { instance, run: () => instance.upload(fsOptions(lib), [top]) };
  });
  expect(our.dam).toEqual(ref.dam);
  expect(our.dam.assets).toHaveLength(7);
  expect(ref.result.totalCompleted).toBeLessThan(7);
  expect(ref.result.detailedResult.filter((d) => !d.result)).not.toHaveLength(0);
  expect(our.result.totalCompleted).toBe(7);
  expect(our.result.detailedResult.every((d) => d.result && !d.result.errors)).toBe(true);
});

test('an empty uploadFiles list: the reference throws a TypeError, we resolve a zero result (compat.md §13)', async () => {
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.DirectBinaryUpload();
    return { instance, run: () => instance.uploadFiles(dbuOptions(lib, [])) };
  });
  expect(ref.rejection).toMatchObject({ isUploadError: false });
  expect(ref.events.map((e) => e.name)).toEqual(['fileuploadstart']);
  expect(our.rejection).toBeUndefined();
  expect(our.events.map((e) => e.name)).toEqual(['fileuploadstart', 'fileuploadend']);
  expect(our.result).toMatchObject({ totalFiles: 0, totalCompleted: 0, totalFileSize: 0, detailedResult: [], errors: [] });
});

test('an unreadable filePath: the reference loses every result, we fail only that file (compat.md §13)', async () => {
  const good = path.join(root, 'good.txt');
  fs.writeFileSync(good, 'good bytes');
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.DirectBinaryUpload();
    const files = [
      { fileName: 'missing.txt', fileSize: 10, filePath: path.join(root, 'missing.txt') },
      { fileName: 'good.txt', fileSize: 10, filePath: good },
    ];
    return { instance, run: () => instance.uploadFiles(dbuOptions(lib, files)) };
  });
  expect(ref.result.totalCompleted).toBe(0);
  expect(our.result.totalCompleted).toBe(1);
  expect(our.result.detailedResult[0].result.errors[0].code).toBe('ENOENT');
  expect(our.dam.assets.map((a) => a.path)).toEqual(['/content/dam/good.txt']);
});

test('missing fields and relative URLs fail the whole call before any request', async () => {
  for (const [files, url] of [
    [[{ fileName: 'a.bin', blob: bytes(3) }], env.emulator.url],
    [[{ fileName: 'a.bin', fileSize: 3, blob: bytes(3) }], '/content/dam'],
  ]) {
    const { ref, our } = await compare(env.emulator, async (lib) => {
      const instance = new lib.DirectBinaryUpload();
      const options = dbuOptions(lib, files).withUrl(url.startsWith('/') ? url : `${url}/content/dam`);
      return { instance, run: () => instance.uploadFiles(options) };
    });
    expectSameOutcome(ref, our);
    expect(our.state.counters).toEqual({});
  }
});

test('create-asset fallback with a zero-byte file: the reference sends nothing, we fail only that file (compat.md §13)', async () => {
  const tree = makeTree(root);
  const prepare = () => env.emulator.configure({ directBinary: false });
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.FileSystemUpload();
    return { instance, run: () => instance.upload(fsOptions(lib).withDeepUpload(true), [tree.top]) };
  }, prepare);
  expect(ref.dam.assets).toEqual([]);
  expect(ref.result.detailedResult).toEqual([]);
  const assets = Object.fromEntries(our.dam.assets.map((a) => [a.path, a.sha256]));
  for (const file of tree.files) expect(assets[file.dam]).toBe(file.sha256);
  expect(our.result.totalCompleted).toBe(tree.files.length);
  const empty = our.result.detailedResult.find((d) => d.fileUrl.endsWith('/empty.txt'));
  expect(empty.result.errors[0]).toMatchObject({ code: 'EUNKNOWN', message: 'File cannot be uploaded: Empty file', uploadError: true });
  expect(our.state.counters.createasset.requests).toBe(tree.files.length);
  expect(our.state.counters.complete).toBeUndefined();
});

test('an affinity cookie set at initiate reaches the complete, never a blob URL', async () => {
  const prepare = () => env.emulator.configure({ affinityCookie: true, requireAffinityCookie: true });
  const { our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.DirectBinaryUpload();
    const files = [{ fileName: 'aff.bin', fileSize: 3000, blob: bytes(3000) }];
    return { instance, run: () => instance.uploadFiles(dbuOptions(lib, files).withHttpOptions({ headers: { Cookie: 'mine=1' } })) };
  }, prepare);
  env.emulator.configure({ affinityCookie: false, requireAffinityCookie: false });
  expect(our.result.totalCompleted).toBe(1);
  expect(our.state.violations).toEqual([]);
});

test('folder names kept with # by a processor: the reference truncates the URL, we encode each segment (compat.md §13)', async () => {
  const top = path.join(root, 'src');
  fs.mkdirSync(path.join(top, 'a#b'), { recursive: true });
  fs.writeFileSync(path.join(top, 'a#b', 'in.txt'), 'inside');
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.FileSystemUpload();
    const options = fsOptions(lib).withDeepUpload(true).withFolderNodeNameProcessor(async (name) => name);
    return { instance, run: () => instance.upload(options, [top]) };
  });
  expect(ref.dam.folders.map((f) => f.path)).not.toContain('/content/dam/target/src/a#b');
  expect(our.dam.folders.map((f) => f.path)).toContain('/content/dam/target/src/a#b');
  expect(our.dam.assets.map((a) => a.path)).toEqual(['/content/dam/target/src/a#b/in.txt']);
  expect(ref.dam.assets.map((a) => a.path)).not.toContain('/content/dam/target/src/a#b/in.txt');
});

test('withUploadFileOptions blob and fileName, httpOptions method and body: used by the reference, ignored by us (compat.md §13)', async () => {
  const file = path.join(root, 'real.txt');
  fs.writeFileSync(file, 'the real bytes');
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.FileSystemUpload();
    const options = fsOptions(lib).withUploadFileOptions({ blob: Buffer.from('NOT THE FILE!!'), fileName: 'other.txt' });
    return { instance, run: () => instance.upload(options, [file]) };
  });
  const { sha256 } = require('./helpers/http');
  expect(our.dam.assets).toEqual([expect.objectContaining({ path: '/content/dam/target/real.txt', sha256: sha256(Buffer.from('the real bytes')) })]);
  expect(ref.dam.assets).not.toEqual(our.dam.assets);

  const methods = await compare(env.emulator, async (lib) => {
    const instance = new lib.DirectBinaryUpload();
    const options = dbuOptions(lib, [{ fileName: 'm.txt', fileSize: 3, blob: Buffer.from('abc') }]).withHttpOptions({ method: 'DELETE', body: 'x' });
    return { instance, run: () => instance.uploadFiles(options) };
  });
  expect(methods.ref.result.totalCompleted).toBe(0);
  expect(methods.our.result.totalCompleted).toBe(1);
});

test('withHttpRequestTimeout: ignored by the reference, an idle timeout for us (compat.md §13)', async () => {
  const prepare = () => env.emulator.configure({ faults: { routes: { initiate: { latencyMs: 1500, maxAttempt: 2 } } } });
  const { ref, our } = await compare(env.emulator, async (lib) => {
    const instance = new lib.DirectBinaryUpload();
    const options = dbuOptions(lib, [{ fileName: 't.bin', fileSize: 3, blob: Buffer.from('abc') }]).withHttpRequestTimeout(300);
    return { instance, run: () => instance.uploadFiles(options) };
  }, prepare);
  // The reference waits out the stall; we give up after 300 idle ms and retry.
  expect(ref.result.totalCompleted).toBe(1);
  expect(our.result.totalCompleted).toBe(1);
  // Attempts 1 and 2 stall (maxAttempt: 2); the third is answered.
  expect(our.result.retryErrors).toEqual([
    { code: 'ETIMEDOUT', message: 'No data moved for 300 ms', innerStack: '' },
    { code: 'ETIMEDOUT', message: 'No data moved for 300 ms', innerStack: '' },
  ]);
});

test('withHttpRetryCount(0) means one attempt (the reference retries for about a minute, not run here)', async () => {
  env.emulator.reset();
  env.emulator.configure({ faults: { routes: { initiate: { status503: 1 } } } });
  const upload = new (require('..').DirectBinaryUpload)();
  const result = await upload.uploadFiles(dbuOptions(require('..'), [{ fileName: 'z.bin', fileSize: 3, blob: Buffer.from('abc') }]).withHttpRetryCount(0));
  expect(result.detailedResult[0].result.errors[0].message).toBe('Request failed with status code 503');
  // One injected 503 for this request key: one attempt.
  expect(env.emulator.state().faults.filter((f) => f.key === '/content/dam|z.bin')).toHaveLength(1);
});

test('secrets: the reference shows signed URLs in its errors; ours never carry credentials or signatures (compat.md §13)', async () => {
  const canary = 'canary-password-7f3a';
  env.emulator.configure({ auth: { basic: { admin: 'admin', canary } } });
  const secretAuth = { headers: { Authorization: `Basic ${Buffer.from(`canary:${canary}`).toString('base64')}`, Cookie: 'session=canary-cookie-9b' } };
  const prepare = () => env.emulator.configure({ faults: { routes: { part: { status503: 1 } } } });
  const lines = [];
  const { ref, our } = await compare(env.emulator, async (lib, which) => {
    const log = which === 'ours' ? { debug: (m) => lines.push(m), info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) } : undefined;
    const instance = new lib.DirectBinaryUpload(which === 'ours' ? { log } : {});
    const options = dbuOptions(lib, [{ fileName: 's.bin', fileSize: 3000, blob: bytes(3000) }]).withHttpRetryCount(1).withHttpOptions(secretAuth);
    return { instance, run: () => instance.uploadFiles(options) };
  }, prepare);
  const everything = (side) => JSON.stringify([side.result, side.events]) + (side === our ? lines.join('\n') : '');
  const refText = JSON.stringify(ref.result.detailedResult.map((d) => d.result && d.result.errors && d.result.errors.map((e) => [e.message, e.innerStack])));
  expect(refText).toMatch(/sig=/);
  const ourText = everything(our);
  expect(our.result.totalCompleted).toBe(0);
  for (const secret of ['sig=', 'se=', canary, Buffer.from(`canary:${canary}`).toString('base64'), 'canary-cookie-9b', 'uploadToken']) {
    expect(ourText).not.toContain(secret);
  }
  env.emulator.configure({ auth: { basic: { admin: 'admin', canary: null } } });
  expect(our.state.violations).toEqual([]);
});
