'use strict';

// The public API as a user meets it: exports, options classes (checked
// against the reference's), errors, name processors, listeners, logging,
// cancellation and the kinds of blob an upload file may carry.

const fs = require('fs');
const path = require('path');
const { Readable } = require('stream');
const reference = require('@adobe/aem-upload');
const ours = require('..');
const { useEmulator, tempDir, bytes, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');
const { sha256 } = require('./helpers/http');

const env = useEmulator({ minPartSize: 1024, maxPartSize: 1024 * 1024 });
beforeEach(() => {
  env.emulator.reset();
  env.emulator.configure({ faults: { routes: null } });
});

const AUTH = { headers: { Authorization: DEFAULT_AUTHORIZATION } };

function dbuOptions(files, folder = '/content/dam') {
  return new ours.DirectBinaryUploadOptions()
    .withUrl(`${env.emulator.url}${folder}`)
    .withUploadFiles(files)
    .withHttpRetryDelay(10)
    .withHttpOptions(AUTH);
}

describe('exports', () => {
  test('exactly the reference five keys, in order, and the same error codes', () => {
    expect(Object.keys(ours)).toEqual(Object.keys(reference));
    expect(Object.keys(ours)).toEqual(['DirectBinaryUpload', 'DirectBinaryUploadOptions', 'DirectBinaryUploadErrorCodes', 'FileSystemUpload', 'FileSystemUploadOptions']);
    expect(ours.DirectBinaryUploadErrorCodes).toEqual(reference.DirectBinaryUploadErrorCodes);
    expect(Object.keys(ours.DirectBinaryUploadErrorCodes)).toEqual(Object.keys(reference.DirectBinaryUploadErrorCodes));
    expect(new ours.FileSystemUpload()).toBeInstanceOf(ours.DirectBinaryUpload);
    expect(new ours.DirectBinaryUpload()).toBeInstanceOf(require('events').EventEmitter);
  });
});

describe('options classes behave like the reference', () => {
  const scripts = [
    (o) => o,
    (o) => o.withUrl('http://host:4502/content/dam/a%20b/').withConcurrent(false).withHttpRetryCount(0).withHttpRetryDelay(7),
    (o) => o.withUrl('').withMaxConcurrent(0).withHttpRequestTimeout(9),
    (o) => o.withUrl('/content/dam/relative').withConcurrent(true)
      .withHttpOptions({ headers: { a: '1', b: '2' }, timeout: 3 })
      .withHttpOptions({ headers: { b: '3' }, method: 'PUT' }),
    (o) => o.withUrl('https://h.example/content/dam').withUploadFiles([{ fileName: 'x', fileSize: 1, filePath: '/x' }]),
  ];
  const observe = (o) => ({
    json: o.toJSON(),
    url: o.getUrl(),
    folder: o.getTargetFolderPath(),
    prefix: o.getUrlPrefix(),
    files: o.getUploadFiles(),
    concurrent: o.isConcurrent(),
    max: o.getMaxConcurrent(),
    http: o.getHttpOptions(),
    retries: [o.getHttpRetryCount(), o.getHttpRetryDelay(), o.getHttpRequestTimeout()],
  });

  test.each(scripts.map((s, i) => [i, s]))('DirectBinaryUploadOptions script %i', (i, script) => {
    expect(observe(script(new ours.DirectBinaryUploadOptions()))).toEqual(observe(script(new reference.DirectBinaryUploadOptions())));
  });

  test.each(scripts.map((s, i) => [i, s]))('FileSystemUploadOptions script %i', (i, script) => {
    const fsObserve = (o) => ({
      ...observe(o),
      maxFiles: o.getMaxUploadFiles(),
      deep: o.getDeepUpload(),
      replace: o.getInvalidCharacterReplaceValue(),
      fileOptions: o.getUploadFileOptions(),
    });
    const run = (lib) => fsObserve(script(new lib.FileSystemUploadOptions()).withMaxUploadFiles(0).withDeepUpload('yes').withUploadFileOptions({ replace: true }));
    expect(run(ours)).toEqual(run(reference));
  });

  test('withInvalidCharacterReplaceValue: deterministic refusal of / : [ ] | * \\', () => {
    const o = new ours.FileSystemUploadOptions();
    for (const bad of ['/', ':', '[', ']', '|', '*', '\\', 'a:b']) {
      for (let i = 0; i < 3; i += 1) {
        expect(() => o.withInvalidCharacterReplaceValue(bad)).toThrow(expect.objectContaining({
          code: 'EINVALIDOPTIONS', message: 'Invalid character replace value contains invalid characters',
        }));
      }
    }
    expect(o.withInvalidCharacterReplaceValue('.').getInvalidCharacterReplaceValue()).toBe('.');
    expect(o.withInvalidCharacterReplaceValue('#').getInvalidCharacterReplaceValue()).toBe('#');
  });

  test('default processors follow compat.md §6 and read the replace value at call time', async () => {
    const o = new ours.FileSystemUploadOptions();
    const folder = o.getFolderNodeNameProcessor();
    const asset = o.getAssetNodeNameProcessor();
    o.withInvalidCharacterReplaceValue('X');
    expect(await folder('My Dir')).toBe('myxdir');
    o.withInvalidCharacterReplaceValue('-');
    expect(await folder('My Dir #1')).toBe('my-dir--1');
    expect(await asset('a b#c%d{e}f?g&h')).toBe('a b-c-d-e-f-g-h');
  });

  test('fromOptions copies options, signal, replace value, processors and file options', () => {
    const signal = new AbortController().signal;
    const processor = async (n) => n;
    const source = new ours.FileSystemUploadOptions().withUrl('http://h/content/dam').withDeepUpload(true)
      .withInvalidCharacterReplaceValue('_').withFolderNodeNameProcessor(processor).withUploadFileOptions({ replace: true }).withAbortSignal(signal);
    const copy = ours.FileSystemUploadOptions.fromOptions(source);
    expect(copy.toJSON()).toEqual(source.toJSON());
    expect(copy.toJSON()).not.toBe(source.toJSON());
    expect(copy.getAbortSignal()).toBe(signal);
    expect(copy.getInvalidCharacterReplaceValue()).toBe('_');
    expect(copy.getFolderNodeNameProcessor()).toBe(processor);
    expect(copy.getUploadFileOptions()).toEqual({ replace: true });
    expect('abortSignal' in copy.toJSON()).toBe(false);
    const plain = ours.FileSystemUploadOptions.fromOptions(new ours.DirectBinaryUploadOptions().withUrl('http://h/x'));
    expect(plain.getUrl()).toBe('http://h/x');
    expect(plain.getInvalidCharacterReplaceValue()).toBe('-');
  });
});

describe('UploadError', () => {
  test('errors in results are UploadError instances with the reference methods', async () => {
    const upload = new ours.DirectBinaryUpload();
    const errors = [];
    upload.on('fileerror', (e) => errors.push(...e.errors));
    await upload.uploadFiles(dbuOptions([{ fileName: 'e.txt', fileSize: 0, blob: Buffer.alloc(0) }]));
    const [error] = errors;
    expect(error).toBeInstanceOf(Error);
    expect(error.uploadError).toBe(true);
    expect(error.getCode()).toBe('EUNKNOWN');
    expect(error.getMessage()).toBe('File cannot be uploaded: Empty file');
    expect(error.getHttpStatusCode()).toBe(500);
    expect(typeof error.getInnerStack()).toBe('string');
    // The reference's error for it carries a stack, so the key is there even when ours is empty.
    expect(error.toJSON()).toEqual({ message: 'File cannot be uploaded: Empty file', code: 'EUNKNOWN', innerStack: '' });
    expect(JSON.parse(error.toString())).toEqual(error.toJSON());
  });

  test.each([
    ['EINVALIDOPTIONS', 400], ['ENOTAUTHORIZED', 401], ['EFORBIDDEN', 403], ['ENOTFOUND', 404], ['EALREADYEXISTS', 409],
    ['ETOOLARGE', 413], ['ETOOMANYREQUESTS', 429], ['ENOTSUPPORTED', 501], ['EUNKNOWN', 500], ['ETIMEDOUT', 500],
  ])('getHttpStatusCode of %s is %i', (code, status) => {
    const UploadError = require('../lib/upload-error');
    expect(new UploadError('m', code).getHttpStatusCode()).toBe(status);
  });
});

describe('uploads through the public API', () => {
  test('custom async name processors are used, and their output still passes the mandatory step', async () => {
    const root = tempDir();
    fs.mkdirSync(path.join(root, 'Src', 'Child Dir'), { recursive: true });
    fs.writeFileSync(path.join(root, 'Src', 'Child Dir', 'My File.txt'), 'abc');
    const options = new ours.FileSystemUploadOptions()
      .withUrl(`${env.emulator.url}/content/dam/custom`)
      .withDeepUpload(true)
      .withHttpOptions(AUTH)
      .withFolderNodeNameProcessor(async (name) => `F_${name.replace(/ /g, '_')}:x`)
      .withAssetNodeNameProcessor(async (name) => new Promise((resolve) => setTimeout(() => resolve(name.toUpperCase()), 5)));
    const result = await new ours.FileSystemUpload().upload(options, [path.join(root, 'Src')]);
    expect(result.totalCompleted).toBe(1);
    expect(env.emulator.state().assets.map((a) => a.path)).toEqual(['/content/dam/custom/F_Src-x/F_Child_Dir-x/MY FILE.txt']);
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('throwing file-event listeners are ignored; a throwing fileuploadstart listener rejects', async () => {
    const upload = new ours.DirectBinaryUpload();
    upload.on('filestart', () => { throw new Error('listener bug'); });
    upload.on('fileend', () => { throw new Error('listener bug'); });
    const result = await upload.uploadFiles(dbuOptions([{ fileName: 'l.txt', fileSize: 3, blob: Buffer.from('abc') }]));
    expect(result.totalCompleted).toBe(1);
    const rejecting = new ours.DirectBinaryUpload();
    rejecting.on('fileuploadstart', () => { throw new Error('start listener'); });
    await expect(rejecting.uploadFiles(dbuOptions([{ fileName: 'm.txt', fileSize: 3, blob: Buffer.from('abc') }]))).rejects.toMatchObject({ uploadError: true, message: 'start listener' });
  });

  test('fileuploadstart is emitted synchronously inside the call', () => {
    const upload = new ours.DirectBinaryUpload();
    const seen = [];
    upload.on('fileuploadstart', (p) => seen.push(p));
    const promise = upload.uploadFiles(dbuOptions([{ fileName: 's.txt', fileSize: 3, blob: Buffer.from('abc') }]));
    expect(seen).toEqual([{ uploadId: expect.stringMatching(/^[0-9a-f-]{36}$/), fileCount: 1, totalSize: 3, directoryCount: 0 }]);
    return promise;
  });

  test('silent by default; a per-instance log gets lines without credentials or signatures', async () => {
    const writes = [];
    const spies = [jest.spyOn(process.stdout, 'write').mockImplementation((c) => { writes.push(String(c)); return true; }),
      jest.spyOn(process.stderr, 'write').mockImplementation((c) => { writes.push(String(c)); return true; })];
    const consoleSpies = ['log', 'info', 'warn', 'error', 'debug'].map((m) => jest.spyOn(console, m));
    try {
      await new ours.DirectBinaryUpload().uploadFiles(dbuOptions([{ fileName: 'quiet.txt', fileSize: 3, blob: Buffer.from('abc') }]));
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
    expect(writes).toEqual([]);
    consoleSpies.forEach((s) => { expect(s).not.toHaveBeenCalled(); s.mockRestore(); });

    const lines = [];
    const log = { debug: (m) => lines.push(['debug', m]), info: (m) => lines.push(['info', m]), warn: (m) => lines.push(['warn', m]), error: (m) => lines.push(['error', m]) };
    await new ours.DirectBinaryUpload({ log }).uploadFiles(dbuOptions([{ fileName: 'loud.txt', fileSize: 3000, blob: bytes(3000) }]));
    expect(lines.some(([level, m]) => level === 'info' && m.includes("Upload COMPLETE 'loud.txt'"))).toBe(true);
    expect(lines.some(([level, m]) => level === 'debug' && m.startsWith('PUT '))).toBe(true);
    const text = lines.map(([, m]) => m).join('\n');
    expect(text).not.toContain('sig=');
    expect(text).not.toContain(DEFAULT_AUTHORIZATION.split(' ')[1]);
    // A broken logger does not break the upload.
    const broken = { info: () => { throw new Error('x'); } };
    const result = await new ours.DirectBinaryUpload({ log: broken }).uploadFiles(dbuOptions([{ fileName: 'b.txt', fileSize: 3, blob: Buffer.from('abc') }]));
    expect(result.totalCompleted).toBe(1);
  });

  test('every blob kind lands exact bytes; a string blob fails that file only', async () => {
    const data = (seed) => bytes(2500, seed);
    const files = [
      { fileName: 'buffer.bin', fileSize: 2500, blob: data(1) },
      { fileName: 'uint8.bin', fileSize: 2500, blob: new Uint8Array(data(2)) },
      { fileName: 'arraybuffer.bin', fileSize: 2500, blob: new Uint8Array(data(3)).buffer },
      { fileName: 'blob.bin', fileSize: 2500, blob: new Blob([data(4)]) },
      { fileName: 'readable.bin', fileSize: 2500, blob: Readable.from([data(5).subarray(0, 1000), data(5).subarray(1000)]) },
      { fileName: 'web.bin', fileSize: 2500, blob: Readable.toWeb(Readable.from([data(6)])) },
      { fileName: 'slice.bin', fileSize: 2500, blob: { slice: async (start, end) => data(7).subarray(start, end) } },
      { fileName: 'string.bin', fileSize: 6, blob: 'string' },
    ];
    const result = await new ours.DirectBinaryUpload().uploadFiles(dbuOptions(files));
    expect(result.totalCompleted).toBe(7);
    const failed = result.detailedResult.find((d) => d.fileUrl.endsWith('string.bin'));
    expect(failed.result.errors[0].code).toBe('EINVALIDOPTIONS');
    expect(failed.blob).toBe('<provided>');
    const assets = Object.fromEntries(env.emulator.state().assets.map((a) => [a.path.split('/').pop(), a.sha256]));
    for (let i = 1; i <= 7; i += 1) expect(assets[files[i - 1].fileName]).toBe(sha256(data(i)));
  });

  test('a source shorter or longer than fileSize fails with a clear error and sends nothing', async () => {
    const result = await new ours.DirectBinaryUpload().uploadFiles(dbuOptions([
      { fileName: 'short.bin', fileSize: 10, blob: Buffer.alloc(9) },
      { fileName: 'long.bin', fileSize: 10, blob: Buffer.alloc(11) },
    ]));
    expect(result.detailedResult.map((d) => d.result.errors[0].message)).toEqual([
      "Source size mismatch for 'short.bin': declared 10 bytes, source has 9 bytes",
      "Source size mismatch for 'long.bin': declared 10 bytes, source has 11 bytes",
    ]);
    expect(env.emulator.requests()).toEqual([]);
  });

  test('fileprogress: at least one per part, transferred never decreasing, ending at fileSize', async () => {
    const upload = new ours.DirectBinaryUpload();
    const progress = [];
    upload.on('fileprogress', (p) => progress.push(p.transferred));
    await upload.uploadFiles(dbuOptions([{ fileName: 'p.bin', fileSize: 10 * 1024, blob: bytes(10 * 1024) }]));
    expect(progress.length).toBeGreaterThanOrEqual(10);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    expect(progress[progress.length - 1]).toBe(10 * 1024);
  });
});

describe('progress', () => {
  test('a fileprogress listener added during the call gets progress from then on', async () => {
    env.emulator.configure({ faults: { routes: { part: { latencyMs: 30 } } } });
    const upload = new ours.DirectBinaryUpload();
    const progress = [];
    upload.once('filestart', () => upload.on('fileprogress', (p) => progress.push(p.transferred)));
    await upload.uploadFiles(dbuOptions([{ fileName: 'late.bin', fileSize: 10 * 1024, blob: bytes(10 * 1024) }]).withMaxConcurrent(1));
    expect(progress.length).toBeGreaterThanOrEqual(5);
    expect(progress[progress.length - 1]).toBe(10 * 1024);
  });
});

describe('folders', () => {
  test('slow folder creation: every folder exists before the first file starts, events in that order', async () => {
    const root = tempDir();
    try {
      for (const sub of ['a', 'a/b', 'c']) {
        fs.mkdirSync(path.join(root, 'tree', sub), { recursive: true });
        fs.writeFileSync(path.join(root, 'tree', sub, 'f.bin'), bytes(2048, sub.length));
      }
      env.emulator.configure({ faults: { routes: { folder: { latencyMs: 150 } } } });
      const upload = new ours.FileSystemUpload();
      const events = [];
      upload.on('foldercreated', (p) => events.push(`folder ${p.targetFolder}`));
      upload.on('filestart', (p) => events.push(`start ${p.targetFile}`));
      const options = new ours.FileSystemUploadOptions()
        .withUrl(`${env.emulator.url}/content/dam/slow`)
        .withDeepUpload(true)
        .withHttpOptions(AUTH);
      const result = await upload.upload(options, [path.join(root, 'tree')]);
      expect(result.totalCompleted).toBe(3);
      const firstStart = events.findIndex((e) => e.startsWith('start'));
      expect(events.slice(0, firstStart).sort()).toEqual([
        'folder /content/dam/slow', 'folder /content/dam/slow/tree', 'folder /content/dam/slow/tree/a',
        'folder /content/dam/slow/tree/a/b', 'folder /content/dam/slow/tree/c',
      ]);
      const routes = env.emulator.requests().map((r) => r.route);
      expect(routes.filter((r) => r === 'folder')).toHaveLength(5);
      expect(routes.lastIndexOf('folder')).toBeLessThan(routes.indexOf('initiate'));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('cancellation', () => {
  const slowParts = () => env.emulator.configure({ faults: { routes: { part: { latencyMs: 300 } } } });
  const twoFiles = () => [
    { fileName: 'one.bin', fileSize: 4096, blob: bytes(4096, 1) },
    { fileName: 'two.bin', fileSize: 4096, blob: bytes(4096, 2) },
  ];

  test('cancel(): unfinished files emit filecancelled, the call resolves, nothing is completed', async () => {
    slowParts();
    const upload = new ours.DirectBinaryUpload();
    const cancelled = [];
    upload.on('filecancelled', (p) => cancelled.push(p));
    upload.on('filestart', () => setTimeout(() => upload.cancel(), 50));
    const ended = [];
    upload.on('fileuploadend', (p) => ended.push(p));
    const result = await upload.uploadFiles(dbuOptions(twoFiles()));
    expect(cancelled.map((c) => c.fileName).sort()).toEqual(['one.bin', 'two.bin']);
    expect(cancelled[0].errors[0]).toMatchObject({ code: 'EUSERCANCELLED', message: 'Upload cancelled by user', uploadError: true });
    expect(result.totalCompleted).toBe(0);
    expect(result.detailedResult[0].result.errors[0].code).toBe('EUSERCANCELLED');
    expect(ended).toHaveLength(1);
    expect(env.emulator.state().assets).toEqual([]);
    expect(env.emulator.requests().filter((r) => r.route === 'complete')).toEqual([]);
  });

  test('cancelFile(targetPath) cancels one file and says whether one matched', async () => {
    slowParts();
    const upload = new ours.DirectBinaryUpload();
    let answer;
    upload.once('filestart', () => setTimeout(() => { answer = upload.cancelFile('/content/dam/one.bin'); }, 50));
    const result = await upload.uploadFiles(dbuOptions(twoFiles()));
    expect(answer).toBe(true);
    expect(upload.cancelFile('/content/dam/one.bin')).toBe(false);
    const byName = Object.fromEntries(result.detailedResult.map((d) => [d.fileUrl.split('/').pop(), d.result]));
    expect(byName['one.bin'].errors[0].code).toBe('EUSERCANCELLED');
    expect(byName['two.bin'].errors).toBeUndefined();
    expect(env.emulator.state().assets.map((a) => a.path)).toEqual(['/content/dam/two.bin']);
  });

  test('withAbortSignal and the constructor signal act like cancel(), at once if already aborted', async () => {
    slowParts();
    const controller = new AbortController();
    const upload = new ours.DirectBinaryUpload();
    upload.once('filestart', () => setTimeout(() => controller.abort(), 50));
    const result = await upload.uploadFiles(dbuOptions(twoFiles()).withAbortSignal(controller.signal));
    expect(result.totalCompleted).toBe(0);
    expect(result.detailedResult.every((d) => d.result.errors[0].code === 'EUSERCANCELLED')).toBe(true);

    const aborted = AbortSignal.abort();
    const early = await new ours.DirectBinaryUpload({ signal: aborted }).uploadFiles(dbuOptions(twoFiles()));
    expect(early.errors).toEqual([{ code: 'EUSERCANCELLED', message: 'Upload cancelled by user' }]);
    const fsEarly = await new ours.FileSystemUpload({ signal: aborted }).upload(
      new ours.FileSystemUploadOptions().withUrl(`${env.emulator.url}/content/dam/never`).withHttpOptions(AUTH), [__filename],
    );
    expect(fsEarly.errors[0].code).toBe('EUSERCANCELLED');
    expect(env.emulator.state().folders.map((f) => f.path)).not.toContain('/content/dam/never');
  });
});
