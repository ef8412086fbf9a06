'use strict';

// Checks options and upload-file fields when a call starts (the setters store
// values as given, like the reference's). A value that cannot mean anything
// sensible fails the call with EINVALIDOPTIONS and a message naming the field;
// values with an obvious meaning are coerced as the README documents:
// numeric strings count as numbers, maxConcurrent is clamped to 1..1024,
// timeouts of 0 or Infinity mean "none", booleans are taken by truthiness.

const UploadError = require('./upload-error');
const ErrorCodes = require('./error-codes');

const MAX_RETRY_COUNT = 1000;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Visible ASCII, space and tab: what every HTTP stack accepts in a header value.
const HEADER_VALUE = /^[\t\x20-\x7e]*$/;

function invalid(message) {
  return new UploadError(`Invalid upload options: ${message}`, ErrorCodes.INVALID_OPTIONS);
}

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return `a ${typeof value}`;
}

/** A number, or a numeric string; anything else is NaN. */
function toNumber(value) {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') return Number(value);
  return NaN;
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A finite number at least `min` (numeric strings accepted); `Infinity`
 * too when `infinite` says what it stands for.
 */
function number(value, field, { min = 0, max = Infinity, infinite = false } = {}) {
  const n = toNumber(value);
  if (Number.isNaN(n) || n < min || n > max || (n === Infinity && !infinite)) {
    const range = max === Infinity ? `a number ≥ ${min}` : `a number from ${min} to ${max}`;
    throw invalid(`${field} must be ${range}, got ${describe(value)}`);
  }
  return n;
}

function optionalNumber(value, field, limits) {
  return value === undefined || value === null ? undefined : number(value, field, limits);
}

function checkHeaders(headers, field) {
  if (headers === undefined || headers === null) return;
  if (!isPlainObject(headers)) throw invalid(`${field} must be an object, got ${describe(headers)}`);
  for (const name of Object.keys(headers)) {
    if (!HEADER_NAME.test(name)) throw invalid(`${field} has an invalid header name ${describe(name)}`);
    const value = headers[name];
    if (value === undefined || value === null) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) {
      if (!['string', 'number', 'boolean'].includes(typeof v) || !HEADER_VALUE.test(String(v))) {
        // The value itself is not shown: headers carry credentials.
        throw invalid(`${field}['${name}'] must be visible ASCII text without line breaks`);
      }
    }
  }
}

/**
 * An absolute http(s) URL, returned parsed. A relative URL fails as Node's
 * `URL` does (ERR_INVALID_URL, docs/compat.md §4.1).
 * @returns {URL}
 */
function checkUrl(url, field) {
  if (typeof url !== 'string' && !(url instanceof URL)) {
    throw invalid(`${field} must be an absolute http(s) URL, got ${describe(url)}`);
  }
  let parsed;
  try {
    parsed = new URL(String(url));
  } catch (err) {
    // As Node's URL threw it, stack included (the reference's error keeps it too).
    throw UploadError.fromError(err);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalid(`${field} must use http or https, got '${parsed.protocol}'`);
  }
  try {
    decodeURIComponent(parsed.pathname);
  } catch (err) {
    throw invalid(`${field} has a malformed percent-encoding`);
  }
  return parsed;
}

/** HTTP and retry options shared by both upload classes (docs/compat.md §2.1, §2.3). */
function checkTransferOptions(options) {
  number(options.getMaxConcurrent(), 'maxConcurrent', { min: -Infinity, infinite: true });
  number(options.getHttpRetryCount(), 'retryCount', { max: MAX_RETRY_COUNT });
  number(options.getHttpRetryDelay(), 'retryDelay');
  optionalNumber(options.getHttpRequestTimeout(), 'requestTimeout', { infinite: true });
  const httpOptions = options.getHttpOptions();
  if (!isPlainObject(httpOptions)) throw invalid(`httpOptions must be an object, got ${describe(httpOptions)}`);
  checkHeaders(httpOptions.headers, 'httpOptions.headers');
  optionalNumber(httpOptions.timeout, 'httpOptions.timeout', { infinite: true });
  const { cloudClient, agent } = httpOptions;
  if (cloudClient !== undefined && cloudClient !== null) {
    if (!isPlainObject(cloudClient)) throw invalid(`httpOptions.cloudClient must be an object, got ${describe(cloudClient)}`);
    optionalNumber(cloudClient.timeout, 'httpOptions.cloudClient.timeout');
    const { retry } = cloudClient;
    if (retry !== undefined && retry !== null) {
      if (!isPlainObject(retry)) throw invalid(`httpOptions.cloudClient.retry must be an object, got ${describe(retry)}`);
      optionalNumber(retry.count, 'httpOptions.cloudClient.retry.count', { max: MAX_RETRY_COUNT });
      optionalNumber(retry.delay, 'httpOptions.cloudClient.retry.delay');
      optionalNumber(retry.delayMultiple, 'httpOptions.cloudClient.retry.delayMultiple', { max: 1000 });
    }
  }
  if (agent !== undefined && agent !== null && typeof agent !== 'object') {
    throw invalid(`httpOptions.agent must be an object, got ${describe(agent)}`);
  }
  checkAuth(options, httpOptions);
  const maxAemRequests = typeof options.getMaxAemRequests === 'function' ? options.getMaxAemRequests() : undefined;
  if (maxAemRequests !== undefined && maxAemRequests !== null && !(Number.isInteger(maxAemRequests) && maxAemRequests >= 1)) {
    throw invalid(`maxAemRequests must be a whole number ≥ 1, got ${describe(maxAemRequests)}`);
  }
  const journal = typeof options.getJournal === 'function' ? options.getJournal() : undefined;
  if (journal !== undefined && journal !== null && (typeof journal !== 'string' || journal === '' || journal.includes('\0'))) {
    throw invalid(`journal must be a file path, got ${describe(journal)}`);
  }
}

