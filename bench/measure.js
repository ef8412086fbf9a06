'use strict';

// Preloaded into a Node process the bench runs but does not write, such as
// the `aem-upload` command (`node --require bench/measure.js bin/aem-upload.js
// upload …`): as the process exits, prints what it cost on a `BENCH {json}`
// line on stdout, measured as bench/upload-once.js measures the library
// (getrusage of the whole process). The command prints nothing else on
// stdout when quiet.

const fs = require('fs');

process.on('exit', () => {
  const usage = process.resourceUsage();
  const line = {
    processMs: performance.now(),
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    peakRssBytes: usage.maxRSS * 1024,
  };
  fs.writeSync(1, `\nBENCH ${JSON.stringify(line)}\n`);
});
