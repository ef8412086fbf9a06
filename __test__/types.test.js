'use strict';

// index.d.ts, emulator.d.ts and assets/index.d.ts compile, and describe the code a user writes.

const path = require('path');
const { execFileSync } = require('child_process');

test('the type declarations compile against example usage', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const out = execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs', '--types', 'node',
    path.join(__dirname, 'types', 'usage.ts'), path.join(__dirname, 'types', 'assets-usage.ts')], { encoding: 'utf8', cwd: path.join(__dirname, '..') });
  expect(out).toBe('');
});
