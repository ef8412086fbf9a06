'use strict';

// aem-upload-rs: a drop-in for @adobe/aem-upload 2.0.x on a Rust engine.
// The main entry exports exactly the reference's five keys, in its order.

const DirectBinaryUpload = require('./lib/direct-binary-upload');
const DirectBinaryUploadOptions = require('./lib/direct-binary-upload-options');
const DirectBinaryUploadErrorCodes = require('./lib/error-codes');
const FileSystemUpload = require('./lib/filesystem-upload');
const FileSystemUploadOptions = require('./lib/filesystem-upload-options');

module.exports = {
  DirectBinaryUpload,
  DirectBinaryUploadOptions,
  DirectBinaryUploadErrorCodes,
  FileSystemUpload,
  FileSystemUploadOptions,
};
