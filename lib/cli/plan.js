'use strict';

// What an upload will do, before anything is sent (docs/cli.md §2-3): local
// sources walked and named exactly as FileSystemUpload does (include/exclude
// applied), URL sources named after their last path segment, all under one
// target folder. Also manifests (`plan --shards`): written, split and read.

const fs = require('fs');
const path = require('path');
const FileSystemUpload = require('../filesystem-upload');
const { UsageError } = require('./config');

const MANIFEST_VERSION = 1;

function isUrl(source) {
  return /^https?:\/\//i.test(source);
}

/**
 * A filter of relative paths from --include / --exclude globs. As rclone's,
 * a pattern without '/' matches a name at any depth; with '/', the path
 * relative to the source. Null when there are no patterns.
 */
function globFilter(include = [], exclude = []) {
  if (!include.length && !exclude.length) return null;
  // Loaded only when filtering: the command's start is part of every run's time.
  const picomatch = require('picomatch');
  const compile = (patterns) => patterns.map((p) => picomatch(p, { dot: true, basename: !p.includes('/') }));
  const inc = compile(include);
  const exc = compile(exclude);
  return (relative) => (!inc.length || inc.some((m) => m(relative))) && !exc.some((m) => m(relative));
}

function encodePath(decoded) {
  return decoded.split('/').map((segment) => encodeURIComponent(segment)).join('/');
}

/** The decoded DAM path of a planned file's URL. */
function damPath(fileUrl) {
  const { pathname } = new URL(fileUrl);
  try {
    return decodeURIComponent(pathname);
  } catch (e) {
    return pathname;
  }
}

/**
 * Plans an upload of `sources` (local paths and http(s) URLs) with `options`
 * (FileSystemUploadOptions). Returns `{directories, files, targets, entries}`:
 * what FileSystemUpload#uploadPlanned takes, and per file `{source, target,
 * size}` for output and reports (`size` null for a URL: its origin tells).
 */
async function planUpload(sources, options, { include, exclude, maxFiles } = {}) {
  const local = sources.filter((s) => !isUrl(s));
  const remote = sources.filter(isUrl);
  // A source named on the command line that is not there is a typo, not a file to skip.
  const missing = local.filter((s) => !fs.existsSync(s));
  if (missing.length) throw new UsageError(`no such file or folder: ${missing.join(', ')}`);
  const planner = new FileSystemUpload();
  const plan = local.length
    ? await planner.walkAndPlan(options, local.map((s) => path.resolve(s)), { filter: globFilter(include, exclude), maxFiles })
    : { directories: [], files: [], targets: null, warnings: [] };
  const entries = plan.files.map((file) => ({ source: file.filePath, target: damPath(file.fileUrl), size: file.fileSize }));
  const folderUrl = options.getUrl().replace(/\/+$/, '');
  const fileOptions = options.getUploadFileOptions() || {};
  for (const source of remote) {
    const name = decodeURIComponent(new URL(source).pathname.split('/').filter(Boolean).pop() || 'index');
    const fileUrl = `${folderUrl}/${encodeURIComponent(name)}`;
    plan.files.push({ ...fileOptions, fileUrl, sourceUrl: source });
    entries.push({ source, target: damPath(fileUrl), size: null });
  }
  // The walk's resolved targets cover its own files only: with URL sources
  // added, the transfer resolves every file's URL itself.
  if (remote.length) plan.targets = null;
  return { ...plan, entries };
}

/**
 * Splits a plan into `count` manifests of about equal bytes: each folder's
 * files together where possible (a folder larger than a share is cut), every
 * folder listed in every manifest (creating one that exists is harmless).
 */
function shard(plan, count, target) {
  const groups = new Map();
  plan.entries.forEach((entry, i) => {
    const folder = path.posix.dirname(entry.target);
    if (!groups.has(folder)) groups.set(folder, []);
    groups.get(folder).push(i);
  });
  const total = plan.entries.reduce((sum, e) => sum + (e.size || 0), 0);
  const share = Math.max(1, Math.ceil(total / count));
  const sizeOf = (i) => plan.entries[i].size || 0;
  // Pieces no larger than a share, biggest first, each to the lightest shard.
  const pieces = [];
  for (const indexes of groups.values()) {
    let piece = [];
    let bytes = 0;
    for (const i of indexes) {
      if (piece.length && bytes + sizeOf(i) > share) {
        pieces.push({ indexes: piece, bytes });
        piece = [];
        bytes = 0;
      }
      piece.push(i);
      bytes += sizeOf(i);
    }
    if (piece.length) pieces.push({ indexes: piece, bytes });
  }
  pieces.sort((a, b) => b.bytes - a.bytes || b.indexes.length - a.indexes.length);
  const shards = Array.from({ length: count }, () => ({ bytes: 0, files: 0, indexes: [] }));
  for (const piece of pieces) {
    const lightest = shards.reduce((best, s) => (s.bytes < best.bytes || (s.bytes === best.bytes && s.files < best.files) ? s : best));
    lightest.indexes.push(...piece.indexes);
    lightest.bytes += piece.bytes;
    lightest.files += piece.indexes.length;
  }
  return shards.map((s, n) => ({
    version: MANIFEST_VERSION,
    shard: n,
    shards: count,
    target,
    folders: plan.directories,
    files: s.indexes.sort((a, b) => a - b).map((i) => plan.entries[i]),
  }));
}

/**
 * A plan from a manifest written by `plan`: its folders and files, under
 * `folderUrl` (the manifest's target unless --target said otherwise).
 */
function readManifest(file) {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--manifest ${file}: ${err.code === 'ENOENT' ? 'no such file' : `not a manifest (${err.message})`}`);
  }
  if (!manifest || manifest.version !== MANIFEST_VERSION || !Array.isArray(manifest.files) || !Array.isArray(manifest.folders)) {
    throw new UsageError(`--manifest ${file}: not a manifest written by \`aem-upload plan\` (version ${MANIFEST_VERSION})`);
  }
  return manifest;
}

/** The plan of a manifest, its targets re-rooted on `prefix` (the AEM origin). */
function planOfManifest(manifest, prefix, fileOptions = {}) {
  const files = [];
  for (const entry of manifest.files) {
    const fileUrl = `${prefix}${encodePath(entry.target)}`;
    const file = { ...fileOptions, fileUrl };
    if (isUrl(entry.source)) file.sourceUrl = entry.source;
    else Object.assign(file, { filePath: entry.source, fileSize: entry.size });
    files.push(file);
  }
  // targets: null, the transfer resolves each file's URL (the engine's rules).
  return { directories: manifest.folders, files, targets: null, entries: manifest.files, warnings: [] };
}

module.exports = { planUpload, shard, readManifest, planOfManifest, globFilter, isUrl };
