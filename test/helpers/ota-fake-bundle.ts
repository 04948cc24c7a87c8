// Bundle-shaped files for the transfer tests: a well-formed header (magic, version,
// manifest length, manifest, 64 signature bytes) followed by random body bytes. The
// transfer only reads the header's frame; signatures are the device's business.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';

export function fakeBundle(bodyBytes: number, manifest: object = { name: 'fake', version: '1.0.0' }): Buffer {
  const m = Buffer.from(JSON.stringify(manifest));
  const fixed = Buffer.alloc(12);
  fixed.write('QIEB', 0, 'latin1');
  fixed.writeUInt16LE(1, 4);
  fixed.writeUInt32LE(m.length, 8);
  return Buffer.concat([fixed, m, randomBytes(64), randomBytes(bodyBytes)]);
}

export function writeFakeBundle(file: string, bodyBytes: number): Buffer {
  const b = fakeBundle(bodyBytes);
  writeFileSync(file, b);
  return b;
}
