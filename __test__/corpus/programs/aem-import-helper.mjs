// Modelled on adobe/aem-import-helper, src/aem/upload-assets.js (commit
// 642fa4d): the import helper's asset upload, an ES module. It imports
// FileSystemUploadOptions and FileSystemUpload by name, builds the DAM root URL
// from a host, uploads one folder deep with `withConcurrent(true)`,
// `withMaxConcurrent(10)`, a Bearer token and `withUploadFileOptions({replace:
// true})`, and prints one line per `fileend` and per `fileerror`
// (`errors.toString()`). Adapted: no chalk colours; a main that runs the upload
// twice (the second replaces every asset) and prints the totals of each result.

import { FileSystemUploadOptions, FileSystemUpload } from '@adobe/aem-upload';

function damRoot(target) {
  let url = /^https?:\/\//i.test(target) ? target : `https://${target}`;
  url = url.replace(/\/+$/, '');
  return new URL('/content/dam', url).toString();
}

function uploadOptions(target, token) {
  return new FileSystemUploadOptions()
    .withUrl(damRoot(target))
    .withConcurrent(true)
    .withMaxConcurrent(10)
    .withHttpRetryDelay(5000)
    .withDeepUpload(true)
    .withHttpOptions({ headers: { Authorization: `Bearer ${token}` } })
    .withUploadFileOptions({ replace: true });
}

function uploader() {
  const upload = new FileSystemUpload();
  upload.on('fileend', ({ fileName }) => console.info(`Uploaded asset: ${fileName}`));
  upload.on('fileerror', ({ fileName, errors }) => console.error(`Failed to upload asset: ${fileName}. ${errors.toString()}`));
  return upload;
}

export async function uploadAssets(target, token, folder) {
  return uploader().upload(uploadOptions(target, token), [folder]);
}

for (const round of [1, 2]) {
  // eslint-disable-next-line no-await-in-loop
  const result = await uploadAssets(process.env.AEM_URL, process.env.AEM_TOKEN, process.env.WORKDIR);
  console.log(`round ${round}: ${result.totalCompleted} of ${result.totalFiles} files, ${result.createdFolders.length} folders, ${result.errors.length} errors`);
}
