'use strict';

// The command line's configuration (docs/cli.md §1): flags, then the
// environment, then a .env file (the working directory's, or --env-file),
// with the variable names of Adobe's upload tutorial.

const fs = require('fs');
const path = require('path');
const dotenv = require('dotenv');

/** A problem with how the command was called or configured: exit code 2. */
class UsageError extends Error {
  constructor(message) {
    super(message);
    this.code = 'EUSAGE';
  }
}

/**
 * The variables the command reads: the process environment over the .env
 * file (which never overrides it). A missing default .env is fine; a missing
 * --env-file is not.
 */
function loadEnv(envFile, env = process.env, cwd = process.cwd()) {
  const file = envFile ? path.resolve(cwd, envFile) : path.join(cwd, '.env');
  let fromFile = {};
  if (fs.existsSync(file)) {
    fromFile = dotenv.parse(fs.readFileSync(file));
  } else if (envFile) {
    throw new UsageError(`--env-file ${envFile}: no such file`);
  }
  return { ...fromFile, ...env };
}

/** A whole number flag, checked. */
function integer(value, flag, { min = 0 } = {}) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} must be a whole number of at least ${min}, got '${value}'`);
  return n;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 };

/**
 * A duration flag in milliseconds: `500ms`, `90s`, `10m`, `1h30m`, `2d`; a
 * bare number is seconds (as rclone's).
 */
function duration(value, flag) {
  if (value === undefined) return undefined;
  const text = String(value).trim().toLowerCase();
  let ms = 0;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
  else if (/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) {
    for (const [, n, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(n) * UNIT_MS[unit];
  } else {
    throw new UsageError(`${flag} must be a duration such as 90s, 10m or 1h30m, got '${value}'`);
  }
  if (!(ms >= 1) || !Number.isFinite(ms) || ms > 2 ** 31 - 1) {
    throw new UsageError(`${flag} must be at least 1ms and under 24 days, got '${value}'`);
  }
  return Math.round(ms);
}

/**
 * The target folder as a URL: `--target` (or TARGET_FOLDER, else
 * /content/dam) as a full URL, or a DAM path joined to AEM_URL.
 */
function targetUrl(target, env) {
  const folder = target || env.TARGET_FOLDER || '/content/dam';
  if (/^https?:\/\//i.test(folder)) return folder.replace(/\/+$/, '');
  if (!env.AEM_URL) {
    throw new UsageError(`the target ${folder} is a DAM path: set AEM_URL (flag, environment or .env), or give --target as a full URL`);
  }
  if (!/^https?:\/\//i.test(env.AEM_URL)) throw new UsageError(`AEM_URL must be an http(s) URL, got '${env.AEM_URL}'`);
  const base = env.AEM_URL.replace(/\/+$/, '');
  const damPath = `/${folder.replace(/^\/+|\/+$/g, '')}`;
  return `${base}${damPath.split('/').map((s) => encodeURIComponent(s)).join('/')}`;
}

/** Whether NO_PROXY exempts `host` (exact names, `.suffix` or `*`). */
function noProxy(host, list) {
  if (!list) return false;
  return list.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean).some((entry) => {
    if (entry === '*') return true;
    const bare = entry.replace(/^\*?\./, '').replace(/:\d+$/, '');
    return host === bare || host.endsWith(`.${bare}`);
  });
}

/** `httpOptions.agent`: the proxy for `url` (HTTPS_PROXY / HTTP_PROXY / NO_PROXY), --ca, --insecure. */
function agentFor(url, opts, env) {
  const agent = {};
  const { protocol, hostname } = new URL(url);
  const pick = (name) => env[name] || env[name.toLowerCase()];
  const proxy = protocol === 'https:' ? pick('HTTPS_PROXY') || pick('HTTP_PROXY') : pick('HTTP_PROXY');
  if (proxy && !noProxy(hostname.toLowerCase(), pick('NO_PROXY'))) agent.proxy = proxy;
  if (opts.ca) {
    try {
      agent.ca = fs.readFileSync(opts.ca, 'utf8');
    } catch (err) {
      throw new UsageError(`--ca ${opts.ca}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    }
  }
  if (opts.insecure) agent.rejectUnauthorized = false;
  return agent;
}

module.exports = { UsageError, loadEnv, integer, duration, targetUrl, agentFor, noProxy };
