'use strict';

// Auth providers (docs/auth.md): thin JS over the engine's providers. A
// provider object shows its kind and public identifiers only; the native
// provider it wraps is reachable from this package alone (nativeOf), so
// neither util.inspect, JSON nor a property walk can reach a secret.

const util = require('util');
const native = require('./native');
const UploadError = require('./upload-error');
const ErrorCodes = require('./error-codes');

const natives = new WeakMap();

function invalid(message) {
  return new UploadError(message, ErrorCodes.INVALID_OPTIONS);
}

/** The engine's `CODE: message` thrown from a factory, as an UploadError. */
function fromThrown(err) {
  const text = err && err.message ? err.message : String(err);
  const match = /^(E[A-Z_]+): ([\s\S]*)$/.exec(text);
  return match ? new UploadError(match[2], match[1]) : invalid(text);
}

function make(factory) {
  try {
    return new AuthProvider(factory());
  } catch (err) {
    throw fromThrown(err);
  }
}

/** Credentials for AEM requests; made by the factories of `aem-upload-rs/auth`. */
class AuthProvider {
  #kind;

  #public;

  constructor(handle) {
    natives.set(this, handle);
    this.#kind = handle.kind;
    this.#public = Object.freeze(JSON.parse(handle.publicJson()));
  }

  /** `basic`, `bearer`, `serviceCredentials`, `oauthServerToServer` or `tokenProvider`. */
  get kind() {
    return this.#kind;
  }

  /**
   * `{Authorization: '…'}` for your own requests, fetching or refreshing a
   * token as needed (the same token the uploads use).
   * @returns {Promise<{Authorization: string}>}
   */
  async headers() {
    const { value, error } = await natives.get(this).authorization();
    if (error) throw UploadError.fromNative(error);
    return value ? { Authorization: value } : {};
  }

