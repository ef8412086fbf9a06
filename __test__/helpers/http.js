'use strict';

// A raw HTTP client for tests: every request on its own connection (faults
// reset connections), full control over headers and framing, and the answer
// or the connection error exactly as the socket reports it.

const http = require('http');
const crypto = require('crypto');

/**
 * @returns {Promise<{status:number, headers:object, body:Buffer, text:string, json:()=>any}>}
 */
function request(method, url, { headers = {}, body, chunked = false, timeout = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
    const finalHeaders = { ...headers };
    if (payload !== undefined && !chunked && finalHeaders['content-length'] === undefined) {
      finalHeaders['content-length'] = payload.length;
    }
    const req = http.request(url, { method, headers: finalHeaders, agent: false, timeout });
    req.on('timeout', () => req.destroy(Object.assign(new Error('test request timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('aborted', () => reject(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
      res.on('end', () => {
        if (!res.complete) {
          reject(Object.assign(new Error('response body cut off'), { code: 'ECONNRESET' }));
          return;
        }
        const data = Buffer.concat(chunks);
        resolve({
          status: res.statusCode,
          headers: res.headers,
          body: data,
          text: data.toString('utf8'),
          json: () => JSON.parse(data.toString('utf8')),
        });
      });
    });
    if (payload !== undefined) {
      if (chunked) {
        req.setHeader('transfer-encoding', 'chunked');
      }
      req.end(payload);
    } else {
      req.end();
    }
  });
}

function form(pairs) {
  const params = new URLSearchParams();
  for (const [k, v] of pairs) params.append(k, String(v));
  return params.toString();
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const md5b64 = (buf) => crypto.createHash('md5').update(buf).digest('base64');

/** A little AEM client for driving the protocol by hand. */
class Aem {
  constructor(emulator, authorization) {
    this.emulator = emulator;
    this.auth = authorization;
  }

  headers(extra = {}) {
    return this.auth ? { authorization: this.auth, ...extra } : { ...extra };
  }

  initiate(folder, files, extraHeaders = {}) {
    const pairs = [];
    for (const f of files) {
      pairs.push(['fileName', f.name], ['fileSize', f.size]);
    }
    return request('POST', `${this.emulator.url}${encodePath(folder)}.initiateUpload.json`, {
      headers: this.headers({ ...FORM, ...extraHeaders }),
      body: form(pairs),
    });
  }

  put(uri, body, headers = {}) {
    return request('PUT', uri, { headers, body });
  }

  /** PUTs `data` split into parts of `partSize` to the file's URIs, in the given order. */
  async putParts(file, data, partSize, order) {
    const count = Math.max(1, Math.ceil(data.length / partSize));
    const indexes = order || [...Array(count).keys()];
    for (const k of indexes) {
      const res = await this.put(file.uploadURIs[k], data.subarray(k * partSize, Math.min((k + 1) * partSize, data.length)));
      if (res.status !== 201) throw new Error(`part ${k}: ${res.status} ${res.text}`);
    }
  }

  complete(completeURI, fields, extraHeaders = {}) {
    const url = new URL(completeURI, this.emulator.url).toString();
    return request('POST', url, { headers: this.headers({ ...FORM, ...extraHeaders }), body: form(fields) });
  }

  completeFields(file, size, extra = {}) {
    const fields = [
      ['fileName', file.fileName],
      ['fileSize', size],
      ['mimeType', file.mimeType],
      ['createVersion', extra.createVersion ? 'true' : 'false'],
    ];
    if (extra.versionLabel) fields.push(['versionLabel', extra.versionLabel]);
    if (extra.versionComment) fields.push(['versionComment', extra.versionComment]);
    fields.push(['replace', extra.replace ? 'true' : 'false'], ['uploadToken', file.uploadToken], ['uploadDuration', 5]);
    return fields;
  }

  /** initiate → parts → complete for one file; returns the complete response. */
  async upload(folder, name, data, extra = {}) {
    const init = await this.initiate(folder, [{ name, size: data.length }]);
    if (init.status !== 201) throw new Error(`initiate: ${init.status} ${init.text}`);
    const answer = init.json();
    const file = answer.files[0];
    const partSize = Math.max(file.minPartSize, Math.ceil(data.length / file.uploadURIs.length));
    await this.putParts(file, data, partSize, extra.order);
    return this.complete(answer.completeURI, this.completeFields(file, data.length, extra));
  }

  createFolder(path, title) {
    return request('POST', `${this.emulator.url}/api/assets${encodePath(path.replace(/^\/content\/dam/, ''))}`, {
      headers: this.headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ class: 'assetFolder', properties: { 'jcr:title': title || path.split('/').pop() } }),
    });
  }
}

function encodePath(path) {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** Listens on a free loopback port; resolves with the server's base URL. */
function listen(server) {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`));
  });
}

/** Closes a server and every connection it still holds. */
function close(server) {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

module.exports = { request, form, FORM, sha256, md5b64, Aem, encodePath, listen, close };
