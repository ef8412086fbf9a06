'use strict';

// Wrong types and values for every option and upload-file field (issue 6):
// each gets a clear EINVALIDOPTIONS error (or the coercion the README
// documents), sends nothing, and never crashes, hangs or rejects unhandled.
// Target paths that could escape their folder fail only their own file.

const path = require('path');
const fs = require('fs');
const ours = require('..');
const { useEmulator, tempDir, bytes, DEFAULT_AUTHORIZATION } = require('./helpers/emulator');

const env = useEmulator({ minPartSize: 1024, maxPartSize: 1024 * 1024 });
beforeEach(() => env.emulator.reset());

const AUTH = { headers: { Authorization: DEFAULT_AUTHORIZATION } };
const good = () => ({ fileName: 'good.bin', fileSize: 3, blob: bytes(3) });

function dbu(files = [good()]) {
  return new ours.DirectBinaryUploadOptions()
    .withUrl(`${env.emulator.url}/content/dam`)
    .withUploadFiles(files)
    .withHttpRetryDelay(10)
    .withHttpOptions(AUTH);
}

/** Runs a DirectBinaryUpload call and returns its result and events. */
async function runDbu(options) {
  const upload = new ours.DirectBinaryUpload();
  const events = [];
  for (const name of ['fileuploadstart', 'fileuploadend', 'filestart', 'fileerror', 'fileend']) {
    upload.on(name, (payload) => events.push([name, payload]));
  }
  const result = await upload.uploadFiles(options);
  return { result, events };
}

const badOptions = [
  ['maxConcurrent NaN', (o) => o.withMaxConcurrent(NaN), /maxConcurrent/],
  ['maxConcurrent a word', (o) => o.withMaxConcurrent('many'), /maxConcurrent/],
  ['maxConcurrent an object', (o) => o.withMaxConcurrent({}), /maxConcurrent/],
  ['retryCount negative', (o) => o.withHttpRetryCount(-1), /retryCount/],
  ['retryCount NaN', (o) => o.withHttpRetryCount(NaN), /retryCount/],
  ['retryCount Infinity', (o) => o.withHttpRetryCount(Infinity), /retryCount/],
  ['retryCount huge', (o) => o.withHttpRetryCount(1e12), /retryCount/],
  ['retryCount empty string', (o) => o.withHttpRetryCount(''), /retryCount/],
  ['retryDelay negative', (o) => o.withHttpRetryDelay(-5), /retryDelay/],
  ['retryDelay Infinity', (o) => o.withHttpRetryDelay(Infinity), /retryDelay/],
  ['retryDelay a boolean', (o) => o.withHttpRetryDelay(true), /retryDelay/],
  ['requestTimeout negative', (o) => o.withHttpRequestTimeout(-1), /requestTimeout/],
  ['requestTimeout NaN', (o) => o.withHttpRequestTimeout(NaN), /requestTimeout/],
  ['requestTimeout a word', (o) => o.withHttpRequestTimeout('soon'), /requestTimeout/],
  ['httpOptions an array', (o) => { o.options.httpOptions = []; return o; }, /httpOptions/],
  ['httpOptions a string', (o) => { o.options.httpOptions = 'x'; return o; }, /httpOptions/],
  ['headers a string', (o) => { o.options.httpOptions = { headers: 'Authorization: x' }; return o; }, /httpOptions.headers/],
  ['header name with a space', (o) => o.withHttpOptions({ headers: { 'X Bad': '1' } }), /header name/],
  ['header value with CRLF', (o) => o.withHttpOptions({ headers: { 'X-A': 'a\r\nX-Injected: 1' } }), /X-A/],
  ['header value with NUL', (o) => o.withHttpOptions({ headers: { 'X-A': 'a\0' } }), /X-A/],
  ['header value an object', (o) => o.withHttpOptions({ headers: { 'X-A': {} } }), /X-A/],
  ['httpOptions.timeout negative', (o) => o.withHttpOptions({ timeout: -3 }), /httpOptions.timeout/],
  ['cloudClient a number', (o) => o.withHttpOptions({ cloudClient: 3 }), /cloudClient/],
  ['cloudClient.retry.count NaN', (o) => o.withHttpOptions({ cloudClient: { retry: { count: NaN } } }), /retry.count/],
  ['agent a string', (o) => o.withHttpOptions({ agent: 'keepalive' }), /agent/],
  ['journal an empty string', (o) => o.withJournal(''), /journal/],
  ['journal a number', (o) => o.withJournal(5), /journal/],
  ['url not http', (o) => o.withUrl('ftp://example.com/content/dam'), /http or https/],
  ['url with bad percent-encoding', (o) => o.withUrl(`${env.emulator.url}/content/dam/%E0%A4%A`), /percent/],
];

