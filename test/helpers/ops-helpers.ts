// Helpers of test/ops.test.ts: build a one-op TFLite model, load it with the ref
// kernels, run it; and small independent TypeScript versions of TFLite's
// arithmetic (gemmlowp fixed point, quantization) to derive expected outputs.
//
// The fixed-point helpers are written from TFLite's / gemmlowp's definitions with
// BigInt, not from qie's C code, so they are an independent check of it.
import { loadModel, Model, TypedArray } from '../../src';
import { buildTflite, f32, i8, i32, i64, OptionValue, TflModelSpec, TflTensorSpec } from './tflite-builder';

// ---------------------------------------------------------------- models

export interface OneOpSpec {
  op: string;
  /** Op inputs in order; null = absent optional input (-1). Tensors without data become model inputs. */
  ins: (TflTensorSpec | null)[];
  outs: TflTensorSpec[];
  options?: Record<string, OptionValue>;
}

/** The TFLite model of one op: tensors are ins then outs; non-constant, non-variable ins are the model inputs. */
export function oneOpModel(s: OneOpSpec): TflModelSpec {
  const tensors: TflTensorSpec[] = [];
  const opInputs: number[] = [];
  const modelInputs: number[] = [];
  for (const t of s.ins) {
    if (!t) {
      opInputs.push(-1);
      continue;
    }
    const k = tensors.push(t) - 1;
    opInputs.push(k);
    if (!t.data && !t.variable) modelInputs.push(k);
  }
  const outputs = s.outs.map((t) => tensors.push(t) - 1);
  return {
    tensors,
    operators: [{ op: s.op, inputs: opInputs, outputs, options: s.options }],
    inputs: modelInputs,
    outputs,
  };
}

/** Loads a model spec with the reference kernels (the caller disposes). */
export function load(spec: TflModelSpec): Promise<Model> {
  return loadModel(buildTflite(spec), { kernels: 'ref' });
}

/** Builds, loads, runs once, disposes. */
export async function runModel(spec: TflModelSpec, feeds: ArrayBufferView[]): Promise<TypedArray[]> {
  const m = await load(spec);
  try {
    return await m.run(feeds);
  } finally {
    m.dispose();
  }
}

/** One op, one run: the outputs as plain number arrays. */
export async function oneOp(s: OneOpSpec, feeds: ArrayBufferView[]): Promise<number[][]> {
  const outs = await runModel(oneOpModel(s), feeds);
  return outs.map((o) => (o instanceof BigInt64Array ? Array.from(o, Number) : Array.from(o as ArrayLike<number>)));
}

// ---------------------------------------------------------------- tensors

export const qt = (type: 'int8' | 'int16' | 'uint8', shape: number[], scale: number, zp: number, data?: number[]): TflTensorSpec => ({
  type,
  shape,
  quant: { scale: [scale], zeroPoint: [zp] },
  data: data === undefined ? undefined : type === 'int16' ? new Uint8Array(Int16Array.from(data).buffer) : type === 'int8' ? i8(data) : Uint8Array.from(data),
});
/** int8 tensor, per-tensor quantized. */
export const q8 = (shape: number[], scale: number, zp: number, data?: number[]) => qt('int8', shape, scale, zp, data);
/** int16 tensor, per-tensor quantized. */
export const q16 = (shape: number[], scale: number, zp: number, data?: number[]) => qt('int16', shape, scale, zp, data);
export const ft = (shape: number[], data?: number[]): TflTensorSpec => ({ type: 'float32', shape, data: data && f32(data) });
export const it32 = (shape: number[], data?: number[]): TflTensorSpec => ({ type: 'int32', shape, data: data && i32(data) });
export const it64 = (shape: number[], data?: number[]): TflTensorSpec => ({ type: 'int64', shape, data: data && i64(data) });

export const range = (n: number, from = 0, step = 1): number[] => Array.from({ length: n }, (_, k) => from + k * step);
export const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
/** Every int8 value, -128..127. */
export const ALL_INT8 = range(256, -128);

/** A fixed pseudo-random sequence of integers in [lo, hi] (LCG), for test data. */
export function ints(n: number, lo: number, hi: number, seed = 1): number[] {
  let s = seed >>> 0;
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(lo + (s % (hi - lo + 1)));
  }
  return out;
}

