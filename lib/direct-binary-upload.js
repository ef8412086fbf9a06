'use strict';

const { EventEmitter } = require('events');
const { randomUUID } = require('crypto');
const path = require('path');
const native = require('./native');
const UploadError = require('./upload-error');
const ErrorCodes = require('./error-codes');
const UploadResult = require('./upload-result');
const { makeLogger } = require('./logger');
const { sourceOf, pump } = require('./sources');
const { sessionOptions, transferOptions } = require('./http-options');
const { nativeOf } = require('./auth');
const {
  checkTransferOptions, checkUploadFile, checkUrl, toNumber, isUrlSource,
} = require('./validate');

const MISSING_FIELDS = 'UploadFile missing required fields. Must have one of fileName or fileUrl, fileSize, and either filePath or blob';
const CANCELLED_MESSAGE = 'Upload cancelled by user';

function invalidCall(message) {
  return new UploadError(`Invalid upload options: ${message}`, ErrorCodes.INVALID_OPTIONS);
}

function cancelledError() {
  return new UploadError(CANCELLED_MESSAGE, ErrorCodes.USER_CANCELLED);
}

function hasRequiredFields(file) {
  return !!file
    && (file.fileName || file.fileUrl)
    && (file.fileSize || file.fileSize === 0 || isUrlSource(file))
    && (file.filePath || file.blob || isUrlSource(file));
}

// An absolute POSIX path with nothing for path.resolve to normalise (the
// walk's paths, typically) comes back from it unchanged: skip the work.
const DOT_SEGMENT_PATH = /\/\.\.?(?:\/|$)/;

function resolvePath(file) {
  const resolved = path.sep === '/' && file.startsWith('/') && !file.includes('//')
    && !DOT_SEGMENT_PATH.test(file) && (file.length === 1 || !file.endsWith('/'));
  return resolved ? file : path.resolve(file);
}

/** The reference's record of a file in `detailedResult` (docs/compat.md §3), keys in order. */
function recordOf(file, fileUrl) {
  const record = { fileUrl, fileSize: file.fileSize };
  if (file.createVersion) record.createVersion = true;
  if (file.versionComment) record.versionComment = file.versionComment;
  if (file.versionLabel) record.versionLabel = file.versionLabel;
  if (file.replace) record.replace = true;
  if (file.filePath) record.filePath = file.filePath;
  if (file.partHeaders && typeof file.partHeaders === 'object' && Object.keys(file.partHeaders).length) {
    record.multipartHeaders = file.partHeaders;
  }
  if (file.blob) record.blob = '<provided>';
  return record;
}

/**
 * The engine-side options of a planned call's files when every file has the
 * same ones (FileSystemUpload gives each the upload file options), else
 * null: the files then cross one by one.
 * @private
 */
function sharedFileOptions(files) {
  const first = files[0];
  const same = (file) => file.createVersion === first.createVersion && file.replace === first.replace
    && file.versionLabel === first.versionLabel && file.versionComment === first.versionComment
    && file.partHeaders === first.partHeaders && !file.blob && !isUrlSource(file) && !!file.filePath;
  if (!first || !files.every(same)) return null;
  const shared = { createVersion: !!first.createVersion, replace: !!first.replace };
  if (first.versionLabel) shared.versionLabel = String(first.versionLabel);
  if (first.versionComment) shared.versionComment = String(first.versionComment);
  if (first.partHeaders) shared.partHeaders = stringMap(first.partHeaders);
  return shared;
}

function stringMap(object) {
  const out = {};
  if (object && typeof object === 'object') {
    for (const key of Object.keys(object)) {
      if (object[key] !== undefined && object[key] !== null) out[key] = String(object[key]);
    }
  }
  return out;
}

// Events the engine sends only while they have a listener: event name -> engine kind.
const OPTIONAL_EVENTS = { fileprogress: 'progress', filestart: 'start' };

/**
 * A file event's payload (docs/compat.md §8): the file's fields in the
 * reference's order, then its MIME type when known. Built as one literal: a
 * spread of the base per event showed in profiles of thousands of files.
 */