const badFiles = [
  ['an entry that is a string', ['good.bin'], /missing required fields/],
  ['fileName a number', [{ ...good(), fileName: 7 }], /fileName/],
  ['fileUrl an object', [{ ...good(), fileUrl: { href: 'x' } }], /fileUrl/],
  ['fileUrl not http', [{ ...good(), fileUrl: 'file:///etc/passwd' }], /http or https/],
  ['filePath a number', [{ fileName: 'a', fileSize: 3, filePath: 12 }], /filePath/],
  ['fileSize a word', [{ ...good(), fileSize: 'three' }], /fileSize/],
  ['fileSize a fraction', [{ ...good(), fileSize: 2.5 }], /whole number/],
  ['fileSize beyond 2^53', [{ ...good(), fileSize: 2 ** 60 }], /whole number/],
  ['fileSize an object', [{ ...good(), fileSize: { n: 3 } }], /fileSize/],
  ['partHeaders an array', [{ ...good(), partHeaders: ['x'] }], /partHeaders/],
  ['partHeaders value with a line break', [{ ...good(), partHeaders: { 'X-A': 'a\nb' } }], /partHeaders/],
];

describe('DirectBinaryUpload: a bad option fails the call with EINVALIDOPTIONS and sends nothing', () => {
  test.each(badOptions)('%s', async (name, apply, message) => {
    const { result, events } = await runDbu(apply(dbu()));
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0].code).toBe('EINVALIDOPTIONS');
    expect(result.errors[0].message).toMatch(message);
    expect(result.errors[0].message).not.toContain('a\r\nX-Injected');
    expect(events.map(([n]) => n)).toEqual(['fileuploadstart', 'fileuploadend']);
    expect(env.emulator.requests()).toEqual([]);
  });

  test.each(badFiles)('%s', async (name, files, message) => {
    const { result } = await runDbu(dbu(files));
    expect(result.errors[0]).toMatchObject({ code: 'EINVALIDOPTIONS' });
    expect(result.errors[0].message).toMatch(message);
    expect(env.emulator.requests()).toEqual([]);
  });

  test('calls without an options object resolve with EINVALIDOPTIONS instead of throwing', async () => {
    for (const options of [undefined, null, {}, 'x', { uploadFiles: [good()] }]) {
      const { result, events } = await runDbu(options);
      expect(result.errors[0].code).toBe('EINVALIDOPTIONS');
      expect(events.map(([n]) => n)).toEqual(['fileuploadstart', 'fileuploadend']);
    }
  });

  test('a relative URL (or a value that prints as one) gives ERR_INVALID_URL, as Node\'s URL does', async () => {
    for (const url of ['/content/dam', 'content/dam', 42, {}, undefined]) {
      const { result } = await runDbu(dbu().withUrl(url));
      expect(result.errors[0]).toMatchObject({ code: 'ERR_INVALID_URL', message: 'Invalid URL' });
    }
    expect(env.emulator.requests()).toEqual([]);
  });
});

describe('documented coercions', () => {
  test('numeric strings, clamped concurrency, zero and Infinity timeouts, huge delays', async () => {
    const files = [{ fileName: 'coerced.bin', fileSize: '2048', blob: bytes(2048, 4) }];
    const options = dbu(files)
      .withMaxConcurrent('1e9')
      .withHttpRetryCount('2')
      .withHttpRetryDelay('10')
      .withHttpRequestTimeout(0)
      .withHttpOptions({ timeout: Infinity });
    const { result } = await runDbu(options);
    expect(result.errors).toEqual([]);
    expect(result.totalCompleted).toBe(1);
    const low = await runDbu(dbu([{ ...good(), fileName: 'low.bin' }]).withMaxConcurrent(-4).withHttpRetryDelay(1e300));
    expect(low.result.totalCompleted).toBe(1);
  });

  test('fileSize negative or Infinity fail only that file, as an empty file (compat.md §7); NaN counts as missing', async () => {
    const missing = await runDbu(dbu([{ ...good(), fileSize: NaN }]));
    expect(missing.result.errors[0].message).toMatch(/missing required fields/);
    const files = [-3, Infinity].map((fileSize, i) => ({ fileName: `s${i}.bin`, fileSize, blob: bytes(3) }));
    const { result } = await runDbu(dbu([...files, good()]));
    expect(result.errors).toEqual([]);
    expect(result.totalCompleted).toBe(1);
    for (const entry of result.detailedResult.slice(0, 2)) {
      expect(entry.result.errors[0]).toMatchObject({ code: 'EUNKNOWN', message: 'File cannot be uploaded: Empty file' });
    }
  });
});

