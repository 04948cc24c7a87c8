// TFLite int8 quantization parameters: asymmetric int8 activations from a real
// range, symmetric int8 weights (per tensor or per channel), int32 biases at
// input_scale * weight_scale. Scales are rounded to float32 here because that is
// what the file stores: everything downstream sees the stored value.
import { Quant } from '../model/ir';

export interface Range {
  lo: number;
  hi: number;
}

export interface QParams {
  scale: number;
  zeroPoint: number;
}

const INT32_MAX = 2 ** 31 - 1;

/** int8 asymmetric parameters covering [lo, hi], widened to include 0 (so 0 is exact). */
export function activationParams(r: Range): QParams {
  const lo = Math.min(r.lo, 0);
  let hi = Math.max(r.hi, 0);
  // An all-zero tensor still needs a positive scale; any will do, it only ever holds 0.
  if (!(hi - lo > 1e-30)) hi = lo + 1;
  const scale = Math.fround((hi - lo) / 255);
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - lo / scale))) || 0; // never -0
  return { scale, zeroPoint };
}

export function perTensor(p: QParams): Quant {
  return { scales: [p.scale], zeroPoints: [p.zeroPoint], axis: -1 };
}

/** TFLite's rounding: half away from zero. */
export const roundAway = (x: number): number => Math.sign(x) * Math.round(Math.abs(x));

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

export function quantizeValue(x: number, p: QParams, lo = -128, hi = 127): number {
  return clamp(roundAway(x / p.scale) + p.zeroPoint, lo, hi);
}

export interface QuantizedWeights {
  data: Int8Array;
  quant: Quant;
}

/**
 * Symmetric int8 weights in [-127, 127]. axis -1: one scale; otherwise one scale
 * per index of that axis. minScales (per channel) raises a scale where the bias
 * would not fit in int32 otherwise.
 */
export function symmetricWeights(w: Float32Array, shape: number[], axis: number, minScales?: number[]): QuantizedWeights {
  const channels = axis < 0 ? 1 : shape[axis];
  // elements of one channel index are `inner` apart, in runs of `inner`
  const inner = axis < 0 ? w.length : shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => (axis < 0 ? 0 : Math.floor(i / inner) % channels);
  const maxAbs = new Array<number>(channels).fill(0);
  for (let i = 0; i < w.length; i++) maxAbs[channelOf(i)] = Math.max(maxAbs[channelOf(i)], Math.abs(w[i]));
  const scales = maxAbs.map((m, c) => {
    // An all-zero channel quantizes to zeros with any scale.
    let s = m > 0 ? m / 127 : 1;
    if (minScales && minScales[c] > s) s = minScales[c];
    return Math.fround(s);
  });
  const data = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) data[i] = clamp(roundAway(w[i] / scales[channelOf(i)]), -127, 127);
  return { data, quant: { scales, zeroPoints: scales.map(() => 0), axis: axis < 0 ? -1 : axis } };
}

/** The smallest weight scale per channel that keeps round(bias / (inScale * wScale)) inside int32. */
export function biasMinScales(bias: Float32Array | undefined, inScale: number, channels: number): number[] | undefined {
  if (!bias) return undefined;
  return Array.from({ length: channels }, (_, c) => (Math.abs(bias[bias.length === 1 ? 0 : c]) / (inScale * INT32_MAX)) * 1.0001);
}

export function quantizeBias(bias: Float32Array, inScale: number, wScales: number[]): { data: Int32Array; quant: Quant } {
  const scales = bias.map((_, c) => Math.fround(inScale * wScales[wScales.length === 1 ? 0 : c]));
  const data = Int32Array.from(bias, (b, c) => clamp(roundAway(b / scales[c]), -INT32_MAX, INT32_MAX));
  const perChannel = wScales.length > 1;
  return {
    data,
    quant: perChannel ? { scales: Array.from(scales), zeroPoints: Array.from(scales, () => 0), axis: 0 } : { scales: [scales[0]], zeroPoints: [0], axis: -1 },
  };
}