/** `withAuth(provider)`: a provider of `aem-upload-rs/auth`, and no `Authorization` header besides. */
function checkAuth(options, httpOptions) {
  const auth = typeof options.getAuth === 'function' ? options.getAuth() : undefined;
  if (auth === undefined || auth === null) return;
  // Required here, not at the top: lib/auth loads the native addon.
  if (!require('./auth').nativeOf(auth)) {
    throw invalid(`withAuth() takes a provider from require('aem-upload-rs/auth'), got ${describe(auth)}`);
  }
  const headers = httpOptions.headers || {};
  if (Object.keys(headers).some((name) => name.toLowerCase() === 'authorization' && headers[name] !== undefined && headers[name] !== null)) {
    throw invalid('withAuth() and an Authorization header in httpOptions.headers cannot be combined: use one of them');
  }
}

/**
 * Field types of one upload file (its required fields are checked before,
 * docs/compat.md §3). Problems of value (size 0, a missing path, a blob of the
 * wrong kind) fail only that file later, in pre-validation.
 */
/**
 * Whether a file's bytes come from its `sourceUrl` (docs/remote-sources.md
 * §1): it has one and neither `blob` nor `filePath`, which win over it (as in
 * Adobe's tutorial, where `sourceUrl` is carried along next to a blob).
 */
function isUrlSource(file) {
  return !!file && !file.blob && !file.filePath && file.sourceUrl !== undefined && file.sourceUrl !== null && file.sourceUrl !== '';
}

function checkUploadFile(file, index) {
  const field = (name) => `uploadFiles[${index}].${name}`;
  if (!isPlainObject(file)) throw invalid(`uploadFiles[${index}] must be an object, got ${describe(file)}`);
  for (const key of ['fileName', 'fileUrl', 'filePath']) {
    const value = file[key];
    if (value && typeof value !== 'string') throw invalid(`${field(key)} must be a string, got ${describe(value)}`);
  }
  if (isUrlSource(file)) {
    checkUrl(file.sourceUrl, field('sourceUrl'));
    checkHeaders(file.sourceHeaders, field('sourceHeaders'));
    // The size may come from the origin.
    if (file.fileSize === undefined || file.fileSize === null) return checkHeaders(file.partHeaders, field('partHeaders'));
  }
  const size = toNumber(file.fileSize);
  if (typeof file.fileSize !== 'number' && Number.isNaN(size)) {
    throw invalid(`${field('fileSize')} must be a number of bytes, got ${describe(file.fileSize)}`);
  }
  if (Number.isFinite(size) && (!Number.isInteger(size) || size > Number.MAX_SAFE_INTEGER)) {
    throw invalid(`${field('fileSize')} must be a whole number of bytes, got ${describe(file.fileSize)}`);
  }
  checkHeaders(file.partHeaders, field('partHeaders'));
}

/** FileSystemUpload's own options and its local paths (docs/compat.md §2.2, §4.2). */
function checkFileSystemOptions(options, localPaths) {
  const max = options.options.maxUploadFiles;
  if (max) number(max, 'maxUploadFiles', { min: 1, infinite: true });
  // Processors that are not functions never get here: fromOptions keeps the defaults (docs/compat.md §2.2).
  const fileOptions = options.getUploadFileOptions();
  if (!isPlainObject(fileOptions)) throw invalid(`uploadFileOptions must be an object, got ${describe(fileOptions)}`);
  checkHeaders(fileOptions.partHeaders, 'uploadFileOptions.partHeaders');
  localPaths.forEach((p, i) => {
    if (typeof p !== 'string' || p === '' || p.includes('\0')) {
      throw invalid(`localPaths[${i}] must be a non-empty path, got ${describe(p)}`);
    }
  });
}

module.exports = {
  checkTransferOptions,
  checkUploadFile,
  isUrlSource,
  checkFileSystemOptions,
  checkUrl,
  toNumber,
};
