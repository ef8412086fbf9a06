'use strict';

// A real origin server for URL sources (docs/remote-sources.md): serves files
// with or without byte ranges, ETags, redirects, and faults per path, and
// records every request it gets (method, URL, headers).

const http = require('http');

/**
 * Content of `size` bytes from `seed`, computed from the offset so that any
 * range (of a file of gigabytes) is produced without holding the file.
 */
function generated(size, seed = 1) {
  const block = Buffer.alloc(64 * 1024);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < block.length; i += 1) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    block[i] = x & 0xff;
  }
  return {
    size,
    /** Bytes [start, end) as Buffers of at most 64 KiB; each block is stamped with its index. */
    * chunks(start, end) {
      let offset = start;
      while (offset < end) {
        const index = Math.floor(offset / block.length);
        const within = offset % block.length;
        const chunk = Buffer.from(block);
        chunk.writeUInt32LE(index, 0);
        const take = Math.min(block.length - within, end - offset);
        yield chunk.subarray(within, within + take);
        offset += take;
      }
    },
  };
}

function fromBuffer(buffer) {
  return {
    size: buffer.length,
    * chunks(start, end) {
      for (let o = start; o < end; o += 64 * 1024) yield buffer.subarray(o, Math.min(end, o + 64 * 1024));
    },
  };
}

/**
 * @param {object} files path -> Buffer or generated()
 * @param {object} [behaviour] per path: `{ranges, etag, lastModified, noHead,
 *   noLength, status, statusTimes, reset, resetTimes, stall, stallAfterRanges,
 *   redirect, changeAfterRanges}`; `defaults` applies to every path.
 */
async function startOrigin(files, behaviour = {}) {
  const requests = [];
  const counts = new Map();
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://origin');
    requests.push({ method: req.method, url: req.url, headers: { ...req.headers } });
    const b = { ranges: true, etag: '"v1"', ...(behaviour.defaults || {}), ...(behaviour[url.pathname] || {}) };
    const count = (counts.get(url.pathname) || 0) + 1;
    counts.set(url.pathname, count);
    if (b.redirect) {
      res.writeHead(b.redirectStatus || 302, { location: b.redirect });
      return res.end();
    }
    if (b.status && (!b.statusTimes || count <= b.statusTimes)) {
      res.writeHead(b.status, { 'content-type': 'text/plain' });
      return res.end(`origin says ${b.status}`);
    }
    if (req.method === 'HEAD' && b.noHead) {
      res.writeHead(405);
      return res.end();
    }
    let file = files[url.pathname];
    if (!file) {
      res.writeHead(404);
      return res.end();
    }
    if (Buffer.isBuffer(file)) file = fromBuffer(file);
    const ranged = req.headers.range && b.ranges && /^bytes=(\d+)-(\d+)$/.exec(req.headers.range);
    const rangeCount = (counts.get(`${url.pathname}#ranges`) || 0) + (ranged ? 1 : 0);
    counts.set(`${url.pathname}#ranges`, rangeCount);
    let etag = b.etag;
    let content = file;
    if (b.changeAfterRanges && rangeCount > b.changeAfterRanges) {
      etag = '"v2"';
      content = generated(file.size, 99);
    }
    const headers = { 'content-type': 'application/octet-stream' };
    if (etag) headers.etag = etag;
    if (b.lastModified) headers['last-modified'] = b.lastModified;
    if (b.ranges) headers['accept-ranges'] = 'bytes';
    let [start, end, status] = [0, content.size, 200];
    const ifRange = req.headers['if-range'];
    if (ranged && (!ifRange || ifRange === etag || ifRange === b.lastModified)) {
      [start, end, status] = [Number(ranged[1]), Math.min(Number(ranged[2]) + 1, content.size), 206];
      headers['content-range'] = `bytes ${start}-${end - 1}/${content.size}`;
    }
    if (!b.noLength) headers['content-length'] = end - start;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return res.end();
    const stall = b.stall || (b.stallAfterRanges && rangeCount > b.stallAfterRanges);
    const reset = b.reset && (!b.resetTimes || count <= b.resetTimes + (b.resetAfterRequests || 0)) && count > (b.resetAfterRequests || 0);
    const chunks = content.chunks(start, end);
    let sent = 0;
    const pump = () => {
      for (;;) {
        if ((stall || reset) && sent >= (end - start) / 2) {
          if (reset) req.socket.destroy();
          return; // a stall: the connection stays open, silent
        }
        const next = chunks.next();
        if (next.done) return res.end();
        sent += next.value.length;
        if (!res.write(next.value)) return res.once('drain', pump);
      }
    };
    return pump();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    requests,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

module.exports = { startOrigin, generated };