function payloadOf(base, mimeType) {
  const payload = {
    fileName: base.fileName,
    fileSize: base.fileSize,
    targetFolder: base.targetFolder,
    targetFile: base.targetFile,
    sourceFolder: base.sourceFolder,
    sourceFile: base.sourceFile,
  };
  if (mimeType) payload.mimeType = mimeType;
  return payload;
}

/** One running call of an instance: what cancel() and cancelFile() act on. */
class Call {
  constructor() {
    this.cancelled = false;
    this.handle = null;
    // The call's AEM session (client, headers, cookies), shared by its folder
    // creation and its transfer; cancel() aborts its folder requests.
    this.session = null;
    // Stream sources by file index, pumped when the engine wants them.
    this.streams = new Map();
    this.indexesByTarget = new Map();
    this.finished = new Set();
    // A private listener of finished files and their retries (FileSystemUpload#uploadPlanned).
    this.onSettled = null;
    // Which optional events the engine sends (listeners exist): kind -> boolean.
    this.wanted = { progress: true, start: true };
  }

  cancel() {
    this.cancelled = true;
    if (this.session) this.session.cancel();
    if (this.handle) this.handle.cancel();
  }

  cancelFile(targetPath) {
    const found = this.indexesByTarget.get(targetPath);
    const indexes = found === undefined ? [] : [].concat(found);
    const open = indexes.filter((i) => !this.finished.has(i));
    if (!this.handle || open.length === 0) return false;
    for (const i of open) this.handle.cancelFile(i);
    return true;
  }
}

/**
 * Uploads files (from paths or in-memory data) to AEM with direct binary
 * upload. Drop-in for `@adobe/aem-upload`'s class of the same name.
 */
class DirectBinaryUpload extends EventEmitter {
  /**
   * @param {object} [options] `log` (an object with debug/info/warn/error), `signal` (an AbortSignal for every call)
   */
  constructor(options = {}) {
    super();
    this.options = options || {};
    this.log = this.options.log;
    this.logger = makeLogger(this.options.log);
    this.calls = new Set();
    // Progress and start events cross from the engine only while someone
    // listens for them: a listener added during a call gets them from then on
    // (and every batch checks again, should this hook be removed with
    // removeAllListeners()).
    this.on('newListener', (name) => {
      const kind = OPTIONAL_EVENTS[name];
      if (!kind) return;
      for (const call of this.calls) this.wantEvents(call, kind, true);
    });
    const { signal } = this.options;
    this.signal = signal;
    if (signal && typeof signal.addEventListener === 'function') {
      signal.addEventListener('abort', () => this.cancel(), { once: true });
    }
  }

  getOptions() {
    return this.options;
  }

  /**
   * Uploads `options.getUploadFiles()`; resolves with the result object.
   * @param {import('./direct-binary-upload-options')} options
   */
  uploadFiles(options) {
    const uploadId = randomUUID();
    if (!options || typeof options.getUploadFiles !== 'function') {
      return this.rejectCall(uploadId, invalidCall('uploadFiles() needs a DirectBinaryUploadOptions'));
    }
    const list = options.getUploadFiles();
    const files = Array.isArray(list) ? list : [];
    let totalSize = 0;
    files.forEach((file) => {
      const size = toNumber(file && file.fileSize);
      if (Number.isFinite(size)) totalSize += size;
    });
    const start = { uploadId, fileCount: files.length, totalSize, directoryCount: 0 };
    const result = new UploadResult(options.getUrlPrefix());
    const call = this.beginCall(options);
    try {
      this.emit('fileuploadstart', start);
    } catch (err) {
      this.calls.delete(call);
      return Promise.reject(UploadError.fromError(err));
    }
    return (async () => {
      try {
        await this.transfer(call, options, files, result);
      } finally {
        this.calls.delete(call);
      }
      const json = result.toJSON();
      // Serialising thousands of results costs milliseconds: only for a logger.
      if (this.logger.enabled) this.logger.debug(`Uploading result in JSON: ${JSON.stringify(json)}`);
      this.emit('fileuploadend', { ...start, result: json });
      return json;
    })();
  }

