'use strict';

const DirectBinaryUploadOptions = require('./direct-binary-upload-options');
const UploadError = require('./upload-error');
const ErrorCodes = require('./error-codes');
const native = require('./native');
const { defaultFolderProcessor, defaultAssetProcessor } = require('./default-naming');

/** Options of `FileSystemUpload.upload()` (docs/compat.md §2.2). */
class FileSystemUploadOptions extends DirectBinaryUploadOptions {
  constructor() {
    super();
    this.replaceValue = '-';
    // The defaults read the replace value when they run, so setter order does not matter.
    this.folderNodeProcessor = defaultFolderProcessor(() => this.replaceValue);
    this.assetNodeProcessor = defaultAssetProcessor(() => this.replaceValue);
  }

  /** Copies any options object (a plain DirectBinaryUploadOptions too) into a FileSystemUploadOptions. */
  static fromOptions(uploadOptions) {
    const copy = new FileSystemUploadOptions();
    copy.options = { ...(uploadOptions && uploadOptions.options) };
    if (uploadOptions) {
      copy.abortSignal = uploadOptions.abortSignal;
      if (uploadOptions.journal !== undefined) copy.journal = uploadOptions.journal;
      if (uploadOptions.auth !== undefined) copy.auth = uploadOptions.auth;
      if (uploadOptions.maxAemRequests !== undefined) copy.maxAemRequests = uploadOptions.maxAemRequests;
      if (uploadOptions.proxy) copy.proxy = uploadOptions.proxy;
      if (typeof uploadOptions.replaceValue === 'string') copy.replaceValue = uploadOptions.replaceValue;
      if (typeof uploadOptions.folderNodeProcessor === 'function') copy.folderNodeProcessor = uploadOptions.folderNodeProcessor;
      if (typeof uploadOptions.assetNodeProcessor === 'function') copy.assetNodeProcessor = uploadOptions.assetNodeProcessor;
      if (typeof uploadOptions.uploadFileOptions === 'object') copy.uploadFileOptions = uploadOptions.uploadFileOptions;
    }
    return copy;
  }

  withMaxUploadFiles(maxFileCount) {
    this.options.maxUploadFiles = maxFileCount;
    return this;
  }

  withDeepUpload(deepUpload) {
    this.options.deepUpload = deepUpload;
    return this;
  }

  /** `async (name) => string`; its result still passes the mandatory replacement. */
  withFolderNodeNameProcessor(processorFunction) {
    this.folderNodeProcessor = processorFunction;
    return this;
  }

  /** `async (name) => string` for the part before the extension. */
  withAssetNodeNameProcessor(processorFunction) {
    this.assetNodeProcessor = processorFunction;
    return this;
  }

  withInvalidCharacterReplaceValue(replaceValue) {
    if (typeof replaceValue !== 'string' || !native.isValidReplaceValue(replaceValue)) {
      throw new UploadError('Invalid character replace value contains invalid characters', ErrorCodes.INVALID_OPTIONS);
    }
    this.replaceValue = replaceValue;
    return this;
  }

  /** Spread into each generated upload file; its blob, fileName, fileUrl, filePath and fileSize are ignored. */
  withUploadFileOptions(options) {
    this.uploadFileOptions = options;
    return this;
  }

  getMaxUploadFiles() {
    return this.options.maxUploadFiles || 1000;
  }

  getDeepUpload() {
    return !!this.options.deepUpload;
  }

  getFolderNodeNameProcessor() {
    return this.folderNodeProcessor;
  }

  getAssetNodeNameProcessor() {
    return this.assetNodeProcessor;
  }

  getInvalidCharacterReplaceValue() {
    return this.replaceValue;
  }

  getUploadFileOptions() {
    return this.uploadFileOptions || {};
  }
}

module.exports = FileSystemUploadOptions;