  /** The kind and public identifiers (a user name, a client id); never a secret. */
  toJSON() {
    return { kind: this.#kind, ...this.#public };
  }

  [util.inspect.custom](depth, options, inspect) {
    return `AuthProvider ${(inspect || util.inspect)(this.toJSON(), options)}`;
  }
}

function nonEmptyString(value, field) {
  if (typeof value !== 'string' || value === '') throw invalid(`${field} must be a non-empty string`);
  return value;
}

/** A path or JSON text as given, an object as JSON text. */
function sourceText(source, field) {
  if (source && typeof source === 'object' && !Buffer.isBuffer(source)) return JSON.stringify(source);
  if (Buffer.isBuffer(source)) return source.toString('utf8');
  return nonEmptyString(source, field);
}

/** IMS options of a factory: endpoint and retries. */
function imsOptions(opts = {}) {
  if (opts === null || typeof opts !== 'object') throw invalid('auth options must be an object');
  const number = (value, field) => {
    if (value === undefined || value === null) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw invalid(`${field} must be a number of at least 0`);
    return n;
  };
  const endpoint = opts.imsEndpoint;
  if (endpoint !== undefined && endpoint !== null && typeof endpoint !== 'string') throw invalid('imsEndpoint must be a string');
  let { proxy, ca } = opts;
  if (proxy && typeof proxy === 'object') proxy = proxy.href || String(proxy);
  if (proxy !== undefined && proxy !== null && typeof proxy !== 'string') throw invalid('proxy must be a URL');
  if (ca !== undefined && ca !== null) {
    ca = (Array.isArray(ca) ? ca : [ca]).map((c) => (Buffer.isBuffer(c) ? c.toString('utf8') : String(c)));
  }
  return {
    imsEndpoint: endpoint || undefined,
    retryCount: number(opts.retryCount, 'retryCount'),
    retryDelay: number(opts.retryDelay, 'retryDelay'),
    timeout: number(opts.timeout, 'timeout'),
    proxy: proxy || undefined,
    ca: ca || undefined,
    rejectUnauthorized: opts.rejectUnauthorized === false ? false : undefined,
  };
}

/** `Authorization: Basic base64(username:password)` (local development). */
function basic(username, password) {
  nonEmptyString(username, 'basic(): username');
  if (typeof password !== 'string') throw invalid('basic(): password must be a string');
  return make(() => native.NativeAuth.basic(username, password));
}

/**
 * A local development token: the token, or the Developer Console's download
 * (`{accessToken}`) as an object, JSON text or a file path.
 */
function bearer(token) {
  const text = sourceText(token, 'bearer(): token');
  return make(() => native.NativeAuth.bearer(text));
}

/**
 * Service credentials (the Developer Console JSON: a path, JSON text or the
 * parsed object, wrapped or the bare `integration`), exchanged at IMS.
 * @param {object} [opts] `imsEndpoint` (overrides the file's), `retryCount`, `retryDelay`, `timeout` (ms),
 *   `proxy`, `ca`, `rejectUnauthorized` (how IMS is reached)
 */
function serviceCredentials(source, opts) {
  const text = sourceText(source, 'serviceCredentials(): source');
  const options = imsOptions(opts);
  return make(() => native.NativeAuth.serviceCredentials(text, options));
}

/** OAuth server-to-server: `{clientId, clientSecret, scopes, imsEndpoint?}`. */
function oauthServerToServer(opts) {
  if (!opts || typeof opts !== 'object') throw invalid('oauthServerToServer() takes {clientId, clientSecret, scopes}');
  const clientId = nonEmptyString(opts.clientId, 'oauthServerToServer(): clientId');
  const clientSecret = nonEmptyString(opts.clientSecret, 'oauthServerToServer(): clientSecret');
  let { scopes } = opts;
  if (typeof scopes === 'string') scopes = scopes.split(',');
  if (!Array.isArray(scopes)) throw invalid('oauthServerToServer(): scopes must be an array or a comma list');
  scopes = scopes.map((s) => String(s).trim()).filter(Boolean);
  const options = imsOptions(opts);
  return make(() => native.NativeAuth.oauthServerToServer(clientId, clientSecret, scopes, options));
}

/**
 * Tokens from your function: `fn({reason})` returns (or resolves to) a token
 * string or `{token, expiresAt}` (ms epoch or a Date); `reason` is
 * 'initial', 'expiring' or 'unauthorized'.
 */
function tokenProvider(fn) {
  if (typeof fn !== 'function') throw invalid('tokenProvider() takes a function');
  // Never rejects: the engine gets a token or an error as JSON.
  const wrapped = async (reason) => {
    try {
      const given = await fn({ reason });
      if (typeof given === 'string') return JSON.stringify({ token: given });
      if (given && typeof given.token === 'string') {
        const at = given.expiresAt instanceof Date ? given.expiresAt.getTime() : given.expiresAt;
        return JSON.stringify({ token: given.token, expiresAt: typeof at === 'number' ? at : undefined });
      }
      return JSON.stringify({ error: 'tokenProvider function returned neither a token string nor {token, expiresAt}' });
    } catch (err) {
      return JSON.stringify({
        error: (err && err.message) || String(err),
        code: err && typeof err.code === 'string' ? err.code : undefined,
      });
    }
  };
  return make(() => native.NativeAuth.tokenProvider(wrapped));
}

/**
 * The first provider the environment configures (the tutorial's variable
 * names), or null: AEM_SERVICE_CREDENTIALS_FILE; AEM_IMS_CLIENT_ID +
 * AEM_IMS_CLIENT_SECRET (+ AEM_IMS_SCOPES, AEM_IMS_ENDPOINT);
 * AEM_BEARER_TOKEN; AEM_USERNAME + AEM_PASSWORD. `ims` (ImsOptions: proxy,
 * CA, retries) goes to the IMS providers.
 */
function fromEnv(env = process.env, ims = {}) {
  const get = (name) => (typeof env[name] === 'string' && env[name] !== '' ? env[name] : undefined);
  if (get('AEM_SERVICE_CREDENTIALS_FILE')) return serviceCredentials(get('AEM_SERVICE_CREDENTIALS_FILE'), ims);
  if (get('AEM_IMS_CLIENT_ID') && get('AEM_IMS_CLIENT_SECRET')) {
    return oauthServerToServer({
      ...ims,
      clientId: get('AEM_IMS_CLIENT_ID'),
      clientSecret: get('AEM_IMS_CLIENT_SECRET'),
      scopes: get('AEM_IMS_SCOPES') || '',
      imsEndpoint: get('AEM_IMS_ENDPOINT'),
    });
  }
  if (get('AEM_BEARER_TOKEN')) return bearer(get('AEM_BEARER_TOKEN'));
  if (get('AEM_USERNAME') && get('AEM_PASSWORD') !== undefined) return basic(get('AEM_USERNAME'), get('AEM_PASSWORD'));
  return null;
}

/** The native provider of an AuthProvider, or undefined. */
function nativeOf(provider) {
  return provider ? natives.get(provider) : undefined;
}

module.exports = {
  AuthProvider, basic, bearer, serviceCredentials, oauthServerToServer, tokenProvider, fromEnv, nativeOf,
};
