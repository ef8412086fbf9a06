'use strict';

// What `upload --asset-ids` and `upload --metadata FILE.csv` do once files
// have landed (docs/assets.md §3): look up each file's asset id, and write
// its CSV row's columns with AssetsClient#updateMetadata (read-modify-write
// under ETags: a concurrent change is never overwritten). Failures are
// reported per file; nothing here fails the files' uploads.

const fs = require('fs');
const path = require('path');
const { UsageError } = require('./config');
const { pool } = require('./pool');

/** Asset lookups and metadata writes in flight at once. */
const IN_FLIGHT = 8;

/**
 * The metadata CSV: a header row of property names, the first column the
 * source path relative to the upload root (or absolute, or a URL source).
 * Returns `Map<key, {row, values}>`; empty cells are not written.
 */
function readMetadataCsv(file) {
  let records;
  try {
    // Loaded only for --metadata: the command's start is part of every run's time.
    const { parse } = require('csv-parse/sync');
    records = parse(fs.readFileSync(file), { bom: true, skip_empty_lines: true, relax_column_count: true });
  } catch (err) {
    throw new UsageError(`--metadata ${file}: ${err.code === 'ENOENT' ? 'no such file' : `not CSV (${err.message})`}`);
  }
  if (records.length < 2) throw new UsageError(`--metadata ${file}: a header row and at least one file row are needed`);
  const [header, ...rows] = records;
  const names = header.slice(1).map((n) => n.trim());
  if (!names.length || names.some((n) => !n)) {
    throw new UsageError(`--metadata ${file}: the header names the source column, then one property per column`);
  }
  const byKey = new Map();
  rows.forEach((cells, i) => {
    const key = normalise(cells[0] || '');
    if (!key) return;
    const values = {};
    names.forEach((name, c) => {
      const cell = cells[c + 1];
      if (cell !== undefined && cell !== '') values[name] = cell;
    });
    byKey.set(key, { row: i + 2, values });
  });
  return byKey;
}

function normalise(key) {
  const trimmed = key.trim();
  if (/^https?:\/\//i.test(trimmed)) return trimmed;
  return trimmed.split(path.sep).join('/').replace(/^\.\//, '');
}

/**
 * The keys a planned file answers to: a URL as given; a local file by its
 * absolute path, its path from the working directory, and its path inside
 * each source folder it came from (with and without that folder's name).
 */
function keysOf(source, roots, cwd) {
  if (/^https?:\/\//i.test(source)) return [source];
  const keys = [source, path.relative(cwd, source)];
  for (const root of roots) {
    const inside = path.relative(root, source);
    if (inside && !inside.startsWith('..') && !path.isAbsolute(inside)) {
      keys.push(inside, path.join(path.basename(root), inside));
    }
  }
  return keys.map(normalise);
}

/**
 * Matches the CSV's rows to the plan's files: `{rowOf: Map<index, values>,
 * unmatched: [row numbers]}`.
 */
function matchRows(byKey, entries, roots, cwd = process.cwd()) {
  const rowOf = new Map();
  const used = new Set();
  entries.forEach((entry, i) => {
    for (const key of keysOf(entry.source, roots, cwd)) {
      const found = byKey.get(key);
      if (found) {
        rowOf.set(i, found.values);
        used.add(key);
        break;
      }
    }
  });
  const unmatched = [...byKey.entries()].filter(([key]) => !used.has(key)).map(([, v]) => v.row);
  return { rowOf, unmatched };
}

/**
 * For the files that landed (report status uploaded or skipped): their asset
 * ids (`assetIds`), and their metadata rows written (`rowOf`). Sets
 * `assetId` and, on failure, `metadataError` on the report's files; returns
 * how many metadata writes failed.
 */
async function afterUpload(client, report, { assetIds = false, rowOf = null }) {
  const landed = report.files
    .map((file, i) => ({ file, i }))
    .filter(({ file, i }) => (file.status === 'uploaded' || file.status === 'skipped') && (assetIds || (rowOf && rowOf.has(i))));
  let failed = 0;
  await pool(landed, IN_FLIGHT, async ({ file, i }) => {
    let id;
    try {
      id = await client.assetIdForPath(file.target);
      if (assetIds) file.assetId = id;
    } catch (err) {
      if (rowOf && rowOf.has(i)) {
        failed += 1;
        file.metadataError = { code: err.code || 'EUNKNOWN', message: err.message };
      }
      return;
    }
    if (!rowOf || !rowOf.has(i)) return;
    try {
      await client.updateMetadata(id, rowOf.get(i));
      file.metadata = 'written';
    } catch (err) {
      failed += 1;
      file.metadataError = { code: err.code || 'EUNKNOWN', message: err.message };
    }
  });
  return failed;
}

module.exports = { readMetadataCsv, matchRows, afterUpload, keysOf };
