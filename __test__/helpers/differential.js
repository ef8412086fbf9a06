'use strict';

// Runs the same upload through @adobe/aem-upload 2.0.3 and through ours,
// against the same emulator (reset in between), and captures what a user
// can observe: the result, the events (per file and overall), and the DAM.

const reference = require('@adobe/aem-upload');
const ours = require('../..');

const FILE_EVENTS = ['filestart', 'fileprogress', 'fileend', 'fileerror', 'filecancelled'];
const ALL_EVENTS = ['fileuploadstart', 'foldercreated', 'fileuploadend', ...FILE_EVENTS];

/** The DAM as a user compares it: no ids, tags or times. */
function damOf(state) {
  return {
    folders: state.folders,
    assets: state.assets.map((a) => ({
      path: a.path,
      size: a.size,
      sha256: a.sha256,
      mimeType: a.mimeType,
      versions: a.versions.map((v) => ({ label: v.label, comment: v.comment, size: v.size, sha256: v.sha256 })),
    })),
  };
}

/** A result without the fields that differ run to run (times, ids). */
function normaliseResult(result) {
  const copy = JSON.parse(JSON.stringify(result));
  copy.totalTime = '<time>';
  copy.folderCreateSpent = '<time>';
  for (const folder of copy.createdFolders || []) folder.elapsedTime = folder.error ? folder.elapsedTime : '<time>';
  for (const entry of copy.detailedResult || []) {
    if (entry.result && entry.result.errors) {
      entry.result.errors = entry.result.errors.map((e) => ({ code: e.code, message: e.message }));
    }
  }
  // The reference walks in no fixed order (compat.md §5.1): compare as sets.
  const by = (key) => (a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0);
  if (copy.createdFolders) copy.createdFolders.sort(by('folderPath'));
  if (copy.detailedResult) copy.detailedResult.sort(by('fileUrl'));
  copy.errors = (copy.errors || []).map((e) => ({ code: e.code, message: e.message }));
  copy.retryErrors = (copy.retryErrors || []).map((e) => ({ code: e.code, message: e.message }));
  return copy;
}

/**
 * @param {object} emulator the running emulator
 * @param {(lib: object, which: string) => Promise<{instance, run}>} scenario
 *   builds options with `lib`'s classes; `run()` starts the upload (after the listeners are on)
 */
async function runWith(emulator, lib, which, scenario, prepare) {
  emulator.reset();
  if (prepare) await prepare(which);
  const events = [];
  const { instance, run } = await scenario(lib, which);
  for (const name of ALL_EVENTS) {
    instance.on(name, (payload) => events.push({ name, payload: JSON.parse(JSON.stringify(payload)) }));
  }
  let result;
  let rejection;
  try {
    result = await run();
  } catch (err) {
    rejection = { code: err.code, message: err.message, isUploadError: !!err.uploadError };
  }
  const state = emulator.state();
  return { result, rejection, events, state, dam: damOf(state) };
}

/** Per target file: the sequence of event names, with runs of fileprogress collapsed. */
function fileSequences(events) {
  const sequences = {};
  for (const { name, payload } of events) {
    if (!FILE_EVENTS.includes(name)) continue;
    const list = sequences[payload.targetFile] || (sequences[payload.targetFile] = []);
    if (name === 'fileprogress' && list[list.length - 1] === 'fileprogress') continue;
    list.push(name);
  }
  return sequences;
}

/** Key lists of each event kind's payloads (and of errors inside them). */
function payloadShapes(events) {
  const shapes = {};
  for (const { name, payload } of events) {
    const keys = Object.keys(payload).join(',');
    const set = shapes[name] || (shapes[name] = new Set());
    set.add(keys);
    // innerStack is diagnostics and may be empty (compat.md §9.2): not part of the shape.
    if (payload.errors) set.add(`errors[]:${Object.keys(payload.errors[0]).filter((k) => k !== 'innerStack').sort().join(',')}`);
  }
  return Object.fromEntries(Object.entries(shapes).map(([k, v]) => [k, [...v].sort()]));
}

/**
 * The overall order of the non-file events. Runs of foldercreated are
 * sorted, since the reference's walk order is unspecified.
 */
function callSequence(events) {
  const out = [];
  let run = [];
  const flush = () => {
    out.push(...run.sort());
    run = [];
  };
  for (const e of events) {
    if (FILE_EVENTS.includes(e.name)) continue;
    if (e.name === 'foldercreated') {
      run.push(`foldercreated ${e.payload.targetFolder}`);
    } else {
      flush();
      out.push(e.name);
    }
  }
  flush();
  return out;
}

async function compare(emulator, scenario, prepare) {
  const ref = await runWith(emulator, reference, 'reference', scenario, prepare);
  const our = await runWith(emulator, ours, 'ours', scenario, prepare);
  return { ref, our };
}

module.exports = { compare, normaliseResult, fileSequences, payloadShapes, callSequence, damOf, reference, ours };
