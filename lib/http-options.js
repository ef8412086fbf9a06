'use strict';

// Picks the reference's HTTP options (docs/compat.md §2.3) out of an options
// object for the engine, by name; the engine converts and clamps the values.

/** A value given as a number (validated before; `null` is 0), or undefined. */
function numberOf(value) {
  return value === undefined ? undefined : Number(value);
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

/** What a call's session is made of: AEM headers, proxy and TLS options. */
function sessionOptions(options) {
  const httpOptions = options.getHttpOptions() || {};
  const agent = httpOptions.agent || {};
  const agentOptions = agent.options || agent;
  let proxy = agent.proxy;
  if (proxy && typeof proxy === 'object') proxy = proxy.href || proxy.toString();
  return {
    headers: headersOf(httpOptions),
    rejectUnauthorized: agentOptions.rejectUnauthorized !== false,
    proxy: typeof proxy === 'string' && proxy ? proxy : undefined,
    ca: asArray(agentOptions.ca),
    maxAemRequests: typeof options.getMaxAemRequests === 'function' ? numberOf(options.getMaxAemRequests() ?? undefined) : undefined,
  };
}

/** Engine options of a transfer call. */
function transferOptions(options, logEnabled) {
  const httpOptions = options.getHttpOptions() || {};
  const cloud = httpOptions.cloudClient || {};
  return {
    maxConcurrent: Number(options.getMaxConcurrent()),
    retryCount: Number(options.getHttpRetryCount()),
    retryDelay: Number(options.getHttpRetryDelay()),
    requestTimeout: numberOf(options.getHttpRequestTimeout()),
    timeout: numberOf(httpOptions.timeout),
    eventuallyConsistent: !!cloud.eventuallyConsistentCreate,
    log: logEnabled,
    journal: typeof options.getJournal === 'function' && options.getJournal() ? String(options.getJournal()) : undefined,
  };
}

/** Engine options of folder creation (the cloud client's policy). */
function folderOptions(options) {
  const httpOptions = options.getHttpOptions() || {};
  const cloud = httpOptions.cloudClient || {};
  const retry = cloud.retry || {};
  return {
    retryCount: numberOf(retry.count),
    retryDelay: numberOf(retry.delay),
    retryDelayMultiple: numberOf(retry.delayMultiple),
    timeout: numberOf(cloud.timeout),
    eventuallyConsistent: !!cloud.eventuallyConsistentCreate,
  };
}

module.exports = { sessionOptions, transferOptions, folderOptions };
