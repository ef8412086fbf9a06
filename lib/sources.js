'use strict';

// Turns an upload file's `blob` into bytes the engine can read without
// copying where possible (compat.md §3): Buffer, Uint8Array and ArrayBuffer
// are viewed in place; Blob, Node and web streams, and objects with
// `slice(start, end)` are read once, in order.

const { Readable } = require('stream');
const UploadError = require('./upload-error');
const ErrorCodes = require('./error-codes');

async function collect(iterable) {
  const chunks = [];
  for await (const chunk of iterable) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

function isWebStream(value) {
  return value && typeof value.getReader === 'function' && typeof value.pipeTo === 'function';
}

/**
 * @param {*} blob the upload file's blob
 * @param {number} size its declared fileSize
 * @returns {Promise<Buffer>}
 */
async function toBuffer(blob, size) {
  if (Buffer.isBuffer(blob)) return blob;
  if (blob instanceof Uint8Array) return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (blob instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && blob instanceof SharedArrayBuffer)) {
    return Buffer.from(blob);
  }
  if (ArrayBuffer.isView(blob)) return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (typeof Blob !== 'undefined' && blob instanceof Blob) return Buffer.from(await blob.arrayBuffer());
  if (blob instanceof Readable || (blob && typeof blob.pipe === 'function' && typeof blob.on === 'function')) {
    return collect(blob);
  }
  if (isWebStream(blob)) return collect(Readable.fromWeb(blob));
  if (blob && typeof blob.slice === 'function' && typeof blob !== 'string') {
    const end = Number.isFinite(size) && size > 0 ? size : 0;
    return toBuffer(await blob.slice(0, end), size);
  }
  throw new UploadError(`Unsupported blob type: ${typeof blob === 'string' ? 'string' : Object.prototype.toString.call(blob)}`, ErrorCodes.INVALID_OPTIONS);
}

module.exports = { toBuffer };