  /**
   * A call that cannot start: both events, the error in the result (docs/compat.md §4.1).
   * @private
   */
  rejectCall(uploadId, error) {
    const start = { uploadId, fileCount: 0, totalSize: 0, directoryCount: 0 };
    const result = new UploadResult('');
    result.addError(error);
    try {
      this.emit('fileuploadstart', start);
      const json = result.toJSON();
      this.emit('fileuploadend', { ...start, result: json });
      return Promise.resolve(json);
    } catch (err) {
      return Promise.reject(UploadError.fromError(err));
    }
  }

  /** Cancels every running call of this instance. */
  cancel() {
    for (const call of this.calls) call.cancel();
  }

  /**
   * Cancels one file of a running call.
   * @param {string} targetPath the file's decoded target path (as `targetFile` in events)
   * @returns {boolean} whether an unfinished file matched
   */
  cancelFile(targetPath) {
    let matched = false;
    for (const call of this.calls) {
      if (call.cancelFile(targetPath)) matched = true;
    }
    return matched;
  }

  /** @private */
  beginCall(options) {
    const call = new Call();
    this.calls.add(call);
    const signals = [this.signal, options && typeof options.getAbortSignal === 'function' ? options.getAbortSignal() : undefined];
    for (const signal of signals) {
      if (!signal) continue;
      if (signal.aborted) call.cancel();
      else if (typeof signal.addEventListener === 'function') signal.addEventListener('abort', () => call.cancel(), { once: true });
    }
    return call;
  }

  /** The call's session, made on first use; throws on an unusable proxy or CA. @private */
  sessionOf(call, options) {
    if (!call.session) {
      const auth = typeof options.getAuth === 'function' ? nativeOf(options.getAuth()) : undefined;
      call.session = new native.NativeSession(sessionOptions(options), auth);
    }
    return call.session;
  }

  /** Emits a file event; a throwing listener is logged and ignored. @private */
  emitFileEvent(name, payload) {
    try {
      this.emit(name, payload);
    } catch (err) {
      this.logger.warn(`A '${name}' listener threw: ${err && err.message}`);
    }
  }

