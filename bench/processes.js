'use strict';

// The bench's helper processes: the emulator and the URL-source origin, each a
// child that prints one JSON line ({"url": ...}) when it is ready.

const path = require('path');
const { spawn } = require('child_process');

const ROOT = path.join(__dirname, '..');

/** Starts `node <args>` and resolves with the child and its ready line once it printed it. */
async function spawnReady(args, label) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(JSON.parse(buf.split('\n')[0]));
    });
    child.on('exit', (code) => reject(new Error(`${label} exited with ${code}`)));
  });
  const stop = () => new Promise((resolve) => { child.on('exit', resolve); child.kill('SIGTERM'); });
  return { ready, stop };
}

/** `aem-upload emulator <flags>` as its own process, with its control routes. */
async function startEmulator(flags) {
  const { ready, stop } = await spawnReady([path.join(ROOT, 'bin', 'aem-upload.js'), 'emulator', ...flags], 'emulator');
  const call = async (method, route, body) => {
    const res = await fetch(`${ready.url}/_emulator/${route}`, { method, body: body && JSON.stringify(body), headers: body ? { 'content-type': 'application/json' } : {} });
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    url: ready.url,
    reset: () => call('POST', 'reset'),
    state: () => call('GET', 'state'),
    requests: () => call('GET', 'requests'),
    configure: (patch) => call('PATCH', 'config', patch),
    stop,
  };
}

/** The origin of the URL-source row: the files of `dir` over HTTP (bench/origin.js). */
async function startOrigin(dir) {
  const { ready, stop } = await spawnReady([path.join(__dirname, 'origin.js'), dir], 'origin');
  return { url: ready.url, stop };
}

module.exports = { startEmulator, startOrigin };
