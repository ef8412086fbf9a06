'use strict';

// `aem-upload assets …` (docs/assets.md §3): the Assets Author API from the
// command line, through AssetsClient. Results go to stdout as JSON; failures
// to stderr as `aem-upload: CODE: message`. Exit codes as `upload`: 0 done,
// 1 the call failed, 2 bad usage, configuration or credentials.

const fs = require('fs');
const { UsageError, loadEnv, integer } = require('./config');
const { authProvider } = require('./credentials');

/** Codes that mean the call was refused for who is asking (exit 2). */
const CREDENTIAL_CODES = new Set(['ENOTAUTHORIZED', 'EFORBIDDEN']);

/** The client of a command: AEM_URL, credentials, X-Api-Key, the engine's knobs. */
function clientFor(opts, env, auth = authProvider(opts, env)) {
  const { AssetsClient } = require('../../assets');
  if (!env.AEM_URL) throw new UsageError('set AEM_URL (flag, environment or .env): the author instance to talk to');
  if (!/^https?:\/\//i.test(env.AEM_URL)) throw new UsageError(`AEM_URL must be an http(s) URL, got '${env.AEM_URL}'`);
  const options = { url: env.AEM_URL.replace(/\/+$/, '') };
  if (auth) options.auth = auth;
  const apiKey = opts.apiKey || env.AEM_API_KEY || env.AEM_IMS_CLIENT_ID;
  if (apiKey) options.apiKey = apiKey;
  const retries = integer(opts.retries, '--retries');
  const timeout = integer(opts.timeout, '--timeout', { min: 1 });
  if (retries !== undefined) options.retryCount = retries;
  if (timeout !== undefined) options.timeout = timeout;
  return new AssetsClient(options);
}

/** An asset id as given, or the id of the asset at a DAM path. */
async function assetIdOf(client, asset) {
  if (/^urn:aaid:/i.test(asset)) return asset;
  if (asset.startsWith('/')) return client.assetIdForPath(asset);
  throw new UsageError(`'${asset}' is neither an asset id (urn:aaid:aem:…) nor a DAM path (/content/dam/…)`);
}

/** `name=value` arguments as metadata values: JSON when it parses (numbers, arrays, true), else the text. */
function valuesOf(pairs) {
  const values = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`'${pair}' is not name=value`);
    const raw = pair.slice(at + 1);
    let value = raw;
    if (raw === '') value = null;
    else {
      try {
        value = JSON.parse(raw);
      } catch (e) {
        value = raw;
      }
    }
    values[pair.slice(0, at)] = value;
  }
  return values;
}

function readPatch(file) {
  let ops;
  try {
    ops = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--patch ${file}: ${err.code === 'ENOENT' ? 'no such file' : `not JSON (${err.message})`}`);
  }
  if (!Array.isArray(ops)) throw new UsageError(`--patch ${file}: a JSON Patch document is an array of operations`);
  return ops;
}

/** Runs `action(client)` and prints what it resolves to; maps failures to exit codes. */
async function run(opts, io, action) {
  const env = loadEnv(opts.envFile);
  const client = clientFor(opts, env);
  let out;
  try {
    out = await action(client);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err && err.code) || 'EUNKNOWN';
    io.stderr.write(`aem-upload: ${code}: ${err && err.message}\n`);
    return CREDENTIAL_CODES.has(code) || code === 'EINVALIDOPTIONS' ? 2 : 1;
  }
  io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return 0;
}

function metadataGet(asset, opts, io) {
  return run(opts, io, async (client) => client.getMetadata(await assetIdOf(client, asset)));
}

function metadataSet(asset, pairs, opts, io) {
  if (opts.patch && pairs.length) throw new UsageError('give name=value pairs or --patch FILE, not both');
  if (!opts.patch && !pairs.length) throw new UsageError('nothing to set: give name=value pairs or --patch FILE');
  const ops = opts.patch ? readPatch(opts.patch) : null;
  const values = ops ? null : valuesOf(pairs);
  return run(opts, io, async (client) => {
    const id = await assetIdOf(client, asset);
    if (!ops) return client.updateMetadata(id, values);
    // A patch is applied to the version read here, or to --if-match's.
    const ifMatch = opts.ifMatch || (await client.headMetadata(id)).etag || '*';
    return client.patchMetadata(id, ops, { ifMatch });
  });
}

function remove(asset, opts, io) {
  const timeout = integer(opts.waitTimeout, '--wait-timeout', { min: 1 });
  return run(opts, io, async (client) => client.deleteAsset(await assetIdOf(client, asset), {
    force: !!opts.force, wait: !!opts.wait, ...(timeout ? { timeout } : {}),
  }));
}

function job(id, opts, io) {
  const timeout = integer(opts.waitTimeout, '--wait-timeout', { min: 1 });
  return run(opts, io, (client) => (opts.wait ? client.waitForJob(id, timeout ? { timeout } : {}) : client.getJobStatus(id)));
}

module.exports = { metadataGet, metadataSet, remove, job, clientFor, assetIdOf };
