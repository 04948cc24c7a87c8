// Calibration samples from files: raw little-endian float32 .bin, NumPy .npy
// (float32/float64, C order), CSV (one sample a line) or JSON (an array of
// samples, each an array of numbers, nested arrays flattened). A directory means
// every such file in it, in name order. Every sample must have exactly the
// model input's element count and only finite values.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { QieError } from '../errors';

const EXTENSIONS = ['.bin', '.npy', '.csv', '.json'];

function bad(message: string): never {
  throw new QieError('bad_input', message);
}

function split(values: Float32Array, elements: number, where: string): Float32Array[] {
  if (values.length === 0) bad(`${where}: no calibration values`);
  if (values.length % elements !== 0)
    bad(`${where}: ${values.length} values is not a whole number of samples of ${elements} values (the model input's element count)`);
  const out: Float32Array[] = [];
  for (let i = 0; i < values.length; i += elements) out.push(values.slice(i, i + elements));
  return out;
}

function fromBin(buf: Buffer, elements: number, where: string): Float32Array[] {
  if (buf.length % 4 !== 0) bad(`${where}: ${buf.length} bytes is not a whole number of float32 values`);
  const f = new Float32Array(buf.length / 4);
  for (let i = 0; i < f.length; i++) f[i] = buf.readFloatLE(i * 4);
  return split(f, elements, where);
}

/** .npy version 1-3: magic, version, header length, a Python dict literal header, then the data. */
function fromNpy(buf: Buffer, elements: number, where: string): Float32Array[] {
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') bad(`${where}: not a .npy file (bad magic)`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.length >= 12 ? buf.readUInt32LE(8) : bad(`${where}: truncated .npy header`);
  const start = (major === 1 ? 10 : 12) + headerLen;
  if (start > buf.length) bad(`${where}: truncated .npy header`);
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  if (/'fortran_order':\s*True/.test(header)) bad(`${where}: Fortran-order .npy arrays are not supported; save with C order`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shape === undefined) bad(`${where}: .npy header lacks descr or shape`);
  const count = shape.split(',').filter((s) => s.trim()).reduce((a, s) => a * Number(s), 1);
  const width = descr === '<f4' ? 4 : descr === '<f8' ? 8 : bad(`${where}: .npy dtype ${descr} is not supported (use little-endian float32 or float64)`);
  if (buf.length - start !== count * width) bad(`${where}: .npy data is ${buf.length - start} bytes, its shape (${shape}) needs ${count * width}`);
  const f = new Float32Array(count);
  for (let i = 0; i < count; i++) f[i] = width === 4 ? buf.readFloatLE(start + 4 * i) : buf.readDoubleLE(start + 8 * i);
  return split(f, elements, where);
}

function numbers(x: unknown, out: number[], where: string): void {
  if (typeof x === 'number') out.push(x);
  else if (Array.isArray(x)) for (const v of x) numbers(v, out, where);
  else if (x === null) out.push(NaN);
  else bad(`${where}: expected numbers, found ${typeof x}`);
}

function fromJson(text: string, elements: number, where: string): Float32Array[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    bad(`${where}: invalid JSON (${(e as Error).message})`);
  }
  const list = Array.isArray(doc) ? doc : (doc as { samples?: unknown })?.samples;
  if (!Array.isArray(list)) bad(`${where}: expected an array of samples (or { "samples": [...] })`);
  if (list.length === 0) bad(`${where}: no calibration samples`);
  // A flat array of numbers is one sample or several back to back.
  if (list.every((v) => typeof v === 'number')) return split(Float32Array.from(list as number[]), elements, where);
  return list.map((s, i) => {
    const flat: number[] = [];
    numbers(s, flat, `${where} sample ${i}`);
    if (flat.length !== elements) bad(`${where} sample ${i}: ${flat.length} values, the model input needs ${elements}`);
    return Float32Array.from(flat);
  });
}

function fromCsv(text: string, elements: number, where: string): Float32Array[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  // a header line of names is skipped
  if (lines.length && lines[0].split(',').some((c) => c.trim() !== '' && Number.isNaN(Number(c)) && !/^nan$/i.test(c.trim()))) lines.shift();
  if (lines.length === 0) bad(`${where}: no calibration samples`);
  return lines.map((l, i) => {
    const cells = l.split(',').map((c) => c.trim());
    if (cells.length !== elements) bad(`${where} line ${i + 1}: ${cells.length} values, the model input needs ${elements}`);
    return Float32Array.from(cells, (c) => {
      const v = Number(c);
      // NaN written as such is reported by the finiteness check; anything else is not a number
      if (c === '' || (Number.isNaN(v) && !/^nan$/i.test(c))) bad(`${where} line ${i + 1}: ${JSON.stringify(c)} is not a number`);
      return v;
    });
  });
}

function readFile(file: string, elements: number): Float32Array[] {
  const ext = path.extname(file).toLowerCase();
  const buf = readFileSync(file);
  switch (ext) {
    case '.npy':
      return fromNpy(buf, elements, file);
    case '.json':
      return fromJson(buf.toString('utf8'), elements, file);
    case '.csv':
      return fromCsv(buf.toString('utf8'), elements, file);
    default:
      return fromBin(buf, elements, file);
  }
}

/** Checks a sample set: not empty, right size, finite. */
export function checkSamples(samples: Float32Array[], elements: number, where = 'calibration data'): Float32Array[] {
  if (samples.length === 0) bad(`${where}: no calibration samples`);
  samples.forEach((s, i) => {
    if (s.length !== elements) bad(`${where} sample ${i}: ${s.length} values, the model input needs ${elements}`);
    for (let k = 0; k < s.length; k++) {
      if (!Number.isFinite(s[k])) bad(`${where} sample ${i}: value ${k} is ${s[k]} (calibration data must be finite numbers)`);
    }
  });
  return samples;
}

/** Reads calibration samples for an input of `elements` values from a file or a directory. */
export function readSamples(source: string, elements: number): Float32Array[] {
  let st;
  try {
    st = statSync(source);
  } catch {
    bad(`calibration data ${source}: no such file or directory`);
  }
  const samples: Float32Array[] = [];
  if (st.isDirectory()) {
    const files = readdirSync(source)
      .filter((f) => EXTENSIONS.includes(path.extname(f).toLowerCase()))
      .sort();
    if (files.length === 0) bad(`calibration directory ${source} holds no ${EXTENSIONS.join('/')} files`);
    for (const f of files) {
      const file = path.join(source, f);
      for (const s of checkSamples(readFile(file, elements), elements, file)) samples.push(s);
    }
  } else {
    samples.push(...checkSamples(readFile(source, elements), elements, source));
  }
  return checkSamples(samples, elements, source);
}
