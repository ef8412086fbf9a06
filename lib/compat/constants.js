'use strict';

// The values behind `@adobe/aem-upload/src/constants` (and its babel build,
// `dist/constants`), which migration scripts import directly, most often for
// the node-name regular expressions in their name processors. Same names and
// values as @adobe/aem-upload 2.0.3; the engine has its own copies of the
// rules and does not read these.

module.exports.DefaultValues = {
  /** Default part PUTs in flight. */
  MAX_CONCURRENT: 5,
  /** Default attempts of a request before it fails. */
  RETRY_COUNT: 3,
  /** Default delay between retries, in milliseconds. */
  RETRY_DELAY: 5000,
  /** Default request timeout, in milliseconds. */
  REQUEST_TIMEOUT: 60000,
  /** Default maximum number of files (and folders) of a file-system upload. */
  MAX_FILE_UPLOAD: 1000,
};

module.exports.RegularExpressions = {
  /** Characters invalid in any AEM node name. */
  INVALID_CHARACTERS_REGEX: /[/:[\]|*\\]/g,
  /** Characters invalid in AEM folder node names. */
  INVALID_FOLDER_CHARACTERS_REGEX: /[.%;#+?^{}\s"&]/g,
  /** Characters invalid in AEM asset node names. */
  INVALID_ASSET_CHARACTERS_REGEX: /[#%{}?&]/g,
};

module.exports.HttpMethods = {
  POST: 'POST',
};
