'use strict';

// An independent AEM Assets Author API, written from the wire contract alone
// (the project's protocol notes on the Author API and the sourced research on
// it), not from our emulator: so that AssetsClient is shown to work against
// a server that follows the documented behaviour, not one that shares our
// reading of it.
//
// What it does, and where each rule comes from:
// - Every route wants `Authorization: Bearer <token>` with a token it knows
//   (401 otherwise) and an `X-Api-Key` that is registered (403 otherwise:
//   the client id must be allow-listed in AEM).
// - `X-Adobe-Accept-Experimental: 1` is required on delete and job status,
//   the operations the 2024.11 reference marks experimental (400 otherwise).
// - `GET|HEAD /adobe/assets/{id}/metadata`: 200 `{assetId, assetMetadata,
//   repositoryMetadata}` with a strong quoted `ETag` (also `repo:etag`); 304
//   when `If-None-Match` matches; 404 unknown; 406 when `Accept` rules out
//   JSON.
// - `PATCH` same: `application/json-patch+json` (415 otherwise), `If-Match`
//   required (428), tag or `*` (412 with the current `ETag` on mismatch);
//   RFC 6902 ops plus AEM's `set` and `removeIfExists`; paths `/assetMetadata/x`,
//   short `/x` or slash-less `x`; `repositoryMetadata` read-only; one failing
//   op fails the whole PATCH (400) and changes nothing; 200 with the new
//   document and tag.
// - `DELETE /adobe/assets/{id}?force=`: 204, or 202 `{jobId, state:
//   "PROCESSING"}` with `Location` and `Retry-After` when references must be
//   updated (a referenced asset without force, or every delete with
//   `asyncDelete`). `GET /adobe/assets/jobs/{id}/status`: 200 `{jobId, state}`
//   while running or after failure, 303 with `Location` to
//   `/adobe/assets/jobs/{id}/result` when done.
// - `GET <damPath>.json`: the node with `jcr:uuid` (asset id minus
//   `urn:aaid:aem:`); Sling's HTML 404 for an unknown path.
// - Errors are `application/problem+json` `{title, status, detail}` (real
//   answers omit `type`).
// - Faults: `inject({method, path, status, retryAfter, times, reset})`.

const http = require('http');
const crypto = require('crypto');

const PREFIX = 'urn:aaid:aem:';

