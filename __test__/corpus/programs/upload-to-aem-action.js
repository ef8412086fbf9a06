'use strict';

// Modelled on L114638/adobe_microservice, actions/upload-to-aem/index.js
// (commit 20957b5): an App Builder action. It scans one folder (not deep) for
// allowed extensions, uploads every match in one DirectBinaryUpload call
// (`fileName`, `fileSize`, `filePath`, a Bearer header), then reads
// `result.totalCompleted` and walks `result.detailedResult` **by index**,
// pairing entry i with the i-th file it sent, to build its answer
// (`fileResult.result.errors[0].message`). Adapted: @adobe/aio-sdk's logger is
// a console logger; the token and host come from the environment; the action's
// answer body is printed as JSON.

const fs = require('fs');
const path = require('path');
const { DirectBinaryUpload, DirectBinaryUploadOptions } = require('@adobe/aem-upload');

const logger = { info: (...a) => console.log('[info]', ...a), warn: (...a) => console.log('[warn]', ...a), error: (...a) => console.log('[error]', ...a) };

function scanFolder(folder, extensions) {
  const found = [];
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const ext = path.extname(entry.name).toLowerCase();
    if (!extensions.includes(ext)) continue;
    const filePath = path.join(folder, entry.name);
    found.push({ name: entry.name, path: filePath, size: fs.statSync(filePath).size });
  }
  return found;
}

async function uploadBatch(files, config) {
  const results = [];
  try {
    const upload = new DirectBinaryUpload();
    const options = new DirectBinaryUploadOptions()
      .withUrl(`${config.aemHost}${config.aemTargetPath}`)
      .withUploadFiles(files.map((f) => ({ fileName: f.name, fileSize: f.size, filePath: f.path })))
      .withHttpOptions({ headers: { Authorization: `Bearer ${config.token}` } });
    const result = await upload.uploadFiles(options);
    logger.info(`Batch upload completed: ${result.totalCompleted} of ${files.length} files`);
    result.detailedResult.forEach((entry, i) => {
      const file = files[i];
      const outcome = entry.result;
      if (outcome.errors && outcome.errors.length > 0) {
        results.push({ success: false, fileName: file.name, size: file.size, error: outcome.errors[0].message || 'Upload failed' });
      } else {
        results.push({ success: true, fileName: file.name, size: file.size, aemPath: `${config.aemTargetPath}/${file.name}` });
      }
    });
  } catch (error) {
    logger.error('Batch upload failed:', error.message);
    files.forEach((file) => results.push({ success: false, fileName: file.name, size: file.size, error: error.message }));
  }
  return results;
}

async function main(params) {
  const config = {
    aemHost: params.aemHost,
    aemTargetPath: params.aemTargetPath,
    token: params.token,
    sourceFolder: params.sourceFolder,
    fileExtensions: params.fileExtensions || ['.jpg', '.jpeg', '.png', '.pdf'],
  };
  const files = scanFolder(config.sourceFolder, config.fileExtensions);
  if (files.length === 0) return { statusCode: 200, body: { message: 'No files found to uploadd' } };
  const results = await uploadBatch(files, config);
  const successful = results.filter((r) => r.success).length;
  return {
    statusCode: 200,
    body: { message: 'Upload process completed', summary: { total: files.length, successful, failed: results.length - successful }, results },
  };
}

main({ aemHost: process.env.AEM_URL, aemTargetPath: '/content/dam/microservice', token: process.env.AEM_TOKEN, sourceFolder: process.env.WORKDIR })
  .then((answer) => console.log(JSON.stringify(answer.body)));
