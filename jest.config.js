'use strict';

module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__test__/**/*.test.js'],
  // Timeouts guard against hangs only; no test asserts on wall-clock limits.
  testTimeout: 300000,
  // The reference client prints to stdout; keep jest's own report readable.
  silent: true,
  maxWorkers: 2,
};
