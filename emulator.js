'use strict';

/**
 * aem-upload-rs/emulator: a local AEM as a Cloud Service that speaks direct
 * binary upload, for tests and for your own CI. See the README's "Emulator"
 * section for the configuration.
 */

const native = require('./lib/native');

/** The Authorization header for the emulator's default user (admin:admin). */
const DEFAULT_AUTHORIZATION = `Basic ${Buffer.from('admin:admin').toString('base64')}`;

function configError(err) {
  const error = new Error(err && err.message ? err.message : String(err));
  error.code = 'EINVALIDOPTIONS';
  return error;
}

function optionsJson(options, method) {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw configError(new Error(`${method}() takes a plain options object`));
  }
  return JSON.stringify(options);
}

/** A running emulator, as returned by `startEmulator`. */
class Emulator {
  #native;

  constructor(handle) {
    this.#native = handle;
    /** The AEM origin, e.g. `http://127.0.0.1:41234`. */
    this.url = handle.url;
    /** The blob-storage origin presigned part URLs point at. */
    this.blobUrl = handle.blobUrl;
  }

  /** Folders, assets (with sha256), pending uploads, counters, violations, injected faults. */
  state() {
    return JSON.parse(this.#native.stateJson());
  }

  /** The bounded request log: `{method, path, route, headers, status, ms}` entries. */
  requests() {
    return JSON.parse(this.#native.requestsJson()).requests;
  }

  /** Forgets every folder, asset, upload, log entry and fault attempt count. */
  reset() {
    this.#native.reset();
  }

  /** The running configuration. */
  config() {
    return JSON.parse(this.#native.configJson());
  }

  /** Applies a JSON merge patch to the running configuration; returns the result. */
  configure(patch) {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
      throw configError(new Error('configure() takes a plain object'));
    }
    try {
      return JSON.parse(this.#native.configure(JSON.stringify(patch)));
    } catch (err) {
      throw configError(err);
    }
  }

  /**
   * Mints service credentials as the AEM Developer Console hands them out
   * (`{ok, statusCode, integration: {imsEndpoint, metascopes, technicalAccount:
   * {clientId, clientSecret}, email, id, org, privateKey, publicKey, …}}`): a
   * fresh RSA key pair and its certificate, registered with this emulator's
   * IMS, `imsEndpoint` pointing here. The result holds a private key and a
   * client secret: write it to a file, do not log it.
   * @param {object} [options] clientId, clientSecret, org, technicalAccountId,
   *   email, metascopes, privateKeyFormat ('pkcs1' | 'pkcs8'), lineEndings
   *   ('crlf' | 'lf'), keyBits, imsEndpoint (written into the document only)
   */
  createServiceCredentials(options) {
    return JSON.parse(this.#call('createServiceCredentials', optionsJson(options, 'createServiceCredentials')));
  }

  /**
   * Mints an OAuth server-to-server client registered with this emulator's
   * IMS: `{clientId, clientSecret, scopes, imsEndpoint}`.
   * @param {object} [options] clientId, clientSecret, scopes (array or comma list), imsEndpoint
   */
  createOAuthClient(options) {
    return JSON.parse(this.#call('createOauthClient', optionsJson(options, 'createOAuthClient')));
  }

  /**
   * Registers credentials made elsewhere (Developer Console service
   * credentials, wrapped or bare, or an OAuth client); returns the client id.
   */
  registerCredentials(document) {
    if (document === null || typeof document !== 'object' || Array.isArray(document)) {
      throw configError(new Error('registerCredentials() takes the parsed credentials object'));
    }
    return this.#call('registerCredentials', JSON.stringify(document));
  }

  /**
   * Revokes the access tokens IMS issued to one client (or to every client):
   * AEM routes answer 401 to them from then on. Returns how many were live.
   * @param {string} [clientId]
   */
  revokeTokens(clientId) {
    if (clientId !== undefined && typeof clientId !== 'string') {
      throw configError(new Error('revokeTokens() takes a client id string or nothing'));
    }
    return this.#native.revokeTokens(clientId);
  }

  /**
   * Resolves once no asset event is pending — every uploaded asset processed,
   * every event delivered, given up or dropped, the webhook's handshake done —
   * with `state().events` at that moment.
   * @returns {Promise<object>}
   */
  async eventsIdle() {
    await this.#native.eventsIdle();
    return this.state().events;
  }

  #call(method, arg) {
    try {
      return this.#native[method](arg);
    } catch (err) {
      throw configError(err);
    }
  }

  /** Stops both listeners and drops open connections. */
  stop() {
    return this.#native.stop();
  }
}

/**
 * Starts an emulator in this process.
 * @param {object} [config] see the README; `{}` gives a local AEM on free ports with admin:admin.
 * @returns {Promise<Emulator>}
 */
async function startEmulator(config = {}) {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw configError(new Error('startEmulator() takes a plain configuration object'));
  }
  let handle;
  try {
    handle = await native.startEmulator(JSON.stringify(config));
  } catch (err) {
    throw configError(err);
  }
  return new Emulator(handle);
}

module.exports = { startEmulator, Emulator, DEFAULT_AUTHORIZATION };
