// Small multi-op models that exercise every op family in one plan each, so the C
// plan fuzzer (qie-run-plan --fuzz, under sanitizers) reaches every op's prepare
// and eval, not just those of the shared models. Valid by construction:
// test/fuzz-models.test.ts loads and runs each.
import { onnxModel, T } from './onnx-build';
import { buildTflite, f32, i8, i32, TflModelSpec, TflOperatorSpec, TflTensorSpec } from './tflite-builder';

class Chain {
  readonly tensors: TflTensorSpec[] = [];
  readonly operators: TflOperatorSpec[] = [];
  t(spec: TflTensorSpec): number {
    return this.tensors.push(spec) - 1;
  }
  op(op: string, inputs: number[], outputs: number[], options?: TflOperatorSpec['options']): void {
    this.operators.push({ op, inputs, outputs, options });
  }
}

const q = (scale: number, zeroPoint: number) => ({ scale: [scale], zeroPoint: [zeroPoint] });
const ramp = (n: number, mod = 7) => Array.from({ length: n }, (_, i) => (i % mod) - 3);

/** int8 vision chain: TRANSPOSE, PAD, CONV_2D, DEPTHWISE_CONV_2D, ADD, pools, MEAN, RESHAPE, FC, SOFTMAX. */
export function visionChain(): TflModelSpec {
  const c = new Chain();
  const a = q(0.05, -3);
  const x = c.t({ name: 'x', type: 'int8', shape: [1, 3, 8, 8], quant: a });
  const perm = c.t({ name: 'perm', type: 'int32', shape: [4], data: i32([0, 2, 3, 1]) });
  const nhwc = c.t({ name: 'nhwc', type: 'int8', shape: [1, 8, 8, 3], quant: a });
  c.op('TRANSPOSE', [x, perm], [nhwc]);
  const pads = c.t({ name: 'pads', type: 'int32', shape: [4, 2], data: i32([0, 0, 1, 1, 1, 1, 0, 0]) });
  const padded = c.t({ name: 'padded', type: 'int8', shape: [1, 10, 10, 3], quant: a });
  c.op('PAD', [nhwc, pads], [padded]);
  const w = c.t({ name: 'w', type: 'int8', shape: [4, 3, 3, 3], quant: { scale: [0.01, 0.02, 0.015, 0.03], zeroPoint: [0, 0, 0, 0], axis: 0 }, data: i8(ramp(108)) });
  const b = c.t({ name: 'b', type: 'int32', shape: [4], quant: { scale: [0.0005, 0.001, 0.00075, 0.0015], zeroPoint: [0, 0, 0, 0] }, data: i32([10, -20, 30, -40]) });
  const conv = c.t({ name: 'conv', type: 'int8', shape: [1, 8, 8, 4], quant: q(0.04, -10) });
  c.op('CONV_2D', [padded, w, b], [conv], { padding: 'VALID', strideH: 1, strideW: 1, activation: 'RELU6' });
  const dw = c.t({ name: 'dw', type: 'int8', shape: [1, 3, 3, 4], quant: { scale: [0.02, 0.02, 0.01, 0.03], zeroPoint: [0, 0, 0, 0], axis: 3 }, data: i8(ramp(36, 5)) });
  const dwOut = c.t({ name: 'dwout', type: 'int8', shape: [1, 8, 8, 4], quant: q(0.03, 2) });
  c.op('DEPTHWISE_CONV_2D', [conv, dw, -1], [dwOut], { padding: 'SAME', strideH: 1, strideW: 1, depthMultiplier: 1 });
  const sum = c.t({ name: 'sum', type: 'int8', shape: [1, 8, 8, 4], quant: q(0.06, 0) });
  c.op('ADD', [conv, dwOut], [sum]);
  const avg = c.t({ name: 'avg', type: 'int8', shape: [1, 4, 4, 4], quant: q(0.06, 0) });
  c.op('AVERAGE_POOL_2D', [sum], [avg], { padding: 'VALID', strideH: 2, strideW: 2, filterH: 2, filterW: 2 });
  const mx = c.t({ name: 'max', type: 'int8', shape: [1, 2, 2, 4], quant: q(0.06, 0) });
  c.op('MAX_POOL_2D', [avg], [mx], { padding: 'SAME', strideH: 2, strideW: 2, filterH: 3, filterW: 3 });
  const axes = c.t({ name: 'axes', type: 'int32', shape: [2], data: i32([1, 2]) });
  const mean = c.t({ name: 'mean', type: 'int8', shape: [1, 1, 1, 4], quant: q(0.05, 1) });
  c.op('MEAN', [mx, axes], [mean], { keepDims: true });
  const flat = c.t({ name: 'flat', type: 'int8', shape: [1, 4], quant: q(0.05, 1) });
  c.op('RESHAPE', [mean], [flat]);
  const fw = c.t({ name: 'fw', type: 'int8', shape: [3, 4], quant: q(0.02, 0), data: i8(ramp(12)) });
  const logits = c.t({ name: 'logits', type: 'int8', shape: [1, 3], quant: q(0.1, 0) });
  c.op('FULLY_CONNECTED', [flat, fw, -1], [logits]);
  const probs = c.t({ name: 'probs', type: 'int8', shape: [1, 3], quant: q(1 / 256, -128) });
  c.op('SOFTMAX', [logits], [probs], { beta: 1 });
  return { tensors: c.tensors, operators: c.operators, inputs: [x], outputs: [probs] };
}

