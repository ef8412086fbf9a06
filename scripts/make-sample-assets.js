#!/usr/bin/env node
'use strict';

// Writes sample-assets/ (img, video, doc): small, valid files made here, so
// the main job needs no downloads. Deterministic: running it again gives the
// same bytes. Run: node scripts/make-sample-assets.js

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const OUT = path.join(__dirname, '..', 'sample-assets');

function crc32(buf) {
  let c;
  let crc = 0xffffffff;
  for (let n = 0; n < buf.length; n += 1) {
    c = (crc ^ buf[n]) & 0xff;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crc = (crc >>> 8) ^ c;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function png(width, height, pixel) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // truecolour
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const [r, g, b] = pixel(x, y);
      const i = y * (width * 3 + 1) + 1 + x * 3;
      raw[i] = r; raw[i + 1] = g; raw[i + 2] = b;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An animated GIF of `frames` solid frames (uncompressed LZW codes). */
function gif(width, height, frames) {
  const parts = [Buffer.from('GIF89a')];
  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(width, 0);
  screen.writeUInt16LE(height, 2);
  screen[4] = 0xf1; // global colour table of 4 entries
  parts.push(screen, Buffer.from([0, 0, 0, 255, 64, 64, 64, 160, 255, 255, 255, 255]));
  parts.push(Buffer.from([0x21, 0xff, 0x0b]), Buffer.from('NETSCAPE2.0'), Buffer.from([3, 1, 0, 0, 0]));
  for (let f = 0; f < frames; f += 1) {
    parts.push(Buffer.from([0x21, 0xf9, 4, 0, 10, 0, 0, 0]));
    const desc = Buffer.alloc(10);
    desc[0] = 0x2c;
    desc.writeUInt16LE(width, 5);
    desc.writeUInt16LE(height, 7);
    parts.push(desc, Buffer.from([2]));
    // LZW with a clear code before every pixel keeps codes 3 bits wide.
    const colour = f % 4;
    const codes = [];
    for (let i = 0; i < width * height; i += 1) codes.push(4, colour);
    codes.push(5);
    let bits = 0;
    let acc = 0;
    const bytes = [];
    for (const code of codes) {
      acc |= code << bits;
      bits += 3;
      while (bits >= 8) { bytes.push(acc & 0xff); acc >>= 8; bits -= 8; }
    }
    if (bits > 0) bytes.push(acc & 0xff);
    for (let i = 0; i < bytes.length; i += 255) {
      const block = bytes.slice(i, i + 255);
      parts.push(Buffer.from([block.length, ...block]));
    }
    parts.push(Buffer.from([0]));
  }
  parts.push(Buffer.from([0x3b]));
  return Buffer.concat(parts);
}

function pdf(title, lines) {
  const text = lines.map((l, i) => `BT /F1 12 Tf 72 ${720 - i * 18} Td (${l.replace(/[()\\]/g, '')}) Tj ET`).join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Title (${title}) >>`,
  ];
  let out = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

function write(rel, data) {
  const file = path.join(OUT, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
}

write('img/gradient.png', png(256, 256, (x, y) => [x, y, 255 - x]));
write('img/checkerboard.png', png(200, 200, (x, y) => ((x >> 4) + (y >> 4)) % 2 ? [30, 30, 30] : [230, 230, 230]));
write('img/Sunset Over Hills.png', png(320, 180, (x, y) => [255 - (y >> 1), 120 + (y >> 2), 80 + (x >> 3)]));
write('img/logo.svg', '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" rx="6" fill="#eb1000"/><text x="60" y="26" font-family="sans-serif" font-size="16" fill="#fff" text-anchor="middle">AEM</text></svg>\n');
write('video/countdown.gif', gif(48, 32, 12));
write('video/pulse.gif', gif(64, 64, 24));
write('doc/release-notes.pdf', pdf('Release notes', ['aem-upload-rs sample document', 'Uploaded by npm start', 'to a local AEM emulator']));
write('doc/inventory.csv', ['sku,name,quantity', ...Array.from({ length: 40 }, (_, i) => `SKU-${1000 + i},Item ${i},${(i * 37) % 101}`)].join('\n') + '\n');
write('doc/metadata.json', `${JSON.stringify({ campaign: 'autumn', locales: ['en', 'de', 'fr', 'ja'], approved: true }, null, 2)}\n`);
write('doc/README.txt', 'Sample assets for aem-upload-rs: generated by scripts/make-sample-assets.js.\n');
console.log(`wrote ${OUT}`);
