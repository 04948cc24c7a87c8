// Frame payload -> sample values. Binary payloads hold whole samples of `channels`
// little-endian values (int8, int16 or float32), interleaved; text lines hold
// comma-separated numbers, a whole number of samples per line.
import type { BadFrameKind } from './framing';

export type SampleFormat = 'int8' | 'int16' | 'float32';
export const SAMPLE_BYTES: Record<SampleFormat, number> = { int8: 1, int16: 2, float32: 4 };

export type Decoded = { ok: true; values: Float32Array } | { ok: false; kind: BadFrameKind };

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function decodeText(payload: Uint8Array, channels: number): Decoded {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return { ok: false, kind: 'parse' };
  }
  const fields = text.split(',');
  if (fields.length % channels !== 0) return { ok: false, kind: 'length' };
  const values = new Float32Array(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i].trim();
    if (!NUMBER.test(f)) return { ok: false, kind: 'parse' };
    const v = Number(f);
    if (!Number.isFinite(v)) return { ok: false, kind: 'parse' };
    values[i] = v;
  }
  return { ok: true, values };
}

export function decodeBinary(payload: Uint8Array, format: SampleFormat, channels: number): Decoded {
  const size = SAMPLE_BYTES[format];
  if (payload.length === 0 || payload.length % (size * channels) !== 0) return { ok: false, kind: 'length' };
  const n = payload.length / size;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = format === 'int8' ? view.getInt8(i) : format === 'int16' ? view.getInt16(2 * i, true) : view.getFloat32(4 * i, true);
    if (!Number.isFinite(v)) return { ok: false, kind: 'parse' };
    values[i] = v;
  }
  return { ok: true, values };
}

/** Sample values -> payload bytes (the simulator's and the tests' side). */
export function encodeBinary(values: ArrayLike<number>, format: SampleFormat): Uint8Array {
  const size = SAMPLE_BYTES[format];
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (format === 'int8') view.setInt8(i, Math.max(-128, Math.min(127, Math.round(v))));
    else if (format === 'int16') view.setInt16(2 * i, Math.max(-32768, Math.min(32767, Math.round(v))), true);
    else view.setFloat32(4 * i, v, true);
  }
  return out;
}
