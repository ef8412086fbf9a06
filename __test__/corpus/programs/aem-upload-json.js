#!/usr/bin/env node
'use strict';

// Modelled on a public script found by code search whose repository the index
// does not name (a wrapper called as `node aem_upload.js <config_json>`): it
// deep-imports `@adobe/aem-upload/dist/constants` (the babel build's path) for
// the folder-name regex, builds FileSystemUploadOptions with
// `withBasicAuth(user:pass)` — gone in 2.x — and prints one JSON line
// `{success, error, message}` on stdout, exiting 0 or 1. On 2.0.3 it loads, then
// fails at `withBasicAuth`. Adapted: the configuration comes from the
// environment instead of argv.

const { FileSystemUploadOptions, FileSystemUpload } = require('@adobe/aem-upload');
const { RegularExpressions } = require('@adobe/aem-upload/dist/constants');

async function uploadToAem({ sourcePath, aemBaseUrl, targetPath, username, password }) {
  const url = `${aemBaseUrl.replace(/\/$/, '')}/${targetPath.replace(/^\//, '')}`;
  const options = new FileSystemUploadOptions()
    .withUrl(url)
    .withDeepUpload(true)
    .withMaxUploadFiles(70000)
    .withMaxConcurrent(20)
    .withBasicAuth(`${username}:${password}`)
    .withFolderNodeNameProcessor(async (name) => name.replace(RegularExpressions.INVALID_FOLDER_CHARACTERS_REGEX, '-'));
  try {
    await new FileSystemUpload().upload(options, [sourcePath]);
    return { success: true, message: 'Upload completed successfully' };
  } catch (error) {
    return { success: false, error: error.message || String(error), message: 'Upload failed' };
  }
}

uploadToAem({
  sourcePath: process.env.WORKDIR,
  aemBaseUrl: process.env.AEM_URL,
  targetPath: '/content/dam/json-wrapper',
  username: process.env.AEM_USER,
  password: process.env.AEM_PASS,
}).then((result) => {
  console.log(JSON.stringify(result));
  process.exit(result.success ? 0 : 1);
}).catch((error) => {
  console.log(JSON.stringify({ success: false, error: error.message || String(error), message: 'Upload failed' }));
  process.exit(1);
});