/** int8 elementwise chain: LOGISTIC, TANH, MUL, SUB, LEAKY_RELU, HARD_SWISH, RELU6,
 * CONCATENATION, STRIDED_SLICE, RESIZE_NEAREST_NEIGHBOR, PACK, QUANTIZE, DEQUANTIZE, SHAPE. */
export function elementwiseChain(): TflModelSpec {
  const c = new Chain();
  const a = q(0.1, 0);
  const x = c.t({ name: 'x', type: 'int8', shape: [1, 4, 4, 2], quant: a });
  const sig = c.t({ name: 'sig', type: 'int8', shape: [1, 4, 4, 2], quant: q(1 / 256, -128) });
  c.op('LOGISTIC', [x], [sig]);
  const th = c.t({ name: 'tanh', type: 'int8', shape: [1, 4, 4, 2], quant: q(1 / 128, 0) });
  c.op('TANH', [x], [th]);
  const prod = c.t({ name: 'prod', type: 'int8', shape: [1, 4, 4, 2], quant: q(1 / 128, 0) });
  c.op('MUL', [sig, th], [prod]);
  const diff = c.t({ name: 'diff', type: 'int8', shape: [1, 4, 4, 2], quant: q(0.02, 0) });
  c.op('SUB', [prod, th], [diff], { activation: 'NONE' });
  const leaky = c.t({ name: 'leaky', type: 'int8', shape: [1, 4, 4, 2], quant: q(0.02, 0) });
  c.op('LEAKY_RELU', [diff], [leaky], { alpha: 0.2 });
  const hs = c.t({ name: 'hswish', type: 'int8', shape: [1, 4, 4, 2], quant: q(0.05, -20) });
  c.op('HARD_SWISH', [x], [hs]);
  const r6 = c.t({ name: 'relu6', type: 'int8', shape: [1, 4, 4, 2], quant: q(0.05, -20) });
  c.op('RELU6', [hs], [r6]);
  const cat = c.t({ name: 'cat', type: 'int8', shape: [1, 4, 4, 4], quant: q(0.05, -20) });
  const r6b = c.t({ name: 'relu6b', type: 'int8', shape: [1, 4, 4, 2], quant: q(0.05, -20) });
  c.op('RELU', [x], [r6b]);
  c.op('CONCATENATION', [r6, r6b], [cat], { axis: -1 });
  const begin = c.t({ name: 'begin', type: 'int32', shape: [4], data: i32([0, 0, 1, 0]) });
  const end = c.t({ name: 'end', type: 'int32', shape: [4], data: i32([1, 4, 4, 3]) });
  const strides = c.t({ name: 'strides', type: 'int32', shape: [4], data: i32([1, 2, 1, 1]) });
  const sl = c.t({ name: 'slice', type: 'int8', shape: [1, 2, 3, 3], quant: q(0.05, -20) });
  c.op('STRIDED_SLICE', [cat, begin, end, strides], [sl]);
  const size = c.t({ name: 'size', type: 'int32', shape: [2], data: i32([4, 5]) });
  const big = c.t({ name: 'resized', type: 'int8', shape: [1, 4, 5, 3], quant: q(0.05, -20) });
  c.op('RESIZE_NEAREST_NEIGHBOR', [sl, size], [big], { halfPixelCenters: true });
  const packed = c.t({ name: 'packed', type: 'int8', shape: [2, 1, 4, 5, 3], quant: q(0.05, -20) });
  c.op('PACK', [big, big], [packed], { axis: 0, valuesCount: 2 });
  const wide = c.t({ name: 'wide', type: 'int16', shape: [2, 1, 4, 5, 3], quant: q(0.001, 0) });
  c.op('QUANTIZE', [packed], [wide]);
  const real = c.t({ name: 'real', type: 'float32', shape: [2, 1, 4, 5, 3] });
  c.op('DEQUANTIZE', [wide], [real]);
  const shape = c.t({ name: 'shape', type: 'int32', shape: [5] });
  c.op('SHAPE', [real], [shape], { outType: 'int32' });
  return { tensors: c.tensors, operators: c.operators, inputs: [x], outputs: [real, leaky, shape] };
}

