'use strict';

// Preloaded into a Node process the bench runs but does not write, such as
// the `aem-upload` command (`node --require bench/measure.js bin/aem-upload.js
// upload …`): as the process exits, prints what it cost on a `BENCH {json}`
// line on stdout, measured as bench/upload-once.js measures the library
// (CPU time from getrusage, peak RSS from VmHWM). The command prints nothing
// else on stdout when quiet.

const fs = require('fs');

process.on('exit', () => {
  const usage = process.resourceUsage();
  const line = {
    processMs: performance.now(),
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    // VmHWM, not maxRSS: see bench/upload-once.js.
    peakRssBytes: peakRss(usage),
  };
  fs.writeSync(1, `\nBENCH ${JSON.stringify(line)}\n`);
});

function peakRss(usage) {
  try {
    const kb = /^VmHWM:\s*(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (kb) return Number(kb[1]) * 1024;
  } catch (e) { /* not Linux */ }
  return usage.maxRSS * 1024;
}
