#!/usr/bin/env node
'use strict';

require('../lib/cli').main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => {
    process.stderr.write(`aem-upload: ${err && err.message ? err.message : err}\n`);
    process.exitCode = 1;
  },
);
