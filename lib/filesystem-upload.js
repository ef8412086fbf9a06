'use strict';

const path = require('path');
const native = require('./native');
const DirectBinaryUpload = require('./direct-binary-upload');
const FileSystemUploadOptions = require('./filesystem-upload-options');
const UploadError = require('./upload-error');
const ErrorCodes = require('./error-codes');
const UploadResult = require('./upload-result');
const { folderOptions } = require('./http-options');
const { namer } = require('./default-naming');
const { plannedTargets } = require('./targets');
const { randomUUID } = require('crypto');
const { checkFileSystemOptions, checkTransferOptions, checkUrl, toNumber } = require('./validate');

// Folder creations in flight: siblings overlap, parents still come first.
const FOLDERS_IN_FLIGHT = 8;

const IGNORED_FILE_OPTIONS = ['blob', 'fileName', 'fileUrl', 'filePath', 'fileSize'];

/** A folder request the binding itself refused, as an outcome (never an unhandled rejection). */
function failedOutcome(err) {
  return { status: 'failed', elapsedTime: 0, retryErrors: [], error: { code: ErrorCodes.UNKNOWN, message: String(err && err.message), detail: '' } };
}

/** Local directory names in the order plan() asks for their node names. */
function folderNames(walked, deep) {
  const names = [];
  if (!deep) return names;
  for (const entry of walked) {
    if (entry.kind !== 'tree') continue;
    names.push(path.basename(entry.path));
    for (const dir of entry.directories) names.push(path.basename(dir.path));
  }
  return names;
}

/** Local file names in the order plan() asks for their node names. */
function fileNames(walked) {
  const names = [];
  for (const entry of walked) {
    for (const file of entry.files) names.push(path.basename(file.path));
  }
  return names;
}

/**
 * The walk with only the files `keep(relativePath)` accepts, and only the
 * folders above them (a folder left empty by the filter is not created).
 */
function filterWalk(walked, keep) {
  const out = [];
  for (const entry of walked) {
    if (entry.kind === 'file') {
      if (keep(path.basename(entry.path))) out.push(entry);
      continue;
    }
    const relative = (p) => path.relative(entry.path, p).split(path.sep).join('/');
    const files = entry.files.filter((file) => keep(relative(file.path)));
    const needed = new Set();
    for (const file of files) {
      for (let d = file.parent; d >= 0 && !needed.has(d); d = entry.directories[d].parent) needed.add(d);
    }
    const index = new Map();
    const directories = [];
    entry.directories.forEach((dir, i) => {
      if (!needed.has(i)) return;
      index.set(i, directories.length);
      directories.push({ ...dir, parent: dir.parent < 0 ? -1 : index.get(dir.parent) });
    });
    out.push({ ...entry, directories, files: files.map((f) => ({ ...f, parent: f.parent < 0 ? -1 : index.get(f.parent) })) });
  }
  return out;
}

/**
 * The folders above a target folder that are created first, as the
 * reference: '/content/dam' alone has no chain; '/content/dam/…' loses the
 * prefix; any other path is created under /content/dam as it is.
 */
function targetChain(targetFolder) {
  let trimmed = targetFolder === '/content/dam' ? '' : targetFolder;
  if (trimmed.startsWith('/content/dam/')) trimmed = trimmed.slice('/content/dam'.length);
  const chain = [];
  let current = '/content/dam';
  for (const segment of trimmed.split('/').filter((s) => s.length)) {
    current += `/${segment}`;
    chain.push({ path: current, title: segment });
  }
  return chain;
}

function encodePath(decoded) {
  return decoded.split('/').map((segment) => encodeURIComponent(segment)).join('/');
}

/**
 * Uploads local files and folders to AEM, creating the target folder chain
 * and (in deep mode) the mirrored folder tree first. Drop-in for
 * `@adobe/aem-upload`'s class of the same name.
 */
class FileSystemUpload extends DirectBinaryUpload {
  /**
   * @param {import('./direct-binary-upload-options')} options
   * @param {string[]} localPaths files and directories, handled in order
   */
  async upload(options, localPaths) {
    const fsOptions = FileSystemUploadOptions.fromOptions(options);
    const paths = Array.isArray(localPaths) ? localPaths : [localPaths];
    // Checked before anything is sent; a problem rejects like a folder failure would.
    checkUrl(fsOptions.getUrl(), 'url');
    checkTransferOptions(fsOptions);
    checkFileSystemOptions(fsOptions, paths);
    const result = new UploadResult(fsOptions.getUrlPrefix());
    const call = this.beginCall(fsOptions);
    try {
      return await this.runUpload(call, fsOptions, paths, result);
    } finally {
      this.calls.delete(call);
    }
  }

