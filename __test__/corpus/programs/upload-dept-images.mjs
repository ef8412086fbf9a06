#!/usr/bin/env node
// Modelled on kevalteknopoint/exp-mord-agent,
// tools/aem-packages/dept/upload-dept-images.mjs (commit 09857d3): a resumable
// site-image migration. An ES module that loads the library with a dynamic
// `await import('@adobe/aem-upload')`, reads a manifest (source,dam_path),
// downloads what is missing, groups rows by their DAM folder and uploads each
// folder's files with a separate FileSystemUpload (`withDeepUpload(false)`,
// Bearer token), recording every uploaded DAM path in a state file so that a
// rerun skips them. Adapted: the working folder comes from WORKDIR instead of
// the script's own folder, and the images are already there (no download).

import fs from 'node:fs';
import path from 'node:path';

const WORK = process.env.WORKDIR;
const DAM_ROOT = '/content/dam/exp/dept';
const MANIFEST = path.join(WORK, 'dept-images.csv');
const DOWNLOAD = path.join(WORK, 'download');
const STATE = path.join(DOWNLOAD, '.uploaded.txt');
const BATCH = 3;
const { AEM_URL: AEM_HOST, AEM_TOKEN } = process.env;

function readManifest(file) {
  const [, ...lines] = fs.readFileSync(file, 'utf8').split(/\r?\n/).filter(Boolean);
  return lines.map((line) => {
    const m = line.match(/^"?([^",]+)"?,"?([^",]+)"?$/);
    return m ? { source: m[1], dam: m[2] } : null;
  }).filter((row) => row && row.dam.startsWith(DAM_ROOT));
}

async function localCopy({ source, dam }) {
  const file = path.join(DOWNLOAD, dam.slice(DAM_ROOT.length));
  if (fs.existsSync(file)) return file;
  throw new Error(`404 ${source}`);
}

async function main() {
  const { FileSystemUploadOptions, FileSystemUpload } = await import('@adobe/aem-upload');
  const rows = readManifest(MANIFEST);
  const done = new Set(fs.existsSync(STATE) ? fs.readFileSync(STATE, 'utf8').split('\n').filter(Boolean) : []);
  const todo = rows.filter((row) => !done.has(row.dam));
  console.log(`${rows.length} images in manifest, ${todo.length} still to upload`);
  for (let i = 0; i < todo.length; i += BATCH) {
    const files = [];
    for (const row of todo.slice(i, i + BATCH)) {
      try {
        // eslint-disable-next-line no-await-in-loop
        files.push({ row, file: await localCopy(row) });
      } catch (err) {
        console.warn(`  download failed: ${err.message}`);
      }
    }
    const byFolder = new Map();
    for (const item of files) {
      const folder = path.posix.dirname(item.row.dam);
      if (!byFolder.has(folder)) byFolder.set(folder, []);
      byFolder.get(folder).push(item);
    }
    for (const [folder, items] of byFolder) {
      const options = new FileSystemUploadOptions()
        .withUrl(`${AEM_HOST.replace(/\/$/, '')}${folder}`)
        .withHttpOptions({ headers: { Authorization: `Bearer ${AEM_TOKEN}` } })
        .withDeepUpload(false);
      try {
        // eslint-disable-next-line no-await-in-loop
        await new FileSystemUpload().upload(options, items.map((item) => item.file));
        items.forEach(({ row }) => fs.appendFileSync(STATE, `${row.dam}\n`));
      } catch (err) {
        console.warn(`  upload to ${folder} failed: ${err.message}`);
      }
    }
    console.log(`  ${Math.min(i + BATCH, todo.length)} / ${todo.length}`);
  }
  console.log('Done.');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
