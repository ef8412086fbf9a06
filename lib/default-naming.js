'use strict';

// The default node-name processors, recognised by identity: when a call uses
// them, FileSystemUpload names every walked file in one native crossing
// instead of awaiting a processor (and three native calls) per file. The
// results are the same; only custom processors are called one by one.

const native = require('./native');

/** processor function → () => the replace value it reads when it runs */
const defaults = new WeakMap();

function defaultFolderProcessor(readReplace) {
  const processor = async (name) => native.defaultFolderName(String(name), readReplace());
  defaults.set(processor, readReplace);
  return processor;
}

function defaultAssetProcessor(readReplace) {
  const processor = async (name) => native.defaultAssetName(String(name), readReplace());
  defaults.set(processor, readReplace);
  return processor;
}

/**
 * A function giving the node name of each local name, asked in order. With a
 * default processor every name in `names` (the same names, in the order they
 * will be asked for) is named up front in one native call and the function
 * answers synchronously; a custom processor is awaited per name, when asked,
 * so it sees the calls the reference makes, in the same order.
 * @param {string[]} names
 * @param {'asset'|'folder'} kind
 * @param {(name: string) => Promise<string>|string} processor
 * @param {string} replace the mandatory step's replace value
 * @returns {(name: string) => string|Promise<string>}
 */
function namer(names, kind, processor, replace) {
  const readReplace = defaults.get(processor);
  if (readReplace) {
    const named = JSON.parse(native.defaultNodeNames(JSON.stringify(names), kind === 'folder', readReplace(), replace));
    let next = 0;
    return () => named[next++];
  }
  if (kind === 'folder') {
    return async (name) => native.mandatoryName(String(await processor(name)), replace);
  }
  return async (name) => {
    const [stem, ext] = native.splitExtension(name);
    return `${native.mandatoryName(String(await processor(stem)), replace)}${ext}`;
  };
}

module.exports = { defaultFolderProcessor, defaultAssetProcessor, namer };
