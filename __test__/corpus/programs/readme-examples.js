'use strict';

// Modelled on adobe/aem-upload's own README (as published with 2.0.3,
// "Uploading Files", "Upload Events", "Error Handling" and "Uploading Local
// Files"): the code most users start from. The DirectBinaryUpload example
// uploads two files by `filePath` with the event listeners the README shows and
// reads the result's totals; the FileSystemUpload example sets
// `Authorization` to bare base64 (the README omits "Basic "), so AEM refuses
// it and the promise rejects with an UploadError. Adapted: host and files.

const path = require('path');
const DirectBinary = require('@adobe/aem-upload');

async function directBinary() {
  const dir = process.env.WORKDIR;
  const upload = new DirectBinary.DirectBinaryUpload();
  const options = new DirectBinary.DirectBinaryUploadOptions()
    .withUrl(`${process.env.AEM_URL}/content/dam/readme`)
    .withUploadFiles([
      { fileName: 'file1.jpg', fileSize: 1024 * 1024 + 3, filePath: path.join(dir, 'big.bin') },
      { fileName: 'file2.jpg', fileSize: 512, filePath: path.join(dir, 'small.bin') },
    ])
    .withHttpOptions({ headers: { Authorization: `Basic ${Buffer.from(`${process.env.AEM_USER}:${process.env.AEM_PASS}`).toString('base64')}` } });
  upload.on('filestart', (data) => console.log(`filestart ${data.fileName} ${data.fileSize} ${data.targetFolder} ${data.targetFile}`));
  upload.on('fileend', (data) => console.log(`fileend ${data.fileName} ${data.fileSize} ${data.targetFile}`));
  upload.on('fileerror', (data) => console.log(`fileerror ${data.fileName} ${data.errors.map((e) => e.code).join(',')}`));
  const result = await upload.uploadFiles(options);
  console.log(`completed ${result.totalCompleted} of ${result.totalFiles}, ${result.totalFileSize} bytes, errors ${result.errors.length}`);
}

async function fileSystem() {
  const options = new DirectBinary.FileSystemUploadOptions()
    .withUrl(`${process.env.AEM_URL}/content/dam/target-folder`)
    .withHttpOptions({ headers: { Authorization: Buffer.from(`${process.env.AEM_USER}:${process.env.AEM_PASS}`).toString('base64') } });
  try {
    await new DirectBinary.FileSystemUpload().upload(options, [path.join(process.env.WORKDIR, 'small.bin'), process.env.WORKDIR]);
    console.log('uploaded');
  } catch (err) {
    console.log(`rejected: ${err.code} uploadError=${err.uploadError} status=${err.getHttpStatusCode()} ${err.getMessage()}`);
  }
}

directBinary().then(fileSystem);
