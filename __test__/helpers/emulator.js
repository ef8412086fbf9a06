'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { startEmulator, DEFAULT_AUTHORIZATION } = require('../../emulator');
const { Aem } = require('./http');

/**
 * Starts an emulator for one test file and stops it afterwards.
 * Returns a getter object: `env.emulator`, `env.aem` (a raw client with admin:admin).
 */
function useEmulator(config = {}) {
  const env = {};
  beforeAll(async () => {
    env.emulator = await startEmulator(config);
    env.aem = new Aem(env.emulator, DEFAULT_AUTHORIZATION);
  });
  afterAll(async () => {
    if (env.emulator) await env.emulator.stop();
  });
  return env;
}

function tempDir(prefix = 'aem-upload-rs-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Deterministic pseudo-random bytes (a file's content depends only on its seed). */
function bytes(length, seed = 1) {
  const buf = Buffer.alloc(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i += 1) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    buf[i] = x & 0xff;
  }
  return buf;
}

module.exports = { useEmulator, tempDir, bytes, DEFAULT_AUTHORIZATION };
