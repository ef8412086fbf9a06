'use strict';

// Modelled on adobe/aem-uix-examples,
// src/aem-cf-console-admin-1/actions/generate-image/upload-generated-image-to-aem.js
// (commit 24c4039), the code of Adobe's Experience League tutorial on a Content
// Fragment console extension. It uploads one image by a relative `filePath`
// with DirectBinaryUpload, logs filestart / fileprogress / fileend / fileerror,
// sends `content-type: image/png` next to the Bearer token in
// `httpOptions.headers`, then calls `result.getErrors()` and
// `result.getFileUploadResults()` — methods of the 1.x result that 2.0.3's
// plain result object does not have, so its `.catch` logs the TypeError and it
// still reports success. Adapted: @adobe/aio-sdk's logger is a console logger,
// and the image is written locally instead of being downloaded.

const fs = require('fs');
const { DirectBinaryUploadErrorCodes, DirectBinaryUpload, DirectBinaryUploadOptions } = require('@adobe/aem-upload');

const codes = DirectBinaryUploadErrorCodes;
const DAM_PATH = '/content/dam/wknd-shared/en/generated';
const logger = { log: (m) => console.log(m), info: (m) => console.log(m), error: (m) => console.log(m) };

function watch(upload) {
  upload.on('filestart', ({ fileName }) => logger.log(`Started file upload ${fileName}`));
  upload.on('fileprogress', ({ fileName, transferred }) => logger.log(`Fileupload is in progress ${fileName} & ${transferred}`));
  upload.on('fileend', ({ fileName }) => logger.log(`Finished file upload ${fileName}`));
  upload.on('fileerror', ({ fileName, errors }) => logger.log(`Error in file upload ${fileName} and ${errors}`));
}

async function uploadImage(aemURL, imageName, accessToken) {
  let imageUrl;
  try {
    const upload = new DirectBinaryUpload();
    watch(upload);
    const size = fs.statSync(imageName).size;
    logger.info(`The image upload size is: ${size}`);
    const options = new DirectBinaryUploadOptions()
      .withUrl(`${aemURL}${DAM_PATH}`)
      .withUploadFiles([{ fileName: imageName, fileSize: size, filePath: imageName }]);
    options.withHttpOptions({ headers: { 'content-type': 'image/png', Authorization: `Bearer ${accessToken}` } });
    await upload.uploadFiles(options)
      .then((result) => {
        result.getErrors().forEach((error) => {
          if (error.getCode() === codes.ALREADY_EXISTS) logger.error('The generated image already exists');
        });
        result.getFileUploadResults().forEach((fileResult) => logger.info(`File upload result ${JSON.stringify(fileResult)}`));
      })
      .catch((err) => logger.info(`Failed to uploaded generated image to AEM${err}`));
    logger.info('Successfully uploaded generated image to AEM');
    imageUrl = `${aemURL + DAM_PATH}/${imageName}`;
  } catch (error) {
    logger.info(`Error while uploading generated image to AEM, see ${error}`);
  }
  return imageUrl;
}

process.chdir(process.env.WORKDIR);
fs.writeFileSync('generated.png', Buffer.alloc(70 * 1024, 7));
uploadImage(process.env.AEM_URL, 'generated.png', process.env.AEM_TOKEN).then((url) => {
  fs.unlinkSync('generated.png');
  console.log(`returned ${url ? url.replace(process.env.AEM_URL, '<aem>') : url}`);
});