function problem(res, status, detail, headers = {}) {
  const body = JSON.stringify({ title: http.STATUS_CODES[status], status, detail });
  res.writeHead(status, { 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function json(res, status, value, headers = {}, head = false) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(head ? undefined : body);
}

class PatchError extends Error {}

/** RFC 6901 pointer → tokens. */
function tokens(pointer) {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid pointer ${pointer}`);
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc, toks, path) {
  let node = doc;
  for (const t of toks.slice(0, -1)) {
    if (node === null || typeof node !== 'object' || !(t in node)) throw new PatchError(`path ${path} does not exist`);
    node = node[t];
  }
  if (node === null || typeof node !== 'object') throw new PatchError(`path ${path} has no container`);
  return [node, toks[toks.length - 1]];
}

function getAt(doc, path) {
  let node = doc;
  for (const t of tokens(path)) {
    if (node === null || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, t)) {
      throw new PatchError(`path ${path} does not exist`);
    }
    node = node[t];
  }
  return node;
}

function addAt(doc, path, value) {
  const [parent, key] = parentOf(doc, tokens(path), path);
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(index) || index < 0 || index > parent.length) throw new PatchError(`bad index in ${path}`);
    parent.splice(index, 0, value);
  } else {
    parent[key] = value;
  }
}

function removeAt(doc, path) {
  const [parent, key] = parentOf(doc, tokens(path), path);
  if (Array.isArray(parent)) {
    const index = Number(key);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length) throw new PatchError(`path ${path} does not exist`);
    return parent.splice(index, 1)[0];
  }
  if (!Object.prototype.hasOwnProperty.call(parent, key)) throw new PatchError(`path ${path} does not exist`);
  const old = parent[key];
  delete parent[key];
  return old;
}

function equal(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A patch path in the document's terms: full, short or slash-less. */
function resolvePath(path, field) {
  if (typeof path !== 'string' || path === '') throw new PatchError(`op without a "${field}"`);
  const p = path.startsWith('/') ? path : `/${path}`;
  if (p === '/repositoryMetadata' || p.startsWith('/repositoryMetadata/')) {
    throw new PatchError(`${path} is read-only`);
  }
  if (p === '/assetMetadata' || p.startsWith('/assetMetadata/')) return p;
  return `/assetMetadata${p}`;
}

function applyPatch(doc, ops) {
  if (!Array.isArray(ops)) throw new PatchError('the body must be a JSON Patch array');
  for (const op of ops) {
    if (op === null || typeof op !== 'object') throw new PatchError('an operation is not an object');
    const path = resolvePath(op.path, 'path');
    switch (op.op) {
      case 'add':
        addAt(doc, path, op.value);
        break;
      case 'set': // AEM: upsert
        try {
          removeAt(doc, path);
        } catch (e) {
          // absent: plain add
        }
        addAt(doc, path, op.value);
        break;
      case 'replace':
        removeAt(doc, path);
        addAt(doc, path, op.value);
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'removeIfExists':
        try {
          removeAt(doc, path);
        } catch (e) {
          // absent: nothing to do
        }
        break;
      case 'test':
        if (!equal(getAt(doc, path), op.value)) throw new PatchError(`test failed at ${op.path}`);
        break;
      case 'move': {
        const value = removeAt(doc, resolvePath(op.from, 'from'));
        addAt(doc, path, value);
        break;
      }
      case 'copy':
        addAt(doc, path, JSON.parse(JSON.stringify(getAt(doc, resolvePath(op.from, 'from')))));
        break;
      default:
        throw new PatchError(`unknown op ${JSON.stringify(op.op)}`);
    }
  }
}

/**
 * Starts the server. `apiKeys`: registered client ids; `tokens`: accepted
 * bearer tokens (a Set the test may change); `jobPolls`: polls a job answers
 * PROCESSING before it finishes; `retryAfter`: the Retry-After it sends.
 */
async function startAuthorApi({ apiKeys = ['client-1'], tokens: accepted = ['token-1'], jobPolls = 2, retryAfter = '0', asyncDelete = false } = {}) {
  const state = {
    assets: new Map(), // id -> {path, assetMetadata, version, referenced, failDelete}
    jobs: new Map(), // id -> {assetId, polls, fail}
    tokens: new Set(accepted),
    apiKeys: new Set(apiKeys),
    faults: [],
    requests: [],
    statuses: {},
    asyncDelete,
    jobPolls,
    retryAfter,
  };

  function etagOf(asset) {
    const hash = crypto.createHash('sha256').update(`${asset.version}:${JSON.stringify(asset.assetMetadata)}`).digest('hex');
    return `"${hash.slice(0, 20)}"`;
  }

  function documentOf(id, asset, host) {
    const name = asset.path.split('/').pop();
    return {
      assetId: id,
      assetMetadata: asset.assetMetadata,
      repositoryMetadata: {
        'repo:assetId': id,
        'repo:name': name,
        'repo:path': asset.path,
        'repo:size': asset.size,
        'dc:format': 'image/jpeg',
        'repo:repositoryId': host,
        'repo:etag': etagOf(asset),
        'aem:assetState': 'processed',
      },
    };
  }

  function takeFault(req) {
    const i = state.faults.findIndex((f) => (!f.method || f.method === req.method) && (!f.path || req.url.includes(f.path)));
    if (i < 0) return undefined;
    const fault = state.faults[i];
    fault.times -= 1;
    if (fault.times <= 0) state.faults.splice(i, 1);
    return fault;
  }

  function matches(header, tag) {
    return header.split(',').map((t) => t.trim()).some((t) => t === '*' || t === tag || t === `W/${tag}`);
  }

  function handle(req, res, body) {
    const url = new URL(req.url, 'http://x');
    const host = req.headers.host;
    const head = req.method === 'HEAD';

    const fault = state.hold && req.method === 'GET' ? undefined : takeFault(req);
    if (fault) {
      if (fault.reset) {
        req.socket.destroy();
        return;
      }
      const extra = fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
      problem(res, fault.status, fault.detail || 'injected', extra);
      return;
    }

    const auth = req.headers.authorization || '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
    if (!token || !state.tokens.has(token)) {
      problem(res, 401, 'Authentication failed', { 'www-authenticate': 'Bearer' });
      return;
    }
    if (!state.apiKeys.has(req.headers['x-api-key'])) {
      problem(res, 403, 'The client id is not allowed to use this API');
      return;
    }

    // <damPath>.json: the node as Sling renders it.
    if (url.pathname.startsWith('/content/dam/') && url.pathname.endsWith('.json') && req.method === 'GET') {
      const path = decodeURIComponent(url.pathname.slice(0, -'.json'.length));
      for (const [id, asset] of state.assets) {
        if (asset.path === path) {
          json(res, 200, {
            'jcr:primaryType': 'dam:Asset',
            'jcr:mixinTypes': ['mix:referenceable'],
            'jcr:uuid': id.slice(PREFIX.length),
            'jcr:createdBy': 'admin',
          });
          return;
        }
      }
      const html = '<html><body>Not Found</body></html>';
      res.writeHead(404, { 'content-type': 'text/html', 'content-length': html.length });
      res.end(html);
      return;
    }

    let m = /^\/adobe\/assets\/jobs\/([^/]+)\/(status|result)$/.exec(url.pathname);
    if (m && req.method === 'GET') {
      if (req.headers['x-adobe-accept-experimental'] !== '1') {
        problem(res, 400, 'X-Adobe-Accept-Experimental: 1 is required for this operation');
        return;
      }
      const jobId = decodeURIComponent(m[1]);
      const job = state.jobs.get(jobId);
      if (!job) {
        problem(res, 404, `No job ${jobId}`);
        return;
      }
      if (m[2] === 'result') {
        json(res, 200, { jobId, state: job.done ? 'COMPLETED' : 'PROCESSING' });
        return;
      }
      job.polls += 1;
      if (job.polls <= state.jobPolls) {
        json(res, 200, { jobId, state: 'PROCESSING' }, state.retryAfter === undefined ? {} : { 'retry-after': state.retryAfter });
        return;
      }
      if (job.fail) {
        json(res, 200, { jobId, state: 'FAILED', errors: [{ message: 'Updating references failed' }] });
        return;
      }
      if (!job.done) {
        job.done = true;
        state.assets.delete(job.assetId);
      }
      json(res, 303, { jobId, state: 'COMPLETED' }, { location: `/adobe/assets/jobs/${encodeURIComponent(jobId)}/result` });
      return;
    }

    m = /^\/adobe\/assets\/([^/]+)(\/metadata)?$/.exec(url.pathname);
    if (!m) {
      problem(res, 404, 'No such resource');
      return;
    }
    const id = decodeURIComponent(m[1]);
    if (!id.startsWith(PREFIX)) {
      problem(res, 400, `${id} is not an asset id`);
      return;
    }
    const asset = state.assets.get(id);

    if (!m[2]) {
      if (req.method !== 'DELETE') {
        problem(res, 405, 'Method not allowed');
        return;
      }
      if (req.headers['x-adobe-accept-experimental'] !== '1') {
        problem(res, 400, 'X-Adobe-Accept-Experimental: 1 is required for this operation');
        return;
      }
      const force = url.searchParams.get('force');
      if (force !== null && force !== 'true' && force !== 'false') {
        problem(res, 400, 'force must be true or false');
        return;
      }
      if (!asset) {
        problem(res, 404, `Asset ${id} not found`);
        return;
      }
      if (state.asyncDelete || (asset.referenced && force !== 'true')) {
        const jobId = crypto.randomUUID();
        state.jobs.set(jobId, { assetId: id, polls: 0, fail: !!asset.failDelete, done: false });
        const headers = { location: `/adobe/assets/jobs/${jobId}/status` };
        if (state.retryAfter !== undefined) headers['retry-after'] = state.retryAfter;
        json(res, 202, { jobId, state: 'PROCESSING' }, headers);
        return;
      }
      state.assets.delete(id);
      res.writeHead(204);
      res.end();
      return;
    }

    // /metadata
    if (req.method === 'GET' && state.hold) {
      // Held until `count` reads arrived: every held reader sees the same tag.
      const hold = state.hold;
      hold.pending.push(() => handle(req, res, body));
      if (hold.pending.length >= hold.count) {
        state.hold = null;
        hold.pending.forEach((answer) => answer());
      }
      return;
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      const accept = req.headers.accept;
      if (accept && !/application\/json|application\/\*|\*\/\*/.test(accept)) {
        problem(res, 406, 'Metadata is only available as application/json');
        return;
      }
      if (!asset) {
        if (head) {
          res.writeHead(404);
          res.end();
        } else {
          problem(res, 404, `Asset ${id} not found`);
        }
        return;
      }
      const tag = etagOf(asset);
      const inm = req.headers['if-none-match'];
      if (inm && matches(inm, tag)) {
        res.writeHead(304, { etag: tag });
        res.end();
        return;
      }
      json(res, 200, documentOf(id, asset, host), { etag: tag }, head);
      return;
    }
    if (req.method !== 'PATCH') {
      problem(res, 405, 'Method not allowed');
      return;
    }
    if (!asset) {
      problem(res, 404, `Asset ${id} not found`);
      return;
    }
    if (!/^application\/json-patch\+json\b/.test(req.headers['content-type'] || '')) {
      problem(res, 415, 'PATCH takes application/json-patch+json');
      return;
    }
    const ifMatch = req.headers['if-match'];
    if (!ifMatch) {
      problem(res, 428, 'This request must be conditional: send If-Match');
      return;
    }
    const tag = etagOf(asset);
    if (ifMatch.trim() !== '*' && !ifMatch.split(',').map((t) => t.trim()).includes(tag)) {
      problem(res, 412, 'The asset was changed since the given ETag', { etag: tag });
      return;
    }
    let ops;
    try {
      ops = JSON.parse(body.toString('utf8'));
    } catch (e) {
      problem(res, 400, 'The body is not JSON');
      return;
    }
    // Atomic: the ops run on a copy that replaces the document only if all succeed.
    const copy = { assetMetadata: JSON.parse(JSON.stringify(asset.assetMetadata)), repositoryMetadata: {} };
    try {
      applyPatch(copy, ops);
    } catch (e) {
      if (!(e instanceof PatchError)) throw e;
      problem(res, 400, e.message);
      return;
    }
    if (copy.assetMetadata === null || typeof copy.assetMetadata !== 'object' || Array.isArray(copy.assetMetadata)) {
      problem(res, 400, 'assetMetadata must stay an object');
      return;
    }
    asset.assetMetadata = copy.assetMetadata;
    asset.version += 1;
    state.patches = (state.patches || 0) + 1;
    json(res, 200, documentOf(id, asset, host), { etag: etagOf(asset) });
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      state.requests.push({ method: req.method, path: req.url, headers: { ...req.headers } });
      const end = res.end.bind(res);
      res.end = (...args) => {
        state.statuses[res.statusCode] = (state.statuses[res.statusCode] || 0) + 1;
        return end(...args);
      };
      try {
        handle(req, res, Buffer.concat(chunks));
      } catch (err) {
        problem(res, 500, 'Internal error');
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;

  return {
    url,
    state,
    /** Adds an asset at `path`; returns its id. */
    addAsset(path, { assetMetadata = {}, referenced = false, failDelete = false, size = 1024 } = {}) {
      const id = `${PREFIX}${crypto.randomUUID()}`;
      state.assets.set(id, { path, assetMetadata: JSON.parse(JSON.stringify(assetMetadata)), version: 0, referenced, failDelete, size });
      return id;
    },
    /** Another writer changes the asset behind the client's back. */
    touch(id, name, value) {
      const asset = state.assets.get(id);
      asset.assetMetadata[name] = value;
      asset.version += 1;
    },
    metadata(id) {
      const asset = state.assets.get(id);
      return asset && asset.assetMetadata;
    },
    /** Holds the next `count` metadata GETs until all of them arrived, then answers them together. */
    holdReads(count) {
      state.hold = { count, pending: [] };
    },
    /** The next `times` requests matching `method`/`path` answer `status` (or reset). */
    inject(fault) {
      state.faults.push({ times: 1, ...fault });
    },
    requests(filter = () => true) {
      return state.requests.filter(filter);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

module.exports = { startAuthorApi };