  /**
   * Uploads what walkAndPlan() planned: the target folder chain, then the
   * planned folders and files, as upload() does after its walk (the command
   * line plans first, for dry runs and manifests). Resolves with the result.
   * @private
   */
  async uploadPlanned(options, plan) {
    const fsOptions = FileSystemUploadOptions.fromOptions(options);
    checkUrl(fsOptions.getUrl(), 'url');
    checkTransferOptions(fsOptions);
    const result = new UploadResult(fsOptions.getUrlPrefix());
    const call = this.beginCall(fsOptions);
    try {
      if (!(await this.createFolders(call, fsOptions, result, targetChain(fsOptions.getTargetFolderPath())))) {
        return this.cancelledBeforeTransfer(result, null);
      }
      if (call.cancelled) return this.cancelledBeforeTransfer(result, null);
      return await this.runPlanned(call, fsOptions, result, plan);
    } finally {
      this.calls.delete(call);
    }
  }

  /** @private */
  async runUpload(call, options, localPaths, result) {
    if (!(await this.createFolders(call, options, result, targetChain(options.getTargetFolderPath())))) {
      return this.cancelledBeforeTransfer(result, null);
    }
    if (call.cancelled) return this.cancelledBeforeTransfer(result, null);
    const plan = await this.walkAndPlan(options, localPaths);
    this.logger.info(`From ${localPaths.length} paths, filesystem upload compiled upload of ${plan.directories.length} directories, ${plan.files.length} files. Encountered ${plan.warnings.length} filesystem-related errors.`);
    return this.runPlanned(call, options, result, plan);
  }

  /** Folders, then files, of a plan; fileuploadstart and fileuploadend around them. @private */
  async runPlanned(call, options, result, { directories, files, targets }) {
    const uploadId = randomUUID();
    let totalSize = 0;
    files.forEach((file) => { totalSize += file.fileSize; });
    const start = { uploadId, fileCount: files.length, totalSize, directoryCount: directories.length };
    this.emit('fileuploadstart', start);

    // The folders are created while the transfer is prepared: no file
    // starts, and nothing is added to the result, before they all are.
    const ready = this.createFolders(call, options, result, directories);
    ready.catch(() => {}); // awaited below, not an unhandled rejection meanwhile
    if (files.length) {
      this.logger.info(`Uploading ${files.length} files`);
      // Each file was built by plan() from checked options and the walk.
      await this.transfer(call, options, files, result, { planned: targets, ready });
    }
    if (!(await ready)) return this.cancelledBeforeTransfer(result, start);
    if (!files.length) this.logger.info('No files found in provided paths, skipping upload.');
    const json = result.toJSON();
    this.emit('fileuploadend', { ...start, result: json });
    return json;
  }

  /**
   * Walks `localPaths` and names what it found (no request): the folders to
   * create, the files with their target URLs, and each file's decoded target
   * where known. `filter(relativePath)`, when given, keeps only matching files
   * (their path relative to the walked folder, or a lone file's name) and the
   * folders above them. Used by upload() and by the command line.
   * @private
   */
  async walkAndPlan(options, localPaths, { filter, maxFiles } = {}) {
    const cap = maxFiles === undefined ? toNumber(options.getMaxUploadFiles()) : maxFiles;
    const walked = JSON.parse(await native.walkPaths(localPaths, options.getDeepUpload(), Math.min(Math.floor(cap), 0xffffffff)));
    // The walk's limits are bare-message errors in the reference too: no innerStack key.
    if (walked.error) throw new UploadError(walked.error.message, walked.error.code, walked.error.detail || '');
    for (const warning of walked.warnings) this.logger.warn(warning);
    const entries = filter ? filterWalk(walked.walked, filter) : walked.walked;
    const planned = await this.plan(options, options.getTargetFolderPath(), entries);
    return { ...planned, warnings: walked.warnings };
  }

  /** @private */
  cancelledBeforeTransfer(result, start) {
    result.addError(new UploadError('Upload cancelled by user', ErrorCodes.USER_CANCELLED));
    const json = result.toJSON();
    if (start) this.emit('fileuploadend', { ...start, result: json });
    return json;
  }

