'use strict';

// The result object (docs/compat.md §9.1): built from the records of the files
// sent and the payloads of their terminal events.

class UploadResult {
  constructor(urlPrefix) {
    this.host = urlPrefix;
    this.totalTime = 0;
    this.createdFolders = [];
    this.errors = [];
    this.retryErrors = [];
    // Target path -> record; insertion order is the first occurrence.
    this.records = null;
  }

  addRecord(targetPath, record) {
    if (!this.records) this.records = new Map();
    this.records.set(targetPath, record);
  }

  /** The payload of a file's last terminal event becomes its `result`. */
  setFileResult(targetPath, payload) {
    const record = this.records && this.records.get(targetPath);
    if (record) record.result = payload;
  }

  addFolder(entry) {
    this.createdFolders.push(entry);
  }

  addError(error) {
    this.errors.push(error);
  }

  addRetryErrors(errors) {
    for (const error of errors) {
      if (this.retryErrors.length < 1000) this.retryErrors.push(error);
    }
  }

  toJSON() {
    const records = this.records ? [...this.records.values()] : [];
    // One pass over the files (there may be many thousands).
    let totalCompleted = 0;
    let totalFileSize = 0;
    const detailedResult = new Array(records.length);
    for (let i = 0; i < records.length; i += 1) {
      const r = records[i];
      if (r.result && r.result.errors === undefined) totalCompleted += 1;
      totalFileSize += Number(r.fileSize) || 0;
      detailedResult[i] = { ...r };
    }
    return {
      host: this.host,
      totalFiles: records.length,
      totalTime: this.totalTime,
      totalCompleted,
      totalFileSize,
      folderCreateSpent: this.createdFolders.reduce((sum, f) => sum + f.elapsedTime, 0),
      createdFolders: this.createdFolders.map((f) => ({ ...f })),
      detailedResult,
      errors: this.errors.map((e) => e.toJSON()),
      retryErrors: this.retryErrors.map((e) => e.toJSON()),
    };
  }
}

module.exports = UploadResult;
