// Float IR graph + activation ranges -> int8 IR graph, per TFLite's int8 scheme.
// Works on the IR only, so any importer's float graph can be quantized.
//
// Each op runs in int8 or stays float. int8 ops read int8 versions of their
// inputs and float ops float versions; where a tensor's producer and consumer
// disagree a QUANTIZE or DEQUANTIZE is inserted, so float ops form islands.
// Tensors keep their names (the comparison tools match by name); inserted
// conversions are named "<tensor>/quantized" and "<tensor>/dequantized".
import { QieError } from '../errors';
import { DType, Graph, Op, OpKind, Quant, Tensor } from '../model/ir';
import { activationParams, biasMinScales, perTensor, QParams, quantizeBias, quantizeValue, Range, symmetricWeights } from './params';

export type IoType = 'int8' | 'float';
export type Precision = 'int8' | 'float32';

export interface QuantizeGraphOptions {
  /** Model inputs and outputs in int8 (default) or float with QUANTIZE/DEQUANTIZE at the edges. */
  io?: IoType;
  /** Op index -> reason: ops to keep in float. */
  keepFloat?: Map<number, string>;
}

export interface OpDecision {
  index: number;
  name: string;
  kind: OpKind;
  /** The op's first output tensor (name as in the float graph). */
  output: string;
  precision: Precision;
  /** Why the op stays float. */
  reason?: string;
}

export interface QuantizedGraph {
  graph: Graph;
  decisions: OpDecision[];
}

/** Ops with a fixed int8 output quantization (TFLite's int8 spec). */
const FIXED_OUTPUT: Partial<Record<OpKind, QParams>> = {
  SOFTMAX: { scale: 1 / 256, zeroPoint: -128 },
  LOGISTIC: { scale: 1 / 256, zeroPoint: -128 },
  TANH: { scale: 1 / 128, zeroPoint: 0 },
};

/** Ops that move values without arithmetic: their int8 output shares the input's parameters. */
const PASS_THROUGH = new Set<OpKind>(['RESHAPE', 'MAX_POOL_2D', 'AVERAGE_POOL_2D', 'PAD', 'TRANSPOSE', 'STRIDED_SLICE', 'RESIZE_NEAREST_NEIGHBOR']);
/** Ops that join several inputs: their inputs share the output's quantization. */
const JOINING = new Set<OpKind>(['CONCATENATION', 'PACK']);
/** Elementwise ops with a free output range. */
const FREE_OUTPUT = new Set<OpKind>(['ADD', 'SUB', 'MUL', 'RELU', 'RELU6', 'RELU_N1_TO_1', 'LEAKY_RELU', 'HARD_SWISH', 'MEAN']);
const WEIGHTED = new Set<OpKind>(['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED']);

/** Whether the quantizer has an int8 rule for this op kind (others always stay float). */
export function hasInt8Rule(kind: OpKind): boolean {
  return WEIGHTED.has(kind) || FREE_OUTPUT.has(kind) || kind in FIXED_OUTPUT || PASS_THROUGH.has(kind) || JOINING.has(kind);
}

/** Ops whose precision the mixed-precision search may change (pass-through ops follow their input). */
export function isComputeOp(kind: OpKind): boolean {
  return hasInt8Rule(kind) && !PASS_THROUGH.has(kind) && !JOINING.has(kind);
}

