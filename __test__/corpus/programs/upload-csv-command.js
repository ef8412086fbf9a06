'use strict';

// Modelled on leachuk/aem-asset-upload, src/commands/aem/upload-csv.js (commit
// 052f91a): a fork of `aio aem:upload` that reads a CSV of files and metadata,
// groups rows by target folder and, per folder, builds
// DirectBinaryUploadOptions with `withBasicAuth` and `withMaxConcurrent`, then
// uploads each file with `new FileSystemUpload({ log }).upload(options, [file])`
// and reads `uploadResult.toJSON().detailedResult`. On 2.0.3 `withBasicAuth`
// does not exist, so the first folder fails before any request. Adapted: the CSV
// is a small in-memory table of generated files; oclif's error handling is a
// catch that prints the message and exits 1.

const path = require('path');
const { DirectBinaryUploadOptions, FileSystemUpload } = require('@adobe/aem-upload');

const log = { info: (m) => console.log(`info: ${m}`), error: (m, e) => console.log(`error: ${m} ${e ? e.message : ''}`), warn: () => {}, debug: () => {} };

async function doRun(host, credential, rows) {
  const upload = new FileSystemUpload({ log });
  const byFolder = {};
  for (const row of rows) (byFolder[row.aem_target_folder] = byFolder[row.aem_target_folder] || []).push(row);
  for (const folder of Object.keys(byFolder)) {
    const options = new DirectBinaryUploadOptions()
      .withUrl(`${host.replace(/\/+$/, '')}${folder}`)
      .withBasicAuth(credential)
      .withMaxConcurrent(5);
    log.info(`${folder} -> ${byFolder[folder].length} files`);
    // eslint-disable-next-line no-await-in-loop
    await Promise.all(byFolder[folder].map((row) => upload.upload(options, [row.filepath]).then((uploadResult) => {
      const json = uploadResult.toJSON();
      return json.detailedResult;
    }).catch((err) => log.error('unhandled exception attempting to upload files', err))));
  }
  log.info('END!');
}

const dir = process.env.WORKDIR;
doRun(process.env.AEM_URL, `${process.env.AEM_USER}:${process.env.AEM_PASS}`, [
  { filepath: path.join(dir, 'a.jpg'), aem_target_folder: '/content/dam/csv/one' },
  { filepath: path.join(dir, 'b.png'), aem_target_folder: '/content/dam/csv/two' },
]).catch((err) => {
  console.error(` ›   Error: ${err.message}`);
  process.exit(1);
});