describe('target paths cannot escape the target folder', () => {
  const escapes = [
    ['fileName ..', { fileName: '..' }],
    ['fileName .', { fileName: '.' }],
    ['fileName with a slash', { fileName: '../etc/passwd' }],
    ['absolute fileName', { fileName: '/etc/passwd' }],
    ['fileName with NUL', { fileName: 'a\0b.jpg' }],
    ['fileName with a line break', { fileName: 'a\nb.jpg' }],
    ['fileUrl with ..', { fileUrl: 'http://HOST/content/dam/a/../../etc/x.bin' }],
    ['fileUrl with %2e%2e', { fileUrl: 'http://HOST/content/dam/a/%2e%2e/x.bin' }],
    ['fileUrl with an encoded slash', { fileUrl: 'http://HOST/content/dam/a%2F..%2F..%2Fx.bin' }],
    ['fileUrl with a backslash', { fileUrl: 'http://HOST/content/dam/a\\..\\x.bin' }],
  ];
  test.each(escapes)('%s fails that file only, with EINVALIDOPTIONS and no request', async (name, fields) => {
    const host = env.emulator.url.replace(/^http:\/\//, '');
    const bad = { fileSize: 3, blob: bytes(3), ...fields };
    if (bad.fileUrl) bad.fileUrl = bad.fileUrl.replace('HOST', host);
    const errors = [];
    const upload = new ours.DirectBinaryUpload();
    upload.on('fileerror', (p) => errors.push(p));
    const result = await upload.uploadFiles(dbu([bad, good()]));
    expect(result.totalCompleted).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0].errors[0].code).toBe('EINVALIDOPTIONS');
    expect(errors[0].errors[0].message).toMatch(/target path .* has/);
    expect(errors[0].errors[0].message).not.toContain('\0');
    // One initiate, one part, one complete: all for good.bin.
    expect(env.emulator.requests().map((r) => r.route)).toEqual(['initiate', 'part', 'complete']);
    expect(env.emulator.state().assets.map((a) => a.path)).toEqual(['/content/dam/good.bin']);
  });
});

describe('FileSystemUpload: bad options reject with EINVALIDOPTIONS before any request', () => {
  let dir;
  beforeAll(() => {
    dir = tempDir();
    fs.writeFileSync(path.join(dir, 'a.bin'), bytes(10));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const fsOptions = () => new ours.FileSystemUploadOptions()
    .withUrl(`${env.emulator.url}/content/dam/fs-bad`)
    .withHttpRetryDelay(10)
    .withHttpOptions(AUTH);

  const cases = [
    ['maxUploadFiles negative', (o) => o.withMaxUploadFiles(-1), null, /maxUploadFiles/],
    ['maxUploadFiles a word', (o) => o.withMaxUploadFiles('all'), null, /maxUploadFiles/],
    ['uploadFileOptions an array', (o) => o.withUploadFileOptions(['replace']), null, /uploadFileOptions/],
    ['uploadFileOptions partHeaders with a line break', (o) => o.withUploadFileOptions({ partHeaders: { 'X-A': '\r\n' } }), null, /partHeaders/],
    ['retryCount a word', (o) => o.withHttpRetryCount('x'), null, /retryCount/],
    ['a local path that is a number', (o) => o, [42], /localPaths\[0\]/],
    ['an empty local path', (o) => o, [''], /localPaths\[0\]/],
    ['a local path with NUL', (o) => o, ['a\0b'], /localPaths\[0\]/],
    ['no local paths at all', (o) => o, undefined, /localPaths\[0\]/],
  ];
  test.each(cases)('%s', async (name, apply, paths, message) => {
    const upload = new ours.FileSystemUpload();
    const localPaths = paths === null ? [dir] : paths;
    const error = await upload.upload(apply(fsOptions()), localPaths).then(() => null, (e) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: 'EINVALIDOPTIONS', uploadError: true });
    expect(error.message).toMatch(message);
    expect(env.emulator.requests()).toEqual([]);
  });

  test('a relative URL rejects with ERR_INVALID_URL before any request', async () => {
    const error = await new ours.FileSystemUpload()
      .upload(fsOptions().withUrl('content/dam/x'), [dir]).then(() => null, (e) => e);
    expect(error).toMatchObject({ code: 'ERR_INVALID_URL', uploadError: true });
    expect(env.emulator.requests()).toEqual([]);
  });

  test('processors that are not functions and file options that are not objects fall back to the defaults (fromOptions)', async () => {
    const options = fsOptions()
      .withFolderNodeNameProcessor('lower')
      .withAssetNodeNameProcessor(5)
      .withUploadFileOptions('replace');
    const result = await new ours.FileSystemUpload().upload(options, [path.join(dir, 'a.bin')]);
    expect(result.totalCompleted).toBe(1);
    expect(result.detailedResult[0].fileUrl).toBe(`${env.emulator.url}/content/dam/fs-bad/a.bin`);
  });

  test('maxUploadFiles Infinity means no limit', async () => {
    const result = await new ours.FileSystemUpload().upload(fsOptions().withMaxUploadFiles(Infinity), [dir]);
    expect(result.totalCompleted).toBe(1);
  });
});
