// Typed arrays per dtype, and the quantize/dequantize helpers of the public API.
import { QieError } from '../errors';
import type { DType } from '../model/ir';

export type TypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Float32Array
  | BigInt64Array;

type Ctor = { new (b: ArrayBuffer, off?: number, len?: number): TypedArray; BYTES_PER_ELEMENT: number };

export const TYPED_ARRAY: Record<DType, Ctor> = {
  float32: Float32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
};

export function asBytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

export interface QuantParams {
  scale: number;
  zeroPoint: number;
  dtype?: 'int8' | 'uint8' | 'int16';
}

const RANGE = { int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767] } as const;

/** Real values -> quantized, TFLite's way: zeroPoint + round(x / scale) (ties away from zero), saturated. */
export function quantize(values: ArrayLike<number>, p: QuantParams): Int8Array | Uint8Array | Int16Array {
  const dtype = p.dtype ?? 'int8';
  if (!(p.scale > 0) || !Number.isFinite(p.scale)) throw new QieError('bad_input', `quantize: scale must be a positive number, got ${p.scale}`);
  const [lo, hi] = RANGE[dtype];
  const out = new (TYPED_ARRAY[dtype] as unknown as { new (n: number): Int8Array | Uint8Array | Int16Array })(values.length);
  const scale = Math.fround(p.scale);
  for (let i = 0; i < values.length; i++) {
    const r = Math.fround(Math.fround(values[i]) / scale);
    const q = Number.isNaN(r) ? 0 : Math.sign(r) * Math.round(Math.abs(r));
    out[i] = Math.min(hi, Math.max(lo, q + p.zeroPoint));
  }
  return out;
}

/** Quantized -> real values: scale * (q - zeroPoint). */
export function dequantize(values: ArrayLike<number>, p: { scale: number; zeroPoint: number }): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.fround(p.scale) * (values[i] - p.zeroPoint);
  return out;
}

/** Index of the largest value (the first on ties): a classifier's answer. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
