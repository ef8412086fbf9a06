'use strict';

const ErrorCodes = require('./error-codes');

// Marks an error that a failure produced (an engine error, a thrown Error):
// the reference's twins of these carry a stack, so their JSON always has an
// `innerStack` key, even when ours is empty. Errors the reference builds from
// a bare message (limits, option checks) keep it only when non-empty.
const kFromFailure = Symbol('fromFailure');

const STATUS_BY_CODE = {
  EINVALIDOPTIONS: 400,
  ENOTAUTHORIZED: 401,
  EFORBIDDEN: 403,
  ENOTFOUND: 404,
  EALREADYEXISTS: 409,
  ETOOLARGE: 413,
  ETOOMANYREQUESTS: 429,
  ENOTSUPPORTED: 501,
};

/** Every failure the package reports (docs/compat.md §9.2). */
class UploadError extends Error {
  /**
   * @param {string} message
   * @param {string} code one of DirectBinaryUploadErrorCodes, or ETOOMANYREQUESTS, ETIMEDOUT, an OS code
   * @param {string} [innerStack] diagnostics (never credentials or URL signatures)
   */
  constructor(message, code, innerStack = '') {
    super(message);
    this.code = code;
    this.innerStack = innerStack;
    this.uploadError = true;
  }

  /** Wraps anything thrown into an UploadError, keeping message and code. */
  static fromError(error, errorMessage = '') {
    if (error && error.uploadError) return error;
    const prefix = (m) => (errorMessage ? `${errorMessage}: ${m}` : m);
    if (error && error.message) {
      return fromFailure(new UploadError(prefix(error.message), error.code || ErrorCodes.UNKNOWN, error.stack || ''));
    }
    if (typeof error === 'string') return new UploadError(prefix(error), ErrorCodes.UNKNOWN);
    let text;
    try {
      text = JSON.stringify(error);
    } catch (e) {
      text = String(error);
    }
    return new UploadError(prefix(text), ErrorCodes.UNKNOWN);
  }

  /** An engine error (data) as an UploadError. */
  static fromNative(native) {
    return fromFailure(new UploadError(native.message, native.code, native.detail || ''));
  }

  getCode() {
    return this.code;
  }

  getHttpStatusCode() {
    return STATUS_BY_CODE[this.code] || 500;
  }

  getMessage() {
    return this.message;
  }

  getInnerStack() {
    return this.innerStack;
  }

  toJSON() {
    const json = { message: this.message, code: this.code };
    if (this.innerStack || this[kFromFailure]) json.innerStack = this.innerStack;
    return json;
  }

  toString() {
    return JSON.stringify(this);
  }
}

function fromFailure(error) {
  Object.defineProperty(error, kFromFailure, { value: true });
  return error;
}

module.exports = UploadError;
