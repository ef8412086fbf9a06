'use strict';

/**
 * aem-upload-rs/assets: a client for the AEM Assets Author API. An asset's
 * metadata with ETags, JSON Patch, read-modify-write updates that never
 * overwrite another writer's change, deletes and the jobs they start, and
 * asset ids from DAM paths. The protocol lives in the engine
 * (crates/engine/src/assets); this file checks arguments and adapts.
 */

const util = require('util');
const native = require('../binding');
const { makeLogger } = require('../lib/logger');

/** Every failure of an AssetsClient call. */
class AssetsError extends Error {
  /**
   * @param {string} message
   * @param {string} code e.g. ENOTFOUND, EPRECONDITIONFAILED
   * @param {object} [fields] status, problem, currentEtag, job, detail
   */
  constructor(message, code, fields = {}) {
    super(message);
    this.name = 'AssetsError';
    this.code = code;
    this.status = fields.status;
    this.problem = fields.problem;
    if (fields.currentEtag !== undefined) this.currentEtag = fields.currentEtag;
    if (fields.job !== undefined) this.job = fields.job;
    if (fields.detail) this.detail = fields.detail;
  }

  toJSON() {
    const json = { name: this.name, code: this.code, message: this.message };
    for (const key of ['status', 'problem', 'currentEtag', 'job']) {
      if (this[key] !== undefined) json[key] = this[key];
    }
    return json;
  }
}

function invalid(message) {
  return new AssetsError(message, 'EINVALIDOPTIONS');
}

function cancelled() {
  return new AssetsError('Cancelled by the caller', 'EUSERCANCELLED');
}