function floatData(t: Tensor): Float32Array {
  const d = t.data!;
  return new Float32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function sameQuant(a: Quant | undefined, b: Quant | undefined): boolean {
  return !!a && !!b && a.scales.length === 1 && b.scales.length === 1 && a.scales[0] === b.scales[0] && a.zeroPoints[0] === b.zeroPoints[0];
}

class Rewriter {
  readonly tensors: Tensor[] = [];
  readonly ops: Op[] = [];
  /** float-graph tensor -> its int8 / float version in the new graph */
  private readonly q = new Map<number, number>();
  private readonly f = new Map<number, number>();
  /** float-graph tensor -> the precision its producer wrote it in */
  readonly home = new Map<number, Precision>();

  constructor(
    private readonly g: Graph,
    private readonly ranges: Map<number, Range>,
  ) {}

  add(t: Tensor): number {
    return this.tensors.push(t) - 1;
  }

  paramsOf(t: number): QParams {
    const r = this.ranges.get(t);
    if (!r) throw new QieError('internal', `no calibration range for tensor ${this.g.tensors[t].name}`);
    return activationParams(r);
  }

  /** Declares the new tensor holding float-graph tensor t in precision p (named as t). */
  define(t: number, p: Precision, quant?: Quant, dtype: DType = p): number {
    const src = this.g.tensors[t];
    const idx = this.add({ name: src.name, dtype, shape: [...src.shape], ...(quant ? { quant } : {}) });
    (p === 'int8' ? this.q : this.f).set(t, idx);
    this.home.set(t, p);
    return idx;
  }

  /** The int8 version of activation t, made by a QUANTIZE from the float one when needed. */
  int8(t: number): number {
    const have = this.q.get(t);
    if (have !== undefined) return have;
    const from = this.f.get(t)!;
    const src = this.g.tensors[t];
    const idx = this.add({ name: `${src.name}/quantized`, dtype: 'int8', shape: [...src.shape], quant: perTensor(this.paramsOf(t)) });
    this.ops.push({ kind: 'QUANTIZE', name: `QUANTIZE ${src.name}`, inputs: [from], outputs: [idx], attrs: {} });
    this.q.set(t, idx);
    return idx;
  }

  private readonly converted = new Map<string, number>();
  /** Activation t in exactly this int8 quantization: a QUANTIZE (int8 -> int8 requantizes) when it differs. */
  int8As(t: number, quant: Quant): number {
    const have = this.q.get(t);
    if (have !== undefined && sameQuant(this.tensors[have].quant, quant)) return have;
    const key = `${t}:${quant.scales[0]}:${quant.zeroPoints[0]}`;
    let idx = this.converted.get(key);
    if (idx === undefined) {
      const src = this.g.tensors[t];
      const from = have ?? this.f.get(t)!;
      idx = this.add({ name: `${src.name}/requantized`, dtype: 'int8', shape: [...src.shape], quant: { ...quant } });
      this.ops.push({ kind: 'QUANTIZE', name: `QUANTIZE ${src.name}`, inputs: [from], outputs: [idx], attrs: {} });
      this.converted.set(key, idx);
    }
    return idx;
  }

  /** The float version of activation t, made by a DEQUANTIZE from the int8 one when needed. */
  float(t: number): number {
    const have = this.f.get(t);
    if (have !== undefined) return have;
    const from = this.q.get(t)!;
    const src = this.g.tensors[t];
    const idx = this.add({ name: `${src.name}/dequantized`, dtype: 'float32', shape: [...src.shape] });
    this.ops.push({ kind: 'DEQUANTIZE', name: `DEQUANTIZE ${src.name}`, inputs: [from], outputs: [idx], attrs: {} });
    this.f.set(t, idx);
    return idx;
  }

  private readonly copies = new Map<number, number>();
  /** A constant carried over unchanged (int32 shapes, pads, axes; float weights of float ops). */
  constant(t: number): number {
    let idx = this.copies.get(t);
    if (idx === undefined) {
      const src = this.g.tensors[t];
      idx = this.add({ ...src, shape: [...src.shape] });
      this.copies.set(t, idx);
    }
    return idx;
  }
}

/** Values an op writes at run time (recurrent state is carried over like a constant: it keeps its own dtype). */
const isActivation = (g: Graph, t: number): boolean => t >= 0 && !g.tensors[t].data && !g.tensors[t].variable;
const isFloatConst = (g: Graph, t: number): boolean => t >= 0 && !!g.tensors[t].data && g.tensors[t].dtype === 'float32';

/** Why op cannot be int8 in this graph, or undefined when it can. */
function int8Obstacle(g: Graph, op: Op, home: Map<number, Precision>): string | undefined {
  if (!hasInt8Rule(op.kind)) return `no int8 rule for ${op.kind} in the quantizer`;
  for (const t of op.inputs) {
    if (t < 0) continue;
    const dt = g.tensors[t].dtype;
    // activations are float; integer constants (shapes, pads, axes) pass through as they are
    if (dt !== 'float32' && (isActivation(g, t) || (dt !== 'int32' && dt !== 'int64'))) return `input ${g.tensors[t].name} is ${dt}`;
  }
  if (op.outputs.some((t) => g.tensors[t].dtype !== 'float32')) return 'an output is not float32';
  if (WEIGHTED.has(op.kind)) {
    if (!isActivation(g, op.inputs[0]) || !isFloatConst(g, op.inputs[1])) return 'weights are not a float constant';
    if (op.inputs[2] >= 0 && !isFloatConst(g, op.inputs[2])) return 'bias is not a float constant';
  }
  if (PASS_THROUGH.has(op.kind) && home.get(op.inputs[0]) !== 'int8') return 'follows its float input';
  return undefined;
}

export function quantizeGraph(g: Graph, ranges: Map<number, Range>, opts: QuantizeGraphOptions = {}): QuantizedGraph {
  // A float graph computes the same under either semantics; the int8 result follows TFLite's.
  if (g.semantics !== 'tflite' && g.tensors.some((t) => t.quant)) throw new QieError('unsupported_op', 'the quantizer takes float graphs; this ONNX graph is already quantized');
  const io = opts.io ?? 'int8';
  const keep = opts.keepFloat ?? new Map<number, string>();
  const w = new Rewriter(g, shareJoinedRanges(g, ranges));
  const inputs = g.inputs.map((t) => {
    if (g.tensors[t].dtype !== 'float32') throw new QieError('unsupported_op', `model input ${g.tensors[t].name} is ${g.tensors[t].dtype}; the quantizer takes float models`);
    return io === 'int8' ? w.define(t, 'int8', perTensor(w.paramsOf(t))) : w.define(t, 'float32');
  });

  const decisions: OpDecision[] = [];
  g.ops.forEach((op, index) => {
    const reason = keep.get(index) ?? int8Obstacle(g, op, w.home);
    const precision: Precision = reason ? 'float32' : 'int8';
    decisions.push({ index, name: op.name, kind: op.kind, output: g.tensors[op.outputs[0]].name, precision, ...(reason ? { reason } : {}) });
    if (precision === 'float32') emitFloat(g, w, op);
    else emitInt8(g, w, op);
  });

  const outputs = g.outputs.map((t) => (io === 'int8' ? w.int8(t) : w.float(t)));
  const graph: Graph = {
    tensors: w.tensors,
    ops: w.ops,
    inputs,
    outputs,
    semantics: 'tflite',
    source: { format: 'tflite', description: `${g.source.description ?? 'model'} (int8, qie quantizer)` },
  };
  return { graph, decisions };
}

function emitFloat(g: Graph, w: Rewriter, op: Op): void {
  const inputs = op.inputs.map((t) => (t < 0 ? -1 : isActivation(g, t) ? w.float(t) : w.constant(t)));
  // Non-float outputs (SHAPE's int32) keep their dtype; they count as the float side.
  const outputs = op.outputs.map((t) => w.define(t, 'float32', undefined, g.tensors[t].dtype));
  w.ops.push({ ...op, inputs, outputs, attrs: { ...op.attrs } });
}

/** A float constant as int8, per tensor: in the given parameters, or its own range's. */
function constantInt8(g: Graph, w: Rewriter, t: number, p?: QParams): number {
  const c = g.tensors[t];
  if (c.dtype !== 'float32') return w.constant(t);
  const values = floatData(c);
  let lo = 0, hi = 0;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const params = p ?? activationParams({ lo, hi });
  const data = Int8Array.from(values, (v) => quantizeValue(v, params));
  return w.add({ name: c.name, dtype: 'int8', shape: [...c.shape], quant: perTensor(params), data: bytesOf(data) });
}

/**
 * CONCATENATION and PACK copy bytes, so their inputs and output share one
 * quantization. Give every tensor of such a group (and, up through pass-through
 * ops, the tensors those inherit from) the union of their ranges: their producers
 * then write the shared parameters directly and no requantization is needed,
 * except after ops with a fixed output quantization.
 */
function shareJoinedRanges(g: Graph, ranges: Map<number, Range>): Map<number, Range> {
  const out = new Map(ranges);
  const producer = new Map<number, Op>();
  for (const op of g.ops) for (const t of op.outputs) producer.set(t, op);
  const collect = (t: number, group: Set<number>): void => {
    if (group.has(t)) return;
    group.add(t);
    const p = producer.get(t);
    if (p && PASS_THROUGH.has(p.kind) && isActivation(g, p.inputs[0])) collect(p.inputs[0], group);
  };
  for (let round = 0; round < 8; round++) {
    let changed = false;
    for (const op of g.ops) {
      if (!JOINING.has(op.kind)) continue;
      const group = new Set<number>();
      collect(op.outputs[0], group);
      for (const t of op.inputs) if (isActivation(g, t)) collect(t, group);
      let lo = Infinity, hi = -Infinity;
      for (const t of group) {
        const r = out.get(t);
        if (r) {
          lo = Math.min(lo, r.lo);
          hi = Math.max(hi, r.hi);
        }
      }
      if (!(lo <= hi)) continue;
      for (const t of group) {
        const r = out.get(t);
        if (!r || r.lo !== lo || r.hi !== hi) {
          out.set(t, { lo, hi });
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  return out;
}

function emitInt8(g: Graph, w: Rewriter, op: Op): void {
  const out = op.outputs[0];
  if (WEIGHTED.has(op.kind)) {
    const x = w.int8(op.inputs[0]);
    const inScale = w.tensors[x].quant!.scales[0];
    const wt = g.tensors[op.inputs[1]];
    const axis = op.kind === 'CONV_2D' ? 0 : op.kind === 'DEPTHWISE_CONV_2D' ? 3 : -1;
    const channels = axis < 0 ? 1 : wt.shape[axis];
    const bias = op.inputs[2] >= 0 ? floatData(g.tensors[op.inputs[2]]) : undefined;
    // Per-tensor weights: the one scale must fit the largest bias.
    const minScales = axis < 0 && bias ? [Math.max(...(biasMinScales(bias, inScale, bias.length) ?? [0]))] : biasMinScales(bias, inScale, channels);
    const qw = symmetricWeights(floatData(wt), wt.shape, axis, minScales);
    const wIdx = w.add({ name: wt.name, dtype: 'int8', shape: [...wt.shape], quant: qw.quant, data: bytesOf(qw.data) });
    let bIdx = -1;
    if (bias) {
      const bt = g.tensors[op.inputs[2]];
      const qb = quantizeBias(bias, inScale, qw.quant.scales);
      bIdx = w.add({ name: bt.name, dtype: 'int32', shape: [...bt.shape], quant: qb.quant, data: bytesOf(qb.data) });
    }
    const y = w.define(out, 'int8', perTensor(w.paramsOf(out)));
    w.ops.push({ ...op, inputs: op.inputs.length > 2 ? [x, wIdx, bIdx] : [x, wIdx], outputs: [y], attrs: { ...op.attrs } });
    return;
  }
  if (JOINING.has(op.kind)) {
    // CONCATENATION/PACK copy bytes: every input must arrive in the output's quantization.
    const quant = perTensor(w.paramsOf(out));
    const inputs = op.inputs.map((t) => (isActivation(g, t) ? w.int8As(t, quant) : constantInt8(g, w, t, { scale: quant.scales[0], zeroPoint: quant.zeroPoints[0] })));
    w.ops.push({ ...op, inputs, outputs: [w.define(out, 'int8', quant)], attrs: { ...op.attrs } });
    return;
  }
  const inputs = op.inputs.map((t, k) => {
    if (t < 0) return -1;
    if (isActivation(g, t)) return w.int8(t);
    const c = g.tensors[t];
    if (c.dtype !== 'float32') return w.constant(t);
    // A float constant operand (ADD's bias-like term, PADV2's pad value): int8, per tensor.
    if (op.kind === 'PAD' && k === 2) {
      const q = w.tensors[w.int8(op.inputs[0])].quant!;
      return constantInt8(g, w, t, { scale: q.scales[0], zeroPoint: q.zeroPoints[0] });
    }
    return constantInt8(g, w, t);
  });
  let quant: Quant;
  const fixed = FIXED_OUTPUT[op.kind];
  if (fixed) quant = perTensor({ scale: Math.fround(fixed.scale), zeroPoint: fixed.zeroPoint });
  else if (PASS_THROUGH.has(op.kind)) quant = { ...w.tensors[inputs[0]].quant! };
  else quant = perTensor(w.paramsOf(out));
  const y = w.define(out, 'int8', quant);
  w.ops.push({ ...op, inputs, outputs: [y], attrs: { ...op.attrs } });
}
