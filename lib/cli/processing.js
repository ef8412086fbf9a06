'use strict';

// `upload --wait-processed` (docs/cli.md §2): after the upload, wait until AEM
// has processed every file that landed (renditions, metadata extraction),
// which is when an asset is really usable. Two ways to learn it:
//   - events: with --webhook-port, a local webhook receiver (the same as
//     `events serve`) started before the upload, so no event can be missed;
//     each `aem.assets.asset.processing_completed` is matched to a file by its
//     path (or asset id). AEM promises no completeness for its events, so a
//     file still without an event after EVENT_GRACE_MS is polled as well.
//   - polling: `aem:assetState` in the file's repository metadata through the
//     Assets client, a few files at a time, with growing pauses, until it is
//     `processed` (done) or `failed`.
// A file ends processed, or not processed with a code and a reason
// (EPROCESSINGFAILED, ETIMEDOUT after --processed-timeout, EUSERCANCELLED, or
// the lookup's error); the caller reports it as a per-file failure.

const { pool } = require('./pool');

const PROCESSING_COMPLETED = 'aem.assets.asset.processing_completed';
/** Metadata reads in flight at once. */
const IN_FLIGHT = 8;
/** Pauses between polling rounds: from FIRST_PAUSE_MS, doubled, at most MAX_PAUSE_MS. */
const FIRST_PAUSE_MS = 250;
const MAX_PAUSE_MS = 10000;
/** With a webhook: how long a file waits for its event before it is polled too. */
const EVENT_GRACE_MS = 60000;
/** Errors after which polling a file again cannot help (credentials, a bad id). */
const FINAL_CODES = new Set(['ENOTAUTHORIZED', 'EFORBIDDEN', 'EINVALIDOPTIONS', 'ENOTSUPPORTED']);

/**
 * What the webhook receiver heard: the latest processing_completed per path
 * and per asset id, with when it arrived, and a way to wake a waiter.
 */
class EventLog {
  constructor() {
    this.byPath = new Map();
    this.byAssetId = new Map();
    this.wake = null;
    this.count = 0;
  }

  /** The receiver's onEvent. */
  record(event) {
    if (event.type !== PROCESSING_COMPLETED) return;
    const heard = { at: Date.now(), state: event.assetState || 'processed', assetId: event.assetId || null };
    if (event.path) this.byPath.set(event.path, heard);
    if (event.assetId) this.byAssetId.set(event.assetId, heard);
    this.count += 1;
    if (this.wake) this.wake();
  }

  /** The event for a file, if one arrived since `since` (an older one is a previous asset's at that path). */
  find(target, assetId, since) {
    const candidates = [this.byPath.get(target), assetId ? this.byAssetId.get(assetId) : undefined];
    return candidates.find((heard) => heard && heard.at >= since) || null;
  }

  /** Resolves at the next event. */
  next() {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = null;
        resolve();
      };
    });
  }
}

/** Resolves after `ms`, or sooner when one of `wakers` resolves or `signal` aborts. */
function pause(ms, signal, wakers = []) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      if (signal) signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    if (signal) signal.addEventListener('abort', done, { once: true });
    for (const waker of wakers) waker.then(done);
  });
}

function median(values) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const round = (seconds) => Math.round(seconds * 1000) / 1000;

/**
 * Waits for the files `indices` of `report.files` to be processed. Sets on
 * each `processing: {status: 'processed'|'failed', via, seconds?, state?,
 * error?}` (and `assetId` when learnt), and on the report `processing:
 * {via, files, processed, failed, medianSeconds, maxSeconds, seconds}`.
 * `times[i]`: `{started, ended}` (ms) of the file's upload in this run, absent
 * for a file done by an earlier run. `onSettled(i)` is called as each file
 * settles. Resolves with how many files were not processed.
 */
