'use strict';

// Turns an upload file's `blob` into what the engine reads (docs/compat.md §3):
// Buffer, Uint8Array and ArrayBuffer are viewed in place; Blob, Node and web
// streams (and what `slice(start, end)` objects return) are read once, in
// order, and pushed to the engine as it asks, so memory stays bounded.

const { Readable } = require('stream');
const UploadError = require('./upload-error');
const ErrorCodes = require('./error-codes');

function isWebStream(value) {
  return value && typeof value.getReader === 'function' && typeof value.pipeTo === 'function';
}

function isNodeStream(value) {
  return value instanceof Readable || (value && typeof value.pipe === 'function' && typeof value.on === 'function');
}

/**
 * What the engine reads a file's `blob` from (docs/compat.md §3): `{ buffer }`
 * for bytes already in memory (viewed in place, never copied), or
 * `{ stream }` (a Node Readable) for streams and Blobs, which are pushed
 * to the engine part by part as it needs them, in bounded memory.
 * @param {*} blob the upload file's blob
 * @param {number} size its declared fileSize
 * @returns {Promise<{buffer: Buffer}|{stream: import('stream').Readable}>}
 */
async function sourceOf(blob, size) {
  if (Buffer.isBuffer(blob)) return { buffer: blob };
  if (blob instanceof Uint8Array) return { buffer: Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength) };
  if (blob instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && blob instanceof SharedArrayBuffer)) {
    return { buffer: Buffer.from(blob) };
  }
  if (ArrayBuffer.isView(blob)) return { buffer: Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength) };
  if (typeof Blob !== 'undefined' && blob instanceof Blob) return { stream: Readable.fromWeb(blob.stream()) };
  if (isNodeStream(blob)) return { stream: blob instanceof Readable ? blob : new Readable().wrap(blob) };
  if (isWebStream(blob)) return { stream: Readable.fromWeb(blob) };
  if (blob && typeof blob.slice === 'function' && typeof blob !== 'string') {
    const end = Number.isFinite(size) && size > 0 ? size : 0;
    return sourceOf(await blob.slice(0, end), size);
  }
  throw new UploadError(`Unsupported blob type: ${typeof blob === 'string' ? 'string' : Object.prototype.toString.call(blob)}`, ErrorCodes.INVALID_OPTIONS);
}

function asBuffer(chunk) {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk);
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Pushes a stream into the engine for file `index` of a running upload,
 * waiting whenever the engine's queue is full. Stops (destroying the
 * stream) when the engine no longer wants it; a stream error fails the file.
 */
async function pump(handle, index, stream) {
  try {
    for await (const chunk of stream) {
      if (!(await handle.push(index, asBuffer(chunk)))) {
        stream.destroy();
        return;
      }
    }
    handle.end(index);
  } catch (err) {
    const error = UploadError.fromError(err);
    await handle.fail(index, { code: error.code, message: error.message, detail: '' });
  }
}

module.exports = { sourceOf, pump };
