'use strict';

// The `log` option: per instance, silent without one. A logger method that
// is missing is skipped, and one that throws is ignored.

function makeLogger(log) {
  const call = (level, message) => {
    if (!log || typeof log[level] !== 'function') return;
    try {
      log[level](message);
    } catch (err) {
      // A broken logger must not break an upload.
    }
  };
  return {
    enabled: !!log,
    debug: (m) => call('debug', m),
    info: (m) => call('info', m),
    warn: (m) => call('warn', m),
    error: (m) => call('error', m),
  };
}

module.exports = { makeLogger };