async function waitProcessed({ client, report, indices, times, events = null, timeoutMs, signal, onSettled = () => {} }) {
  const waitStarted = Date.now();
  const deadline = waitStarted + timeoutMs;
  const pending = new Set(indices);
  const lastState = new Map();

  const settle = (i, outcome, at = Date.now()) => {
    if (!pending.has(i)) return;
    pending.delete(i);
    const file = report.files[i];
    const processing = { status: outcome.error ? 'failed' : 'processed' };
    if (outcome.via) processing.via = outcome.via;
    const time = times[i];
    if (!outcome.error && time && time.ended !== undefined) processing.seconds = round(Math.max(0, at - time.ended) / 1000);
    if (outcome.state) processing.state = outcome.state;
    if (outcome.error) processing.error = outcome.error;
    file.processing = processing;
    onSettled(i);
  };

  // Files heard of through the webhook (during the upload or since).
  const fromEvents = () => {
    if (!events) return;
    for (const i of [...pending]) {
      const file = report.files[i];
      const time = times[i];
      // A file done by an earlier run has no start here: its event cannot be told from an old one.
      if (!time || time.started === undefined) continue;
      const heard = events.find(file.target, file.assetId, time.started);
      if (!heard) continue;
      if (!file.assetId && heard.assetId) file.assetId = heard.assetId;
      if (heard.state === 'failed') {
        settle(i, { via: 'event', state: heard.state, error: { code: 'EPROCESSINGFAILED', message: 'AEM reported the processing failed (aem:assetState failed)' } }, heard.at);
      } else {
        settle(i, { via: 'event', state: heard.state }, heard.at);
      }
    }
  };

  const poll = async (i) => {
    const file = report.files[i];
    try {
      if (!file.assetId) file.assetId = await client.assetIdForPath(file.target, { signal });
      const doc = await client.getMetadata(file.assetId, { signal });
      const raw = doc && doc.repositoryMetadata ? doc.repositoryMetadata['aem:assetState'] : undefined;
      const state = typeof raw === 'string' ? raw.toLowerCase() : null;
      lastState.set(i, { state });
      if (state === 'processed') settle(i, { via: 'poll', state });
      else if (state === 'failed') {
        settle(i, { via: 'poll', state, error: { code: 'EPROCESSINGFAILED', message: 'AEM reported the processing failed (aem:assetState failed)' } });
      }
    } catch (err) {
      if (signal && signal.aborted) return;
      const code = (err && err.code) || 'EUNKNOWN';
      lastState.set(i, { code, message: err && err.message });
      // Not found yet, a network error after the client's retries: try again next round.
      if (FINAL_CODES.has(code)) settle(i, { via: 'poll', error: { code, message: err.message } });
    }
  };

  let pauseMs = FIRST_PAUSE_MS;
  fromEvents();
  while (pending.size && Date.now() < deadline && !(signal && signal.aborted)) {
    // With a webhook, poll only what events cannot tell: files of an earlier
    // run, and (after the grace) files whose event has not come.
    const graceOver = Date.now() - waitStarted >= EVENT_GRACE_MS;
    const due = [...pending].filter((i) => !events || graceOver || !times[i] || times[i].started === undefined);
    if (due.length) {
      await pool(due, IN_FLIGHT, poll);
      fromEvents();
    }
    if (!pending.size) break;
    const left = deadline - Date.now();
    let wait = Math.min(left, pauseMs);
    if (events && !graceOver) {
      // An event ends the pause; files of this run are polled only once the grace is over.
      wait = Math.min(left, waitStarted + EVENT_GRACE_MS - Date.now(), due.length ? pauseMs : Infinity);
    }
    await pause(wait, signal, events ? [events.next()] : []);
    fromEvents();
    if (due.length) pauseMs = Math.min(pauseMs * 2, MAX_PAUSE_MS);
  }

  const interrupted = signal && signal.aborted;
  for (const i of [...pending]) {
    const last = lastState.get(i);
    let seen = '';
    if (last && last.code) seen = ` (last check: ${last.code} ${last.message})`;
    else if (last) seen = ` (last aem:assetState: ${last.state === null ? 'none' : last.state})`;
    const error = interrupted
      ? { code: 'EUSERCANCELLED', message: 'stopped waiting for processing (interrupted)' }
      : { code: 'ETIMEDOUT', message: `not processed within ${round(timeoutMs / 1000)}s${seen}` };
    settle(i, { error });
  }

  const files = indices.map((i) => report.files[i]);
  const processed = files.filter((f) => f.processing.status === 'processed');
  const seconds = processed.map((f) => f.processing.seconds).filter((s) => typeof s === 'number');
  report.processing = {
    via: events ? 'webhook' : 'poll',
    files: files.length,
    processed: processed.length,
    failed: files.length - processed.length,
    medianSeconds: seconds.length ? round(median(seconds)) : null,
    maxSeconds: seconds.length ? round(Math.max(...seconds)) : null,
    seconds: round((Date.now() - waitStarted) / 1000),
  };
  return files.length - processed.length;
}

module.exports = { waitProcessed, EventLog, PROCESSING_COMPLETED };
