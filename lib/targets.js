'use strict';

// Target paths of file URLs (compat.md §8 payload keys): what parsing each
// URL with Node's `URL` and decoding its path gives, computed per folder for
// the thousands of files of one folder.

const path = require('path');
const { checkUrl } = require('./validate');

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch (err) {
    return text;
  }
}

// A last URL segment as encodeURIComponent writes it: URL parsing keeps it
// as it is, unless it is a dot segment.
const PLAIN_SEGMENT = /^[A-Za-z0-9\-_.!~*'()%]+$/;
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/** A file URL's decoded target path, folder and name, as parsing it with `URL` gives them. */
function targetOfUrl(fileUrl) {
  const url = checkUrl(fileUrl, 'fileUrl');
  const targetFile = safeDecode(url.pathname);
  return { fileUrl, targetFile, targetFolder: path.posix.dirname(targetFile), fileName: path.posix.basename(targetFile) };
}

/**
 * `targetOfUrl` for many URLs. Files of one folder differ only in their last
 * segment: when it is plain, the folder part is parsed once (with a
 * stand-in name) and the segment decoded on its own, which gives what
 * parsing each whole URL gives, for a fraction of the cost.
 */
function targetResolver() {
  const folders = new Map();
  const folderOf = (folderUrl) => {
    let folder = folders.get(folderUrl);
    if (folder === undefined) {
      folder = null;
      if (!/[?#]/.test(folderUrl)) {
        try {
          const probe = targetOfUrl(`${folderUrl}/x`);
          // ('http:/' + '/x' would be a host, not a path.)
          if (probe.targetFile.endsWith('/x')) folder = { path: probe.targetFile.slice(0, -2), targetFolder: probe.targetFolder };
        } catch (err) {
          // Not a valid folder URL: each file is parsed (and refused) on its own.
        }
      }
      folders.set(folderUrl, folder);
    }
    return folder;
  };
  return (fileUrl) => {
    const slash = fileUrl.lastIndexOf('/');
    const segment = fileUrl.slice(slash + 1);
    const folder = slash > 0 && PLAIN_SEGMENT.test(segment) && !DOT_SEGMENT.test(segment)
      ? folderOf(fileUrl.slice(0, slash))
      : null;
    if (folder) {
      let name = segment;
      try {
        if (segment.includes('%')) name = decodeURIComponent(segment);
      } catch (err) {
        name = null; // malformed: the whole URL is refused below, as it would be alone
      }
      // A decoded '/' would move the split between folder and name.
      if (name !== null && !name.includes('/')) {
        return { fileUrl, targetFile: `${folder.path}/${name}`, targetFolder: folder.targetFolder, fileName: name };
      }
    }
    return targetOfUrl(fileUrl);
  };
}

/**
 * Targets of file URLs built from a decoded folder path and a node name, as
 * `${folderUrl}${encodeURIComponent(name)}` (FileSystemUpload's plan): when
 * the folder URL parses back to that path, the target is that path and name
 * as they are, with no URL to parse. Otherwise `null`: the URL is then
 * resolved like any other (and refused, if it must be, where any is).
 */
function plannedTargets() {
  const folders = new Map();
  const roundTrips = (folderPath, folderUrl) => {
    let same = folders.get(folderPath);
    if (same === undefined) {
      try {
        same = targetOfUrl(`${folderUrl}x`).targetFile === `${folderPath}/x`;
      } catch (err) {
        same = false;
      }
      folders.set(folderPath, same);
    }
    return same;
  };
  return (folderPath, folderUrl, name, fileUrl) => {
    // A dot segment or a '/' in the name would be read as path structure.
    const plain = name.length > 0 && name !== '.' && name !== '..' && !name.includes('/');
    if (!plain || !roundTrips(folderPath, folderUrl)) return null;
    return { fileUrl, targetFile: `${folderPath}/${name}`, targetFolder: folderPath, fileName: name };
  };
}

module.exports = { targetOfUrl, targetResolver, plannedTargets };