/** The answer of a native call: its value, or its error thrown. */
function unwrap(text) {
  const answer = JSON.parse(text);
  if (answer.error) {
    const { message, code, ...fields } = answer.error;
    throw new AssetsError(message, code, fields);
  }
  return answer.ok;
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkSignal(signal, name) {
  if (signal !== undefined && signal !== null && (typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw invalid(`${name} must be an AbortSignal`);
  }
}

function checkString(value, name) {
  if (typeof value !== 'string') throw invalid(`${name} must be a string`);
}

function optionalMillis(value, name) {
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw invalid(`${name} must be a number of milliseconds >= 0`);
  return n;
}

function optionalCount(value, name) {
  if (value === undefined || value === null) return undefined;
  if (!Number.isInteger(value) || value < 0) throw invalid(`${name} must be an integer >= 0`);
  return value;
}

/** The client id an auth provider shows, for the default X-Api-Key. */
function clientIdOf(auth) {
  if (!auth) return undefined;
  if (typeof auth.clientId === 'string') return auth.clientId;
  if (typeof auth.toJSON === 'function') {
    try {
      const shown = auth.toJSON();
      if (shown && typeof shown.clientId === 'string') return shown.clientId;
    } catch (err) {
      // A provider that cannot show itself has no default client id.
    }
  }
  return undefined;
}

/**
 * The credentials bridge the engine asks before each request (and again,
 * with the reason 'unauthorized', after a 401). Any object with an async
 * `headers()` resolving to `{Authorization}` works: the providers of
 * aem-upload-rs/auth, or your own.
 */
// When a provider also carries the engine's own credentials (the native
// object of aem-upload-rs/auth), that object is the better path: token cache,
// single-flight refresh and the 401 refresh all stay in Rust. Hand it to
// NativeAssetsClient next to this bridge; everything else keeps using this.
function authorizer(auth) {
  return async (reason) => {
    try {
      const headers = await auth.headers({ reason });
      if (!isPlainObject(headers)) {
        return JSON.stringify({
          error: { code: 'EINVALIDOPTIONS', message: 'auth.headers() must resolve to an object such as {Authorization}' },
        });
      }
      const value = headers.Authorization !== undefined ? headers.Authorization : headers.authorization;
      return JSON.stringify({ authorization: value === undefined || value === null ? null : String(value) });
    } catch (err) {
      const message = err && err.message ? String(err.message) : String(err);
      return JSON.stringify({ error: { code: err && typeof err.code === 'string' ? err.code : undefined, message } });
    }
  };
}

/** A client for one AEM author origin. */
class AssetsClient {
  #native;
  #signal;
  #url;

  /**
   * @param {object} options
   * @param {string} options.url the author origin, e.g. https://author-p1-e2.adobeaemcloud.com
   * @param {{headers: () => Promise<{Authorization?: string}>}} [options.auth] a provider
   * @param {string} [options.apiKey] the client id sent as X-Api-Key (default: the provider's client id)
   * @param {number} [options.retryCount=3] retries after a 5xx, a 429, a reset or an idle timeout
   * @param {number} [options.retryDelay=1000] ms before the first retry, doubled for each next one
   * @param {number} [options.timeout=60000] ms without a byte moving before an attempt fails (0: none)
   * @param {AbortSignal} [options.signal] cancels every call of this client
   * @param {object} [options.log] a logger with debug/info/warn/error
   */
  constructor(options) {
    if (!isPlainObject(options)) throw invalid('new AssetsClient() takes an options object');
    const { url, auth, apiKey, retryCount, retryDelay, timeout, signal, log } = options;
    checkString(url, 'url');
    if (auth !== undefined && auth !== null && (typeof auth !== 'object' || typeof auth.headers !== 'function')) {
      throw invalid('auth must be a provider with a headers() method (see aem-upload-rs/auth)');
    }
    if (apiKey !== undefined && apiKey !== null) checkString(apiKey, 'apiKey');
    checkSignal(signal, 'signal');
    if (log !== undefined && log !== null && typeof log !== 'object') throw invalid('log must be a logger object');
    const nativeOptions = {
      url,
      apiKey: apiKey || clientIdOf(auth),
      retryCount: optionalCount(retryCount, 'retryCount'),
      retryDelay: optionalMillis(retryDelay, 'retryDelay'),
      timeout: optionalMillis(timeout, 'timeout'),
    };
    const logger = log ? makeLogger(log) : undefined;
    try {
      this.#native = new native.NativeAssetsClient(
        nativeOptions,
        auth ? authorizer(auth) : undefined,
        logger ? (level, message) => logger[level](message) : undefined,
      );
    } catch (err) {
      const [, code, message] = /^([A-Z]+): ([\s\S]*)$/.exec(err.message) || [];
      throw new AssetsError(message || err.message, code || 'EINVALIDOPTIONS');
    }
    this.#url = url;
    this.#signal = signal || undefined;
    if (this.#signal) {
      if (this.#signal.aborted) this.#native.cancel();
      else this.#signal.addEventListener('abort', () => this.#native.cancel(), { once: true });
    }
  }

  /** The author origin. */
  get url() {
    return this.#url;
  }

  async #run(signal, method, ...args) {
    checkSignal(signal, 'signal');
    if ((this.#signal && this.#signal.aborted) || (signal && signal.aborted)) throw cancelled();
    const call = this.#native.call();
    const onAbort = () => call.cancel();
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
    try {
      return unwrap(await call[method](...args));
    } finally {
      if (signal) signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * The asset's metadata: `{assetId, assetMetadata, repositoryMetadata, etag}`,
   * or `{notModified: true, etag}` when `ifNoneMatch` is still current.
   */
  async getMetadata(assetId, { ifNoneMatch, signal } = {}) {
    checkString(assetId, 'assetId');
    if (ifNoneMatch !== undefined && ifNoneMatch !== null) checkString(ifNoneMatch, 'ifNoneMatch');
    return this.#run(signal, 'getMetadata', assetId, ifNoneMatch || undefined);
  }

  /** The metadata's current tag: `{etag}`. */
  async headMetadata(assetId, { signal } = {}) {
    checkString(assetId, 'assetId');
    return this.#run(signal, 'headMetadata', assetId);
  }

  /**
   * Applies JSON Patch `ops` under `If-Match: ifMatch` (an etag or '*');
   * paths may be `/assetMetadata/<name>` or the short `/<name>`. Resolves
   * to the new document and its `etag`.
   */
  async patchMetadata(assetId, ops, { ifMatch, signal } = {}) {
    checkString(assetId, 'assetId');
    if (!Array.isArray(ops)) throw invalid('ops must be an array of JSON Patch operations');
    if (ifMatch !== undefined && ifMatch !== null) checkString(ifMatch, 'ifMatch');
    return this.#run(signal, 'patchMetadata', assetId, stringify(ops, 'ops'), ifMatch || undefined);
  }

  /**
   * Sets `values` (`{name: value}`; `null` removes) without losing another
   * writer's change: reads the tag, patches under `If-Match`, and on 412
   * reads again, at most `retries` times.
   */
  async updateMetadata(assetId, values, { retries = 3, signal } = {}) {
    checkString(assetId, 'assetId');
    if (!isPlainObject(values)) throw invalid('values must be an object of {name: value}');
    const count = optionalCount(retries, 'retries');
    return this.#run(signal, 'updateMetadata', assetId, stringify(values, 'values'), count === undefined ? 3 : count);
  }

  /**
   * Deletes the asset (`force`: even if referenced). Resolves to
   * `{status: 'deleted'}`, or `{status: 'accepted', jobId, location}` when a
   * job finishes the delete; with `wait`, follows that job to its end
   * (`{status: 'deleted', jobId, location}`; a failed job rejects).
   */
  async deleteAsset(assetId, { force = false, wait = false, timeout, signal } = {}) {
    checkString(assetId, 'assetId');
    const limit = optionalMillis(timeout, 'timeout');
    return this.#run(signal, 'deleteAsset', assetId, !!force, !!wait, limit);
  }

  /** One poll of a job (id or location): `{jobId, state, done, failed, location?}`. */
  async getJobStatus(job, { signal } = {}) {
    checkString(job, 'job');
    return this.#run(signal, 'getJobStatus', job);
  }

  /**
   * Polls a job (id or location) until it finishes, honouring `Retry-After`
   * (default 1 s, at most 30 s apart). A failed job rejects (EJOBFAILED).
   */
  async waitForJob(job, { signal, timeout } = {}) {
    checkString(job, 'job');
    const limit = optionalMillis(timeout, 'timeout');
    return this.#run(signal, 'waitForJob', job, limit);
  }

  /** The id (`urn:aaid:aem:<uuid>`) of the asset at a DAM path. */
  async assetIdForPath(damPath, { signal } = {}) {
    checkString(damPath, 'damPath');
    return this.#run(signal, 'assetIdForPath', damPath);
  }

  toJSON() {
    return { url: this.#url };
  }

  [util.inspect.custom]() {
    return `AssetsClient { url: ${util.inspect(this.#url)} }`;
  }
}

function stringify(value, name) {
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw invalid(`${name} cannot be sent as JSON: ${err.message}`);
  }
}

module.exports = { AssetsClient, AssetsError };