  /**
   * Steps 3–5 of docs/compat.md §4.1: validate, pre-validate, transfer.
   * `planned` (FileSystemUpload's own files, built from checked parts) holds
   * their targets, planned by the engine. With
   * `ready` (FileSystemUpload's folders), the call is prepared meanwhile and
   * goes on only once it resolves true; false (cancelled) ends it with the
   * result untouched, a rejection rejects it.
   * @private
   */
  async transfer(call, options, files, result, { planned = null, ready = null } = {}) {
    if (!planned && !files.every(hasRequiredFields)) {
      result.addError(new UploadError(MISSING_FIELDS, ErrorCodes.INVALID_OPTIONS));
      return;
    }
    let fileUrls;
    let resolved;
    let targets;
    try {
      checkTransferOptions(options);
      if (!planned) files.forEach(checkUploadFile);
      if (files.some((file) => !file.fileUrl)) checkUrl(options.getUrl(), 'url');
      fileUrls = files.map((file) => file.fileUrl || `${options.getUrl()}/${encodeURIComponent(file.fileName)}`);
      resolved = planned || native.resolveTargets(JSON.stringify(fileUrls));
      targets = JSON.parse(resolved.describe());
      const failed = targets.find((target) => !Array.isArray(target));
      if (failed) throw UploadError.fromNative(failed);
    } catch (err) {
      result.addError(UploadError.fromError(err));
      return;
    }
    if (files.length === 0) return;

    // URL sources without a fileSize: the origins tell (docs/remote-sources.md §1).
    const probed = await this.probeSizes(call, files, options);
    // FileSystemUpload's own files, all with the same options, start from the
    // engine's plan at once: no per-file spec crosses, and the engine
    // pre-validates while the payloads and records are built below.
    const shared = planned && ready ? sharedFileOptions(files) : null;
    let engineOptions;
    let handle = null;
    let startError = null;
    try {
      call.wanted = { progress: this.listenerCount('fileprogress') > 0, start: this.listenerCount('filestart') > 0 };
      engineOptions = {
        ...transferOptions(options, this.logger.enabled), progress: call.wanted.progress, starts: call.wanted.start,
      };
      if (shared) {
        handle = native.startPlannedUpload(planned, files.length, JSON.stringify(shared), engineOptions, this.sessionOf(call, options), true);
      }
    } catch (err) {
      startError = err;
    }
    // Nothing below is needed for the engine to go on: it starts sending as
    // soon as the folders are there, while the payloads and records are built.
    const proceeded = !!handle;
    if (proceeded && !(await this.proceedWhenReady(call, handle, ready))) return;
    const buffers = [];
    const nativeFiles = [];
    const payloads = [];
    for (let i = 0; i < files.length; i += 1) {
      const file = files[i];
      const [targetFile, targetFolder, fileName] = targets[i];
      const size = probed.has(i) ? probed.get(i).size : Number(file.fileSize);
      const entry = {
        size: Number.isFinite(size) ? size : 0,
        createVersion: !!file.createVersion,
        replace: !!file.replace,
      };
      if (file.versionLabel) entry.versionLabel = String(file.versionLabel);
      if (file.versionComment) entry.versionComment = String(file.versionComment);
      if (file.partHeaders) entry.partHeaders = stringMap(file.partHeaders);
      let sourceFile = '';
      let sourceFolder = '.';
      if (probed.has(i) && probed.get(i).error) {
        entry.rejected = probed.get(i).error;
      } else if (isUrlSource(file)) {
        // Read by the engine from the origin; its headers go there alone.
        entry.sourceUrl = String(file.sourceUrl);
        if (file.sourceHeaders) entry.sourceHeaders = stringMap(file.sourceHeaders);
      } else if (file.blob) {
        try {
          const source = await sourceOf(file.blob, size);
          if (source.stream) {
            entry.stream = true;
            call.streams.set(i, source.stream);
          } else {
            buffers.push(source.buffer);
            entry.bufferIndex = buffers.length - 1;
          }
        } catch (err) {
          const error = UploadError.fromError(err);
          entry.rejected = { code: error.code, message: error.message, detail: '' };
        }
      } else {
        sourceFile = resolvePath(String(file.filePath));
        sourceFolder = path.dirname(sourceFile);
        entry.filePath = sourceFile;
      }
      if (!Number.isFinite(size) || size < 1) entry.size = 0;
      if (!shared) nativeFiles.push(entry);
      payloads.push({
        fileName,
        fileSize: probed.has(i) && !probed.get(i).error ? size : file.fileSize,
        targetFolder,
        targetFile,
        sourceFolder,
        sourceFile,
      });
    }

    const spec = shared ? null : JSON.stringify(nativeFiles);
    // Not needed again during the transfer: let thousands of entries go.
    nativeFiles.length = 0;
    const addRecords = () => {
      files.forEach((file, i) => {
        const { targetFile } = payloads[i];
        const record = recordOf(file, fileUrls[i]);
        if (probed.has(i) && !probed.get(i).error) record.fileSize = probed.get(i).size;
        result.addRecord(targetFile, record);
        // An index, or a list of them for a target given more than once.
        const known = call.indexesByTarget.get(targetFile);
        call.indexesByTarget.set(targetFile, known === undefined ? i : [].concat(known, i));
      });
      targets.length = 0;
    };
    // With `ready`, the engine pre-validates while the folders are created
    // and sends nothing until told to go on; its events wait meanwhile.
    if (!ready && call.cancelled) {
      result.addError(cancelledError());
      return;
    }
    try {
      if (startError) throw startError;
      if (!handle) handle = native.startUpload(spec, buffers, engineOptions, this.sessionOf(call, options), resolved, !!ready);
    } catch (err) {
      if (ready && !(await ready)) return;
      if (call.cancelled) {
        result.addError(cancelledError());
        return;
      }
      addRecords();
      result.addError(UploadError.fromError(err));
      return;
    }
    if (!proceeded && !(await this.proceedWhenReady(call, handle, ready))) return;
    if (call.cancelled) {
      result.addError(cancelledError());
      return;
    }
    call.handle = handle;
    // Built while the engine pre-validates; its events are read only after.
    addRecords();
    if (call.cancelled) call.handle.cancel();
    // Events arrive in batches; the last one is 'done'.
    let finished = false;
    while (!finished) {
      for (const event of JSON.parse(await call.handle.nextEvents())) {
        if (event.kind === 'done') finished = true;
        try {
          this.onEngineEvent(call, event, payloads, result);
        } catch (err) {
          this.logger.error(`Internal error handling an upload event: ${err && err.message}`);
        }
      }
      for (const [name, kind] of Object.entries(OPTIONAL_EVENTS)) this.wantEvents(call, kind, this.listenerCount(name) > 0);
    }
  }

