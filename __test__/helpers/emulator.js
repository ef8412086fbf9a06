'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
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

/**
 * `aem-upload emulator <flags>` as its own process: `{child, exited, ready}`,
 * `ready` resolving with the line it prints once listening (`{url, blobUrl}`).
 */
function emulatorProcess(flags) {
  const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'bin', 'aem-upload.js'), 'emulator', ...flags], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const ready = new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(JSON.parse(buf.split('\n')[0]));
    });
    child.on('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return { child, exited, ready };
}

module.exports = { useEmulator, tempDir, bytes, emulatorProcess, DEFAULT_AUTHORIZATION };
