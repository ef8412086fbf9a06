'use strict';

// A deep local tree with names that trip clients up, and where each eligible
// file must land in the DAM under the reference's naming rules (compat.md §5, §6).

const fs = require('fs');
const path = require('path');
const { bytes } = require('./emulator');
const { sha256 } = require('./http');

/**
 * Writes the tree under `root` (as root/My Tree/...) and returns
 * `{ top, files: [{local, dam, sha256, size}], folders: [{path, title}], skipped: [...] }`
 * for a deep upload to `target` (a DAM path).
 */
function makeTree(root, target = '/content/dam/target', { bigSize = 5000, withEmptyFile = true } = {}) {
  const top = path.join(root, 'My Tree');
  const entries = [
    // [local path under top, size, DAM path under target/my-tree]
    ['a.txt', 5, 'a.txt'],
    ['Sub Folder/big file.bin', bigSize, 'sub-folder/big file.bin'],
    ['Sub Folder/Ünïcode/café.txt', 3, 'sub-folder/ünïcode/café.txt'],
    ['Sub Folder/Ünïcode/Ωmega 2.jpg', 1200, 'sub-folder/ünïcode/Ωmega 2.jpg'],
    ['Sub Folder/Deeper/Deepest/x y z.png', 3000, 'sub-folder/deeper/deepest/x y z.png'],
    ['Photos (2024)/hash#tag.txt', 17, 'photos-(2024)/hash-tag.txt'],
    ['Photos (2024)/archive.tar.gz', 2100, 'photos-(2024)/archive.tar.gz'],
  ];
  const skipped = [
    ['empty.txt', 0], // zero bytes: a fileerror, never uploaded
    ['.hidden', 4],
    ['Thumbs.db', 4],
    ['~lock.txt', 4],
    ['temp.tmp', 4],
    ['.git/config', 4],
  ];
  const files = [];
  let seed = 1;
  for (const [local, size, dam] of entries) {
    const file = path.join(top, local);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const data = bytes(size, seed);
    seed += 1;
    fs.writeFileSync(file, data);
    files.push({ local: file, dam: `${target}/my-tree/${dam}`, sha256: sha256(data), size });
  }
  for (const [local, size] of skipped) {
    if (size === 0 && !withEmptyFile) continue;
    const file = path.join(top, local);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes(size, 99));
  }
  fs.mkdirSync(path.join(top, 'Empty Dir'), { recursive: true });
  const folder = (rel, title) => ({ path: `${target}/my-tree${rel}`, title });
  const folders = [
    { path: target, title: target.split('/').pop() },
    folder('', 'My Tree'),
    folder('/empty-dir', 'Empty Dir'),
    folder('/photos-(2024)', 'Photos (2024)'),
    folder('/sub-folder', 'Sub Folder'),
    folder('/sub-folder/deeper', 'Deeper'),
    folder('/sub-folder/deeper/deepest', 'Deepest'),
    folder('/sub-folder/ünïcode', 'Ünïcode'),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { top, files, folders };
}

module.exports = { makeTree };
