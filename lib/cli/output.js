'use strict';

// What the command shows while it works (docs/cli.md §2): on a terminal one
// progress line on stderr, redrawn at most 10 times a second, with each
// failure printed once above it; elsewhere a status line every 5 s and each
// failure; with --json, NDJSON on stdout and nothing else there. The summary
// goes to stderr at the end. Messages never carry secrets: engine messages
// are already redacted, and sources are shown without URL queries.


const STATUS_EVERY_MS = 5000;

function humanBytes(n) {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = Number(n) || 0;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1000;
    i += 1;
  }
  return `${value.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function duration(seconds) {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A URL without its query (a signature may live there); paths as they are. */
function shown(source) {
  return /^https?:\/\//i.test(source) && source.includes('?') ? `${source.slice(0, source.indexOf('?'))}?<redacted>` : source;
}

const count = (n) => `${n} file${n === 1 ? '' : 's'}`;

class Output {
  /**
   * @param {object} io `{stdout, stderr}` streams
   * @param {object} mode `{json, quiet, progress}`; progress: 'bar', 'lines' or 'none'
   */
  constructor(io, { json = false, quiet = false, progress = 'none' } = {}) {
    Object.assign(this, { io, json, quiet, progress });
    this.totals = { files: 0, bytes: 0 };
    this.done = { files: 0, failed: 0, bytes: 0 };
    this.perFile = new Map();
    this.started = Date.now();
    this.bar = null;
    this.timer = null;
  }

  /** Work is known: start the progress display. */
  begin(files, bytes) {
    this.totals = { files, bytes };
    this.started = Date.now();
    if (this.progress === 'bar') {
      // Loaded only for a bar (a terminal): the command's start is part of every run's time.
      const cliProgress = require('cli-progress');
      this.multi = new cliProgress.MultiBar({
        stream: this.io.stderr,
        fps: 10,
        hideCursor: true,
        clearOnComplete: true,
        format: '{bar} {files}/{totalFiles} files | {done} of {all} | {speed}/s | ETA {remaining} | {failed} failed',
        barsize: 24,
      }, cliProgress.Presets.shades_classic);
      this.bar = this.multi.create(Math.max(bytes, 1), 0, this.fields());
    } else if (this.progress === 'lines') {
      this.timer = setInterval(() => this.err(`aem-upload: ${this.status()}`), STATUS_EVERY_MS);
      this.timer.unref();
    }
  }

  fields() {
    const seconds = Math.max((Date.now() - this.started) / 1000, 0.001);
    const rate = this.done.bytes / seconds;
    const left = this.totals.bytes - this.done.bytes;
    return {
      files: this.done.files,
      totalFiles: this.totals.files,
      done: humanBytes(this.done.bytes),
      all: humanBytes(this.totals.bytes),
      speed: humanBytes(rate),
      remaining: rate > 0 ? duration(left / rate) : '?',
      failed: this.done.failed,
    };
  }

  status() {
    const f = this.fields();
    return `${f.files}/${f.totalFiles} files, ${f.done} of ${f.all}, ${f.speed}/s, ${f.failed} failed`;
  }

  redraw() {
    if (this.bar) this.bar.update(Math.min(this.done.bytes, Math.max(this.totals.bytes, 1)), this.fields());
  }

  /** Bytes of a file so far (progress events carry totals per file). */
  progressed(key, transferred) {
    const before = this.perFile.get(key) || 0;
    if (transferred > before) {
      this.done.bytes += transferred - before;
      this.perFile.set(key, transferred);
      this.redraw();
    }
  }

  finished(key, size, failed) {
    if (!failed) this.progressed(key, size);
    this.perFile.delete(key);
    this.done.files += 1;
    if (failed) this.done.failed += 1;
    this.redraw();
  }

  /** A failure, printed once (above the bar on a terminal). */
  failure(text) {
    if (this.json) return;
    this.err(`aem-upload: ${text}`);
  }

  err(line) {
    if (this.multi) this.multi.log(`${line}\n`);
    else this.io.stderr.write(`${line}\n`);
  }

  /** One NDJSON line (--json only). */
  event(object) {
    if (this.json) this.io.stdout.write(`${JSON.stringify(object)}\n`);
  }

  end() {
    if (this.timer) clearInterval(this.timer);
    if (this.multi) {
      this.multi.stop();
      this.multi = null;
      this.bar = null;
    }
  }

  /** The closing summary (stderr), unless --quiet. */
  summary(report, { interrupted = false, dryRun = false } = {}) {
    if (this.quiet) return;
    const t = report.totals;
    const seconds = Math.max(report.seconds, 0.001);
    const parts = [
      `${t.uploaded} uploaded`,
      t.failed ? `${t.failed} failed` : null,
      t.skipped ? `${t.skipped} skipped (journal)` : null,
      t.cancelled ? `${t.cancelled} cancelled` : null,
    ].filter(Boolean);
    const verb = dryRun ? 'would upload' : 'of';
    if (dryRun) {
      this.io.stderr.write(`aem-upload: dry run: ${verb} ${count(t.files)}, ${humanBytes(t.bytes)} to ${shown(report.target)}; nothing was sent\n`);
      return;
    }
    this.io.stderr.write(`aem-upload: ${interrupted ? 'interrupted: ' : ''}${count(t.files)}: ${parts.join(', ')}; `
      + `${humanBytes(t.bytes)} in ${duration(seconds)} (${humanBytes(t.bytes / seconds)}/s) to ${shown(report.target)}\n`);
  }
}

module.exports = { Output, humanBytes, shown };
