'use strict';

// Translates the reference's HTTP options (compat.md §2.3) into the engine's.

function positive(value) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function nonNegativeInt(value, fallback) {
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : fallback;
}

function asArray(value) {
  if (value === undefined || value === null) return undefined;
  return (Array.isArray(value) ? value : [value]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
}

/** Header values as strings; `undefined`/`null` values dropped. */
function headersOf(httpOptions) {
  const headers = {};
  const given = httpOptions.headers || {};
  for (const key of Object.keys(given)) {
    const value = given[key];
    if (value !== undefined && value !== null) headers[key] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return headers;
}

function connectionOptions(httpOptions) {
  const agent = httpOptions.agent || {};
  const agentOptions = agent.options || agent;
  let proxy = agent.proxy;
  if (proxy && typeof proxy === 'object') proxy = proxy.href || proxy.toString();
  return {
    rejectUnauthorized: agentOptions.rejectUnauthorized !== false,
    proxy: typeof proxy === 'string' && proxy ? proxy : undefined,
    ca: asArray(agentOptions.ca),
  };
}

/** Engine options of a transfer call. */
function transferOptions(options, logEnabled) {
  const httpOptions = options.getHttpOptions() || {};
  const cloud = httpOptions.cloudClient || {};
  const timeouts = [positive(options.getHttpRequestTimeout()), positive(httpOptions.timeout)].filter((t) => t !== undefined);
  const maxConcurrent = Number(options.getMaxConcurrent());
  return {
    maxConcurrent: Number.isFinite(maxConcurrent) && maxConcurrent >= 1 ? Math.floor(Math.min(maxConcurrent, 1024)) : 1,
    retryCount: nonNegativeInt(options.getHttpRetryCount(), 3),
    retryDelay: nonNegativeInt(options.getHttpRetryDelay(), 5000),
    idleTimeout: timeouts.length ? Math.min(...timeouts) : undefined,
    headers: headersOf(httpOptions),
    eventuallyConsistent: !!cloud.eventuallyConsistentCreate,
    log: logEnabled,
    journal: typeof options.getJournal === 'function' && options.getJournal() ? String(options.getJournal()) : undefined,
    ...connectionOptions(httpOptions),
  };
}

/** Engine options of folder creation (the cloud client's policy). */
function folderOptions(options) {
  const httpOptions = options.getHttpOptions() || {};
  const cloud = httpOptions.cloudClient || {};
  const retry = cloud.retry || {};
  return {
    headers: headersOf(httpOptions),
    attempts: Math.max(1, nonNegativeInt(retry.count, 3)),
    delay: nonNegativeInt(retry.delay, 1000),
    multiplier: Math.max(1, nonNegativeInt(retry.delayMultiple, 2)),
    idleTimeout: positive(cloud.timeout) || 60000,
    eventuallyConsistent: !!cloud.eventuallyConsistentCreate,
    ...connectionOptions(httpOptions),
  };
}

module.exports = { transferOptions, folderOptions };