  /**
   * Creates folders; 409 is recorded and skipped, any other failure rejects.
   * The engine sends them in one call, up to FOLDERS_IN_FLIGHT at a time,
   * each only after its parent, and answers in list order up to the first
   * failure: events, result entries and that failure are those of
   * one-at-a-time creation.
   * @returns {Promise<boolean>} false when cancelled
   * @private
   */
  async createFolders(call, options, result, folders) {
    if (!call.folders) call.folders = new native.NativeFolderCreator(folderOptions(options), options.getUrlPrefix());
    if (call.cancelled) return false;
    if (folders.length === 0) return true;
    let outcomes;
    try {
      outcomes = await call.folders.createAll(folders.map((f) => f.path), folders.map((f) => f.title), FOLDERS_IN_FLIGHT);
    } catch (err) {
      outcomes = [failedOutcome(err)];
    }
    for (let i = 0; i < outcomes.length; i += 1) {
      if (call.cancelled) return false;
      const folder = folders[i];
      const outcome = outcomes[i];
      const retryErrors = outcome.retryErrors.map((e) => UploadError.fromNative(e).toJSON());
      if (outcome.status === 'failed') {
        const error = UploadError.fromNative(outcome.error);
        if (error.code === ErrorCodes.USER_CANCELLED) return false;
        throw error;
      }
      const entry = { elapsedTime: outcome.elapsedTime, folderPath: folder.path, folderTitle: folder.title, retryErrors };
      if (outcome.status === 'exists') {
        entry.error = { message: 'Request failed with status code 409', code: ErrorCodes.ALREADY_EXISTS };
        this.logger.info(`AEM folder '${folder.path}' already exists`);
      } else {
        this.logger.info(`AEM folder '${folder.path}' is created`);
        this.emitFileEvent('foldercreated', {
          folderName: folder.title,
          targetParent: path.posix.dirname(folder.path),
          targetFolder: folder.path,
        });
      }
      result.addFolder(entry);
    }
    return !call.cancelled;
  }

  /**
   * Node names for the walked tree (compat.md §6): folders and files with
   * their remote paths, in walk order.
   * @private
   */
  async plan(options, targetFolder, walked) {
    const replace = options.getInvalidCharacterReplaceValue();
    const deep = options.getDeepUpload();
    const folderName = namer(folderNames(walked, deep), 'folder', options.getFolderNodeNameProcessor(), replace);
    const assetName = namer(fileNames(walked), 'asset', options.getAssetNodeNameProcessor(), replace);
    const prefix = options.getUrlPrefix();
    const fileOptions = { ...options.getUploadFileOptions() };
    for (const key of IGNORED_FILE_OPTIONS) delete fileOptions[key];
    // Many files share a parent: encode each parent once.
    const encodedParents = new Map();
    const encodedParent = (remote) => {
      let encoded = encodedParents.get(remote);
      if (encoded === undefined) {
        encoded = `${prefix}${encodePath(remote)}/`;
        encodedParents.set(remote, encoded);
      }
      return encoded;
    };

    const directories = [];
    const files = [];
    // Each file's target as its URL parses, known here without parsing it.
    const targets = [];
    const targetOf = plannedTargets();
    const pushFile = (parentRemote, localPath, size, name) => {
      const folderUrl = encodedParent(parentRemote);
      const fileUrl = `${folderUrl}${encodeURIComponent(name)}`;
      files.push({
        ...fileOptions,
        fileUrl,
        filePath: localPath,
        fileSize: size,
      });
      targets.push(targetOf(parentRemote, folderUrl, name, fileUrl));
    };
    // A promise only when a custom processor has to be awaited.
    const addFile = (parentRemote, localPath, size) => {
      const named = assetName(path.basename(localPath));
      if (typeof named === 'string') return pushFile(parentRemote, localPath, size, named);
      return named.then((name) => pushFile(parentRemote, localPath, size, name));
    };
    for (const entry of walked) {
      if (entry.kind === 'file') {
        await addFile(targetFolder, entry.path, entry.files[0].size);
        continue;
      }
      if (!deep) {
        for (const file of entry.files) {
          const pending = addFile(targetFolder, file.path, file.size);
          if (pending) await pending;
        }
        continue;
      }
      const rootRemote = `${targetFolder}/${await folderName(path.basename(entry.path))}`;
      directories.push({ path: rootRemote, title: path.basename(entry.path) });
      const remotes = [];
      for (const dir of entry.directories) {
        const parentRemote = dir.parent < 0 ? rootRemote : remotes[dir.parent];
        const remote = `${parentRemote}/${await folderName(path.basename(dir.path))}`;
        remotes.push(remote);
        directories.push({ path: remote, title: path.basename(dir.path) });
      }
      for (const file of entry.files) {
        const pending = addFile(file.parent < 0 ? rootRemote : remotes[file.parent], file.path, file.size);
        if (pending) await pending;
      }
    }
    return { directories, files, targets };
  }
}

module.exports = FileSystemUpload;