/** float32 chain with state: FULLY_CONNECTED, SVDF (variable state), RELU_N1_TO_1, ADD with broadcasting. */
export function floatStateChain(): TflModelSpec {
  const c = new Chain();
  const x = c.t({ name: 'x', type: 'float32', shape: [1, 6] });
  const fw = c.t({ name: 'fw', type: 'float32', shape: [4, 6], data: f32(ramp(24).map((v) => v / 4)) });
  const fb = c.t({ name: 'fb', type: 'float32', shape: [4], data: f32([0.1, -0.2, 0.3, 0]) });
  const h = c.t({ name: 'h', type: 'float32', shape: [1, 4] });
  c.op('FULLY_CONNECTED', [x, fw, fb], [h], { activation: 'RELU' });
  const wf = c.t({ name: 'wf', type: 'float32', shape: [2, 4], data: f32([0.5, -0.5, 0.25, 1, -1, 0.5, 0.5, 0.25]) });
  const wt = c.t({ name: 'wt', type: 'float32', shape: [2, 3], data: f32([1, 0.5, 0.25, -1, 0.5, 2]) });
  const state = c.t({ name: 'state', type: 'float32', shape: [1, 6], variable: true });
  const sv = c.t({ name: 'svdf', type: 'float32', shape: [1, 2] });
  c.op('SVDF', [h, wf, wt, -1, state], [sv], { rank: 1 });
  const clipped = c.t({ name: 'clipped', type: 'float32', shape: [1, 2] });
  c.op('RELU_N1_TO_1', [sv], [clipped]);
  const bias = c.t({ name: 'bias', type: 'float32', shape: [2], data: f32([0.5, -0.5]) });
  const out = c.t({ name: 'out', type: 'float32', shape: [1, 2] });
  c.op('ADD', [clipped, bias], [out]);
  return { tensors: c.tensors, operators: c.operators, inputs: [x], outputs: [out] };
}

export const FUZZ_MODELS: Record<string, () => TflModelSpec> = {
  fuzz_vision: visionChain,
  fuzz_elementwise: elementwiseChain,
  fuzz_float_state: floatStateChain,
};

export function fuzzModelBytes(name: string): Uint8Array {
  return buildTflite(FUZZ_MODELS[name]());
}

/** A small QDQ/QOperator model reaching the ONNX-only int8 ops (QLINEAR_MUL, LOOKUP,
 * QLINEAR_AVERAGE_POOL, CLIP, a conv with a fused clamp) for the plan fuzzer. */
export function onnxOpsModel(): Uint8Array {
  const f = (name: string, v: number) => ({ name, type: T.FLOAT, dims: [], values: [v] });
  const u8 = (name: string, v: number) => ({ name, type: T.UINT8, dims: [], values: [v] });
  const ms = (op: string, inputs: string[], outputs: string[], attrs = {}) => ({ op, inputs, outputs, attrs, domain: 'com.microsoft' });
  return onnxModel({
    nodes: [
      ms('QLinearMul', ['x', 's', 'z', 'b', 's', 'z', 's2', 'z'], ['m']),
      ms('QLinearLeakyRelu', ['m', 's2', 'z', 's', 'z'], ['l'], { alpha: { f: 0.2 } }),
      { op: 'Clip', inputs: ['l', 'lo', 'hi'], outputs: ['c'] },
      ms('QLinearAveragePool', ['c', 's', 'z', 's2', 'z'], ['p'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
      ms('QLinearGlobalAveragePool', ['p', 's2', 'z', 's', 'z'], ['g']),
      { op: 'QLinearConv', inputs: ['x', 's', 'z', 'w', 'ws', 'wz', 's2', 'z'], outputs: ['cv'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Clip', inputs: ['cv', 'lo', 'hi'], outputs: ['cc'] },
    ],
    inputs: [
      { name: 'x', type: T.UINT8, dims: [1, 4, 6, 6] },
      { name: 'b', type: T.UINT8, dims: [1, 4, 6, 6] },
    ],
    outputs: [
      { name: 'p', type: T.UINT8, dims: [1, 4, 6, 6] },
      { name: 'g', type: T.UINT8, dims: [1, 4, 1, 1] },
      { name: 'cc', type: T.UINT8, dims: [1, 3, 6, 6] },
    ],
    initializers: [
      f('s', 0.05),
      u8('z', 120),
      f('s2', 0.08),
      u8('lo', 100),
      u8('hi', 200),
      { name: 'w', type: T.INT8, dims: [3, 4, 3, 3], values: Array.from({ length: 108 }, (_, i) => ((i * 37) % 255) - 127) },
      { name: 'ws', type: T.FLOAT, dims: [3], values: [0.01, 0.02, 0.03] },
      { name: 'wz', type: T.INT8, dims: [3], values: [0, 0, 0] },
    ],
  });
}