// ---------------------------------------------------------------- TFLite arithmetic

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** C's frexp for m > 0: m = q * 2^e with q in [0.5, 1). */
export function frexp(m: number): [number, number] {
  let e = Math.ceil(Math.log2(m));
  let q = m / 2 ** e;
  while (q >= 1) {
    q /= 2;
    e++;
  }
  while (q < 0.5) {
    q *= 2;
    e--;
  }
  return [q, e];
}

/** TFLite's QuantizeMultiplier: a Q31 multiplier and a power-of-two shift. */
export function quantizeMultiplier(m: number): [number, number] {
  if (m === 0) return [0, 0];
  let [q, e] = frexp(m);
  let qf = Math.round(q * 2 ** 31); // q > 0: Math.round agrees with round-half-away
  if (qf === 2 ** 31) {
    qf /= 2;
    e++;
  }
  if (e < -31) return [0, 0];
  return [qf, e];
}

/** gemmlowp SaturatingRoundingDoublingHighMul. */
export function srdhm(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero, like C
}

/** gemmlowp RoundingDivideByPOT. */
export function rdbp(x: number, e: number): number {
  const X = BigInt(x);
  const mask = (1n << BigInt(e)) - 1n;
  const rem = X & mask;
  const threshold = (mask >> 1n) + (X < 0n ? 1n : 0n);
  return Number((X >> BigInt(e)) + (rem > threshold ? 1n : 0n));
}

/** TFLite MultiplyByQuantizedMultiplier (double rounding). */
export function mbqm(x: number, mult: number, shift: number): number {
  const left = Math.max(shift, 0);
  const right = Math.max(-shift, 0);
  const shifted = Number(BigInt.asIntN(32, BigInt(x) << BigInt(left)));
  return rdbp(srdhm(shifted, mult), right);
}

/** mbqm with the multiplier of a real factor. */
export function requant(x: number, real: number): number {
  const [m, s] = quantizeMultiplier(real);
  return mbqm(x, m, s);
}

export const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
const roundAway = (r: number): number => Math.sign(r) * Math.round(Math.abs(r));
const F = Math.fround;

export const Q8: [number, number] = [-128, 127];
export const Q16: [number, number] = [-32768, 32767];

/** TFLite AffineQuantize: zp + round(x / scale) in float, saturated. */
export function quantizeF(x: number, scale: number, zp: number, [lo, hi]: [number, number] = Q8): number {
  return clamp(roundAway(F(F(x) / F(scale))) + zp, lo, hi);
}

export type Act = 'NONE' | 'RELU' | 'RELU6' | 'RELU_N1_TO_1';

/** TFLite CalculateActivationRangeQuantized. */
export function actRangeQ(act: Act, scale: number, zp: number, [lo, hi]: [number, number] = Q8): [number, number] {
  const q = (f: number) => zp + roundAway(F(F(f) / F(scale)));
  if (act === 'RELU') return [Math.max(lo, q(0)), hi];
  if (act === 'RELU6') return [Math.max(lo, q(0)), Math.min(hi, q(6))];
  if (act === 'RELU_N1_TO_1') return [Math.max(lo, q(-1)), Math.min(hi, q(1))];
  return [lo, hi];
}

export function actF(act: Act, v: number): number {
  if (act === 'RELU') return Math.max(0, v);
  if (act === 'RELU6') return clamp(v, 0, 6);
  if (act === 'RELU_N1_TO_1') return clamp(v, -1, 1);
  return v;
}

export interface QP {
  scale: number;
  zp: number;
}

/** reference_integer_ops::Add / Sub for one pair of values (left shift 20 for int8, 15 for int16). */
export function addSubQ(x: number, y: number, a: QP, b: QP, o: QP, sub: boolean, range: [number, number], leftShift = 20): number {
  const sa = F(a.scale);
  const sb = F(b.scale);
  const twiceMax = 2 * Math.max(sa, sb);
  const sx = requant((x - a.zp) * 2 ** leftShift, sa / twiceMax);
  const sy = requant((y - b.zp) * 2 ** leftShift, sb / twiceMax);
  const raw = sub ? sx - sy : sx + sy;
  const out = requant(raw, twiceMax / (2 ** leftShift * F(o.scale))) + o.zp;
  return clamp(out, range[0], range[1]);
}

/** reference_integer_ops::Mul for one pair of values. */
export function mulQ(x: number, y: number, a: QP, b: QP, o: QP, range: [number, number]): number {
  const out = o.zp + requant((x - a.zp) * (y - b.zp), (F(a.scale) * F(b.scale)) / F(o.scale));
  return clamp(out, range[0], range[1]);
}

