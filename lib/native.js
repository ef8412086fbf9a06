'use strict';

// The native addon, loaded once through napi-rs's generated loader
// (binding.js). When no binary fits this machine, say which platform package
// was looked for, instead of the loader's generic "Cannot find native binding".

const pkg = require('../package.json');

/** napi-rs's name for this machine, e.g. `linux-x64-gnu`. */
function platformName() {
  let abi = '';
  if (process.platform === 'linux') {
    let glibc = false;
    try {
      glibc = Boolean(process.report.getReport().header.glibcVersionRuntime);
    } catch (e) {
      glibc = false;
    }
    abi = glibc ? '-gnu' : '-musl';
  } else if (process.platform === 'win32') {
    abi = '-msvc';
  }
  return `${process.platform}-${process.arch}${abi}`;
}

function load() {
  try {
    return require('../binding');
  } catch (cause) {
    const platform = platformName();
    const supported = ((pkg.napi && pkg.napi.targets) || []).join(', ');
    const error = new Error(
      `aem-upload-rs: no native binary for this platform (${platform}). `
      + `It ships in the package ${pkg.name}-${platform}@${pkg.version}, installed with ${pkg.name} as an optional dependency; `
      + `reinstall without --no-optional / --omit=optional, or build from source with \`npm run build\`. `
      + `Prebuilt for: ${supported || 'none'}.`,
    );
    error.code = 'ERR_AEM_UPLOAD_RS_NO_BINARY';
    error.cause = cause;
    throw error;
  }
}

module.exports = load();
module.exports.platformName = platformName;
