'use strict';

// Modelled on ppal885/aem-upload-utils, upload-service.js (commit 58c628f): a
// migration service's upload module. Written here in our own words (public
// code is not vendored), keeping what it does with the library:
// - a deep import of `@adobe/aem-upload/src/constants` for the node-name regexes;
// - FileSystemUpload, deep upload, maxUploadFiles, maxConcurrent, retry count,
//   delay and timeout, Basic credentials in httpOptions.headers;
// - async folder and asset node-name processors replacing invalid characters;
// - totals kept from filestart / fileprogress / fileend / fileerror /
//   filecancelled payloads (fileName, fileSize, transferred, errors[0].message);
// - the promise's outcome turned into {success, totals, errors, cancelled}.
// Adapted: a `require.main` block runs one upload against AEM_URL with the
// emulator's credentials and prints that outcome as JSON.

const { FileSystemUploadOptions, FileSystemUpload } = require('@adobe/aem-upload');
const { RegularExpressions } = require('@adobe/aem-upload/src/constants');

function runUpload(config, onEvent) {
  const url = `${config.baseUrl.replace(/\/+$/, '')}/${config.damPath.replace(/^\/+/, '')}`;
  const credentials = Buffer.from(`${config.username}:${config.password}`).toString('base64');
  const options = new FileSystemUploadOptions()
    .withUrl(url)
    .withDeepUpload(true)
    .withMaxUploadFiles(config.maxUploadFiles || 50000)
    .withMaxConcurrent(config.maxConcurrent || 2)
    .withHttpRetryCount(config.httpRetryCount != null ? config.httpRetryCount : 5)
    .withHttpRetryDelay(config.httpRetryDelay != null ? config.httpRetryDelay : 8000)
    .withHttpRequestTimeout(config.httpRequestTimeout != null ? config.httpRequestTimeout : 120000)
    .withHttpOptions({ headers: { Authorization: `Basic ${credentials}` } })
    .withFolderNodeNameProcessor(async (name) => name.replace(RegularExpressions.INVALID_FOLDER_CHARACTERS_REGEX, '-'))
    .withAssetNodeNameProcessor(async (name) => name.replace(RegularExpressions.INVALID_ASSET_CHARACTERS_REGEX, '-'));

  const upload = new FileSystemUpload();
  const errors = [];
  const perFile = {};
  let totalFiles = 0;
  let totalBytes = 0;
  let transferredBytes = 0;
  let cancelled = false;

  upload.on('filestart', (data) => {
    totalFiles += 1;
    totalBytes += data.fileSize || 0;
  });
  upload.on('fileprogress', (data) => {
    transferredBytes += (data.transferred || 0) - (perFile[data.fileName] || 0);
    perFile[data.fileName] = data.transferred || 0;
  });
  upload.on('fileend', (data) => {
    transferredBytes += (data.fileSize || 0) - (perFile[data.fileName] || 0);
    delete perFile[data.fileName];
    if (onEvent) onEvent('fileend', data);
  });
  upload.on('fileerror', (data) => {
    const message = (data.errors && data.errors[0] && data.errors[0].message) || 'Unknown error';
    errors.push(`${data.fileName}: ${message}`);
    delete perFile[data.fileName];
  });
  upload.on('filecancelled', (data) => {
    cancelled = true;
    delete perFile[data.fileName];
  });

  const promise = upload.upload(options, config.localPaths)
    .then(() => ({ success: errors.length === 0 && !cancelled, totalFiles, totalBytes, transferredBytes, errors, cancelled }))
    .catch((err) => {
      errors.push(err.message || String(err));
      return { success: false, totalFiles, totalBytes, transferredBytes, errors, cancelled };
    });
  return { promise, cancel: () => { cancelled = true; if (upload.cancel) upload.cancel(); } };
}

module.exports = { runUpload };

if (require.main === module) {
  const { promise } = runUpload({
    baseUrl: process.env.AEM_URL,
    damPath: '/content/dam/migrated',
    localPaths: [process.env.WORKDIR],
    username: process.env.AEM_USER,
    password: process.env.AEM_PASS,
    httpRetryDelay: 10,
  });
  promise.then((outcome) => {
    console.log(JSON.stringify(outcome));
    process.exitCode = outcome.success ? 0 : 1;
  });
}
