'use strict';

const legacyUrl = require('url');

const DEFAULTS = Object.freeze({ maxConcurrent: 5, retryCount: 3, retryDelay: 5000, requestTimeout: 60000 });

/** Options of `DirectBinaryUpload.uploadFiles()` (docs/compat.md §2.1). Setters store values as given. */
class DirectBinaryUploadOptions {
  constructor() {
    this.options = { ...DEFAULTS };
  }

  /** The absolute, URI-encoded URL of the target folder. */
  withUrl(url) {
    this.options.url = url;
    return this;
  }

  withUploadFiles(uploadFiles) {
    this.options.uploadFiles = uploadFiles;
    return this;
  }

  withConcurrent(isConcurrent) {
    return this.withMaxConcurrent(isConcurrent ? 5 : 1);
  }

  /** Part PUTs in flight per call (values below 1 act as 1). */
  withMaxConcurrent(maxConcurrent) {
    this.options.maxConcurrent = maxConcurrent;
    return this;
  }

  /** Shallow-merged with earlier calls; `headers` merged key by key (the new value wins). */
  withHttpOptions(options) {
    const current = this.getHttpOptions();
    const merged = { ...current, ...options };
    if (current.headers && options && options.headers) {
      merged.headers = { ...current.headers, ...options.headers };
    }
    this.options.httpOptions = merged;
    return this;
  }

  /** Retries after the first attempt; 0 means one attempt. */
  withHttpRetryCount(retryCount) {
    this.options.retryCount = retryCount;
    return this;
  }

  /** Base delay in ms: retry n waits retryDelay · 2ⁿ plus jitter. */
  withHttpRetryDelay(retryDelay) {
    this.options.retryDelay = retryDelay;
    return this;
  }

  /** Idle timeout in ms: an attempt fails when no byte moves either way for this long. */
  withHttpRequestTimeout(timeout) {
    this.options.requestTimeout = timeout;
    return this;
  }

  /** An AbortSignal for calls made with these options (not part of toJSON()). */
  withAbortSignal(signal) {
    this.abortSignal = signal;
    return this;
  }

  /**
   * Resume journal (an addition): a file where each completed upload is
   * recorded; a later call with the same journal skips files recorded there.
   * Not part of toJSON().
   */
  withJournal(journalPath) {
    this.journal = journalPath;
    return this;
  }

  getJournal() {
    return this.journal;
  }

  /**
   * Authentication (an addition): a provider from `aem-upload-rs/auth` that
   * authorises every AEM request of calls made with these options (never
   * presigned blob URLs). Not part of toJSON(). Cannot be combined with an
   * `Authorization` header in `httpOptions.headers`.
   */
  withAuth(provider) {
    this.auth = provider;
    return this;
  }

  getAuth() {
    return this.auth;
  }

  /**
   * AEM requests in flight (an addition): at most `n` initiates, completes,
   * folder and create-asset requests at once, instead of the default limit
   * that adapts to AEM's answers (it grows while AEM keeps up and backs off
   * on 429). For benchmarks and for AEM instances with a known limit; part
   * PUTs keep `withMaxConcurrent`. Not part of toJSON().
   */
  withMaxAemRequests(n) {
    this.maxAemRequests = n;
    return this;
  }

  getMaxAemRequests() {
    return this.maxAemRequests;
  }

  getUrl() {
    const url = String(this.options.url === undefined ? '' : this.options.url).replace(/\/+$/, '');
    return url || '/';
  }

  getTargetFolderPath() {
    const { pathname } = legacyUrl.parse(this.getUrl());
    return decodeURIComponent(pathname || '');
  }

  getUrlPrefix() {
    const { protocol, host } = legacyUrl.parse(this.getUrl());
    return host ? `${protocol}//${host}` : '';
  }

  getUploadFiles() {
    return this.options.uploadFiles || [];
  }

  isConcurrent() {
    return this.getMaxConcurrent() > 1;
  }

  getMaxConcurrent() {
    return this.options.maxConcurrent;
  }

  getHttpOptions() {
    return this.options.httpOptions || {};
  }

  getHttpRetryCount() {
    return this.options.retryCount;
  }

  getHttpRetryDelay() {
    return this.options.retryDelay;
  }

  getHttpRequestTimeout() {
    return this.options.requestTimeout;
  }

  getAbortSignal() {
    return this.abortSignal;
  }

  toJSON() {
    return { ...this.options };
  }
}

module.exports = DirectBinaryUploadOptions;