/** Numpy broadcasting: out[i] = f(a[ia], b[ib]) over the broadcast shape. */
export function broadcast2(aShape: number[], a: number[], bShape: number[], b: number[], f: (x: number, y: number) => number): { shape: number[]; data: number[] } {
  const rank = Math.max(aShape.length, bShape.length);
  const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
  const as = pad(aShape);
  const bs = pad(bShape);
  const shape = as.map((d, k) => Math.max(d, bs[k]));
  const data: number[] = [];
  const idx = new Array(rank).fill(0);
  const flat = (s: number[], i: number[]) => i.reduce((acc, v, k) => acc * s[k] + (s[k] === 1 ? 0 : v), 0);
  for (let n = 0; n < size(shape); n++) {
    let r = n;
    for (let k = rank - 1; k >= 0; k--) {
      idx[k] = r % shape[k];
      r = Math.floor(r / shape[k]);
    }
    data.push(f(a[flat(as, idx)], b[flat(bs, idx)]));
  }
  return { shape, data };
}

// ---------------------------------------------------------------- conv reference

export interface ConvGeom {
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
  outH: number;
  outW: number;
}

/**
 * A plain NHWC convolution. Conv: filter OHWI [O, kh, kw, C]. Depthwise (depthMultiplier given):
 * filter [1, kh, kw, C*M], output channel c*M + m reads input channel c. Padded taps are
 * skipped (they hold the input zero point, i.e. real 0). Returns raw sums per output element,
 * accumulating fw(w) * fx(x).
 */
export function convSums(
  inShape: number[],
  x: number[],
  fShape: number[],
  w: number[],
  g: ConvGeom,
  depthMultiplier?: number,
  fx: (v: number) => number = (v) => v,
): number[] {
  const [N, H, W, C] = inShape;
  const dw = depthMultiplier !== undefined;
  const [, KH, KW] = fShape;
  const O = dw ? C * depthMultiplier! : fShape[0];
  const out: number[] = [];
  for (let n = 0; n < N; n++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++)
        for (let o = 0; o < O; o++) {
          let acc = 0;
          for (let ky = 0; ky < KH; ky++)
            for (let kx = 0; kx < KW; kx++) {
              const iy = oy * g.strideH - g.padTop + ky * g.dilationH;
              const ix = ox * g.strideW - g.padLeft + kx * g.dilationW;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              if (dw) {
                const c = Math.floor(o / depthMultiplier!);
                acc += w[(ky * KW + kx) * O + o] * fx(x[((n * H + iy) * W + ix) * C + c]);
              } else {
                for (let c = 0; c < C; c++) acc += w[((o * KH + ky) * KW + kx) * C + c] * fx(x[((n * H + iy) * W + ix) * C + c]);
              }
            }
          out.push(acc);
        }
  return out;
}

/** int8 per-channel requantization of conv sums (TFLite's reference_integer_ops::ConvPerChannel). */
export function requantPerChannel(sums: number[], bias: number[], sIn: number, sW: number[], out: QP, act: Act = 'NONE'): number[] {
  const O = sW.length;
  const [lo, hi] = actRangeQ(act, out.scale, out.zp);
  return sums.map((acc, k) => {
    const c = k % O;
    const v = requant(acc + bias[c], (F(sIn) * F(sW[c])) / F(out.scale)) + out.zp;
    return clamp(v, lo, hi);
  });
}

// ---------------------------------------------------------------- misc

/** TFLite's GetNearestNeighbor (float arithmetic, as in the reference kernel). */
export function nearestSource(x: number, inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean): number {
  const scale = alignCorners && outSize > 1 ? F(F(inSize - 1) / F(outSize - 1)) : F(F(inSize) / F(outSize));
  const offset = halfPixel ? 0.5 : 0;
  const pos = F(F(x + offset) * scale);
  let v = Math.min(alignCorners ? roundAway(pos) : Math.floor(pos), inSize - 1);
  if (halfPixel) v = Math.max(0, v);
  return v;
}

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
export const hardSwish = (x: number): number => (x * clamp(x + 3, 0, 6)) / 6;

/** Largest |got - want| over two equal-length arrays. */
export function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let worst = 0;
  for (let k = 0; k < got.length; k++) worst = Math.max(worst, Math.abs(got[k] - want[k]));
  return worst;
}
