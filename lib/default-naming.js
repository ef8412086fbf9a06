'use strict';

// The default node-name processors, recognised by identity: when a call uses
// them, the engine names every walked file itself; only custom processors
// are called, from JS, once per distinct local name (docs/compat.md §6).

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
 * How the engine names one kind of node: `{replace}` for a default processor
 * (the replace value it reads now), or `{names}`: a custom processor's
 * answer for each of `localNames`, asked in order, one at a time, as a JSON
 * array in the same order (the engine applies the mandatory step).
 * @param {(name: string) => Promise<string>|string} processor
 * @param {() => string[]} localNames the names the engine asks about
 * @returns {Promise<{replace: string}|{names: string}>}
 */
async function namesFor(processor, localNames) {
  const readReplace = defaults.get(processor);
  if (readReplace) return { replace: readReplace() };
  const names = [];
  for (const name of localNames()) names.push(String(await processor(name)));
  return { names: JSON.stringify(names) };
}

module.exports = { defaultFolderProcessor, defaultAssetProcessor, namesFor };
