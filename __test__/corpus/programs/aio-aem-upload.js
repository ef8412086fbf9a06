'use strict';

// Modelled on adobe/aio-cli-plugin-aem, src/commands/aem/upload.js (commit
// 16aa0ad): the `aio aem:upload` command. It builds DirectBinaryUploadOptions
// with `withBasicAuth(credential)` and `withMaxConcurrent(threads)`, hands them
// to `new FileSystemUpload({ log })` and renders `result.toJSON()` into an
// HTML report. `withBasicAuth` was removed in @adobe/aem-upload 2.x, so on
// 2.0.3 the command fails before any request; a drop-in must fail the same way.
// Adapted: oclif's flag parsing and winston are replaced by process.argv and a
// console logger; the command's error is printed and exits 1, as oclif does.

const { DirectBinaryUploadOptions, FileSystemUpload } = require('@adobe/aem-upload');

const log = {
  info: (m) => console.log(`info: ${m}`),
  warn: (m) => console.log(`warn: ${m}`),
  error: (m, e) => console.log(`error: ${m}${e ? ` ${e.message}` : ''}`),
  debug: () => {},
};

async function doRun(host, credential, target, threads, paths) {
  const options = new DirectBinaryUploadOptions()
    .withUrl(`${host}${target}`)
    .withBasicAuth(credential)
    .withMaxConcurrent(parseInt(threads, 10));
  const upload = new FileSystemUpload({ log });
  const result = await upload.upload(options, paths);
  log.info('finished uploading files');
  log.info(`report entries: ${Object.keys(result.toJSON()).length}`);
}

doRun(process.env.AEM_URL, `${process.env.AEM_USER}:${process.env.AEM_PASS}`, '/content/dam/aio-upload', '5', [process.env.WORKDIR])
  .catch((err) => {
    console.error(` ›   Error: ${err.message}`);
    process.exit(1);
  });