  /**
   * Lets a gated call's engine go on once `ready` (FileSystemUpload's
   * folders) resolves true and the call is not cancelled; resolves whether
   * it was created. A rejection (a folder that could not be created)
   * withdraws the call, so that nothing is sent, and rethrows.
   * @private
   */
  async proceedWhenReady(call, handle, ready) {
    if (!ready) return true;
    let created = false;
    try {
      created = await ready;
    } finally {
      handle.proceed(created && !call.cancelled);
    }
    return created;
  }

  /**
   * Sizes of the URL sources given without a `fileSize`, asked of their
   * origins: index -> `{size}` or `{error}` (a native error).
   * @private
   */
  async probeSizes(call, files, options) {
    const asked = [];
    files.forEach((file, i) => {
      if (isUrlSource(file) && (file.fileSize === undefined || file.fileSize === null)) asked.push(i);
    });
    const out = new Map();
    if (asked.length === 0) return out;
    const spec = JSON.stringify(asked.map((i) => ({ sourceUrl: String(files[i].sourceUrl), sourceHeaders: stringMap(files[i].sourceHeaders) })));
    const outcomes = JSON.parse(await this.sessionOf(call, options).probeSources(spec, transferOptions(options, false)));
    asked.forEach((i, k) => out.set(i, outcomes[k]));
    return out;
  }

  /** Tells a call's engine whether events of `kind` (progress, start) are wanted. @private */
  wantEvents(call, kind, wanted) {
    if (call.handle && call.wanted[kind] !== wanted) {
      call.wanted[kind] = wanted;
      call.handle.wantEvents(kind, wanted);
    }
  }

  /** @private */
  onEngineEvent(call, event, payloads, result) {
    const base = event.file === undefined || event.file === null ? undefined : payloads[event.file];
    const withMime = () => payloadOf(base, event.mimeType);
    switch (event.kind) {
      // Payloads nobody listens for are not built (thousands of files).
      case 'start':
        if (this.listenerCount('filestart')) this.emitFileEvent('filestart', payloadOf(base));
        break;
      case 'progress':
        if (this.listenerCount('fileprogress')) this.emitFileEvent('fileprogress', { ...withMime(), transferred: event.transferred });
        break;
      case 'end': {
        call.finished.add(event.file);
        if (call.onSettled) call.onSettled(event.file, event.retries || 0);
        const payload = withMime();
        result.setFileResult(base.targetFile, payload);
        this.emitFileEvent('fileend', payload);
        break;
      }
      case 'error': {
        call.finished.add(event.file);
        if (call.onSettled) call.onSettled(event.file, event.retries || 0);
        const payload = { ...withMime(), errors: [UploadError.fromNative(event.error)] };
        result.setFileResult(base.targetFile, payload);
        this.emitFileEvent('fileerror', payload);
        break;
      }
      case 'cancelled': {
        call.finished.add(event.file);
        if (call.onSettled) call.onSettled(event.file, event.retries || 0);
        const payload = { ...withMime(), errors: [cancelledError()] };
        result.setFileResult(base.targetFile, payload);
        this.emitFileEvent('filecancelled', payload);
        break;
      }
      case 'wanted': {
        const stream = call.streams.get(event.file);
        call.streams.delete(event.file);
        if (stream) pump(call.handle, event.file, stream);
        break;
      }
      case 'skipped': {
        // Completed in an earlier run (the journal): its result, no events.
        call.finished.add(event.file);
        result.setFileResult(base.targetFile, withMime());
        break;
      }
      case 'log':
        this.logger[event.level] ? this.logger[event.level](event.message) : this.logger.info(event.message);
        break;
      case 'done':
        result.totalTime = event.totalTime || 0;
        result.addRetryErrors((event.retryErrors || []).map((e) => UploadError.fromNative(e)));
        for (const error of event.errors || []) result.addError(UploadError.fromNative(error));
        break;
      default:
        break;
    }
  }
}

module.exports = DirectBinaryUpload;
