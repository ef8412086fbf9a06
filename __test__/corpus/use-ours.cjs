'use strict';

// Preloaded (`node --require`) into a corpus program's process to run it on
// aem-upload-rs instead of @adobe/aem-upload, unchanged: every require of
// `@adobe/aem-upload` or `@adobe/aem-upload/<path>` resolves to
// `aem-upload-rs` / `aem-upload-rs/<path>` through our package's `exports`
// map (a self-reference: the programs live inside this package), so a deep
// import we do not export fails here as it would for a user.

const Module = require('module');

const FROM = '@adobe/aem-upload';
const resolve = Module._resolveFilename;
Module._resolveFilename = function resolveOurs(request, parent, ...rest) {
  if (request === FROM || request.startsWith(`${FROM}/`)) {
    return resolve.call(this, `aem-upload-rs${request.slice(FROM.length)}`, parent, ...rest);
  }
  return resolve.call(this, request, parent, ...rest);
};
