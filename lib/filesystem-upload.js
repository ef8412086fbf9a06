'use strict';

const path = require('path');
const native = require('./native');
const DirectBinaryUpload = require('./direct-binary-upload');
const FileSystemUploadOptions = require('./filesystem-upload-options');
const UploadError = require('./upload-error');
const ErrorCodes = require('./error-codes');
const UploadResult = require('./upload-result');
const { folderOptions } = require('./http-options');
const { namesFor } = require('./default-naming');
const { randomUUID } = require('crypto');
const { checkFileSystemOptions, checkTransferOptions, checkUrl, toNumber } = require('./validate');

// Folder creations in flight: siblings overlap, parents still come first.
const FOLDERS_IN_FLIGHT = 8;

const IGNORED_FILE_OPTIONS = ['blob', 'fileName', 'fileUrl', 'filePath', 'fileSize'];

/** A folder request the binding itself refused, as an outcome (never an unhandled rejection). */
function failedOutcome(err) {
  return { status: 'failed', elapsedTime: 0, retryErrors: [], error: { code: ErrorCodes.UNKNOWN, message: String(err && err.message), detail: '' } };
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
    return this.runCall(fsOptions, () => checkFileSystemOptions(fsOptions, paths), async () => {
      const plan = await this.walkAndPlan(fsOptions, paths);
      this.logger.info(`From ${paths.length} paths, filesystem upload compiled upload of ${plan.directories.length} directories, ${plan.files.length} files. Encountered ${plan.warnings.length} filesystem-related errors.`);
      return plan;
    });
  }

  /**
   * Uploads what walkAndPlan() planned, as upload() does after its walk (the
   * command line plans first, for dry runs and manifests). Resolves with the
   * result. `onSettled(index, retries)`, when given, hears of each file of
   * the plan that finished (uploaded, failed or cancelled) and how many of its
   * requests' attempts were retried: what a report needs beyond the events.
   * @private
   */
  async uploadPlanned(options, plan, { onSettled } = {}) {
    return this.runCall(FileSystemUploadOptions.fromOptions(options), null, async () => plan, onSettled);
  }

  /**
   * One call: the options checked before anything is sent (a problem rejects
   * like a folder failure would), the target folder chain, then `planOf()`'s
   * folders and files.
   * @private
   */
  async runCall(options, check, planOf, onSettled = null) {
    checkUrl(options.getUrl(), 'url');
    checkTransferOptions(options);
    if (check) check();
    const result = new UploadResult(options.getUrlPrefix());
    const call = this.beginCall(options);
    call.onSettled = onSettled;
    try {
      const chain = JSON.parse(native.folderChain(options.getTargetFolderPath()));
      if (!(await this.createFolders(call, options, result, chain))) {
        return this.cancelledBeforeTransfer(result, null);
      }
      if (call.cancelled) return this.cancelledBeforeTransfer(result, null);
      return await this.runPlanned(call, options, result, await planOf());
    } finally {
      this.calls.delete(call);
    }
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
    let walk = await native.walkTree(localPaths, options.getDeepUpload(), Math.min(Math.floor(cap), 0xffffffff));
    const walked = JSON.parse(walk.describe());
    // The walk's limits are bare-message errors in the reference too: no innerStack key.
    if (walked.error) throw new UploadError(walked.error.message, walked.error.code, walked.error.detail || '');
    for (const warning of walked.warnings) this.logger.warn(warning);
    if (filter) walk = walk.retain(JSON.parse(walk.relativePaths()).map((relative) => !!filter(relative)));
    const planned = await this.plan(options, options.getTargetFolderPath(), walk);
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
    const session = this.sessionOf(call, options);
    if (call.cancelled) return false;
    if (folders.length === 0) return true;
    let outcomes;
    try {
      outcomes = await session.createFolders(options.getUrlPrefix(), folders.map((f) => f.path),
        folders.map((f) => f.title), FOLDERS_IN_FLIGHT, folderOptions(options));
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
   * The engine's plan of the walked tree (docs/compat.md §6): the folders
   * to create and the files with their targets, in walk order. Custom
   * processors are asked here, once per distinct local name.
   * @private
   */
  async plan(options, targetFolder, walk) {
    let listed = null;
    const localNames = (kind) => {
      if (!listed) listed = JSON.parse(walk.localNames());
      return listed[kind];
    };
    const folders = await namesFor(options.getFolderNodeNameProcessor(), () => localNames('folders'));
    const assets = await namesFor(options.getAssetNodeNameProcessor(), () => localNames('assets'));
    const planned = await walk.plan({
      urlPrefix: options.getUrlPrefix(),
      targetFolder,
      replace: options.getInvalidCharacterReplaceValue(),
      folderReplace: folders.replace,
      folderNames: folders.names,
      assetReplace: assets.replace,
      assetNames: assets.names,
    });
    const { directories, files: plannedFiles } = JSON.parse(planned.describe());
    const fileOptions = { ...options.getUploadFileOptions() };
    for (const key of IGNORED_FILE_OPTIONS) delete fileOptions[key];
    const files = plannedFiles.map(([filePath, fileSize, fileUrl]) => ({
      ...fileOptions,
      fileUrl,
      filePath,
      fileSize,
    }));
    return { directories, files, targets: planned.targets() };
  }
}

module.exports = FileSystemUpload;
