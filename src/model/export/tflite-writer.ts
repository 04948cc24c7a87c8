// A TFLite flatbuffer writer (schema 3, identifier "TFL3", buffer 0 empty) with the
// builtin options tables of the ops qie imports. Used by the demo model maker and the
// tests; the quantization toolchain writes its models with it (through
// graph-to-tflite.ts).
//
//   buildTflite({
//     tensors: [
//       { name: 'x', type: 'int8', shape: [1, 4, 4, 1], quant: { scale: [0.5], zeroPoint: [-1] } },
//       { name: 'w', type: 'int8', shape: [2, 3, 3, 1], quant: { scale: [0.1, 0.2], zeroPoint: [0, 0], axis: 0 }, data },
//       ...
//     ],
//     operators: [{ op: 'CONV_2D', inputs: [0, 1, 2], outputs: [3], options: { padding: 'SAME', strideH: 2, strideW: 2 } }],
//     inputs: [0], outputs: [3],
//   });
import { Builder } from 'flatbuffers';
import {
  F_BUFFER,
  F_CONCAT,
  F_CONV,
  F_DWCONV,
  F_ELTWISE,
  F_FC,
  F_LEAKY_RELU,
  F_LSTM,
  F_MODEL,
  F_OPCODE,
  F_OPERATOR,
  F_PACK,
  F_POOL,
  F_QUANT,
  F_REDUCER,
  F_RESIZE_NN,
  F_SHAPE,
  F_SOFTMAX,
  F_STRIDED_SLICE,
  F_SUBGRAPH,
  F_SVDF,
  F_TENSOR,
  OPT,
  PLACEHOLDER_FOR_GREATER_OP_CODES,
  TT,
  builtinCode,
} from '../import/tflite-schema';

export type TflType =
  | 'float32'
  | 'float16'
  | 'int32'
  | 'uint8'
  | 'int64'
  | 'string'
  | 'bool'
  | 'int16'
  | 'int8'
  | 'uint16'
  | 'float64';

const TYPE_CODES: Record<TflType, number> = {
  float32: TT.FLOAT32,
  float16: TT.FLOAT16,
  int32: TT.INT32,
  uint8: TT.UINT8,
  int64: TT.INT64,
  string: TT.STRING,
  bool: TT.BOOL,
  int16: TT.INT16,
  int8: TT.INT8,
  uint16: TT.UINT16,
  float64: TT.FLOAT64,
};

export interface TflTensorSpec {
  name?: string;
  type: TflType;
  shape: number[];
  quant?: { scale: number[]; zeroPoint: number[]; axis?: number };
  /** Constant contents (little-endian bytes); omit for activations. */
  data?: Uint8Array;
  variable?: boolean;
}

export type OptionValue = number | boolean | string;

export interface TflOperatorSpec {
  /** TFLite builtin name ('CONV_2D', 'PADV2', ...) or 'CUSTOM' (with `custom`). */
  op: string;
  inputs: number[];
  outputs: number[];
  /**
   * Builtin options, camelCase: padding ('SAME' | 'VALID'), strideH, strideW, dilationH, dilationW,
   * activation ('NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT' or its number),
   * filterH, filterW, depthMultiplier, keepNumDims, weightsFormat, beta, alpha, axis, valuesCount,
   * keepDims, beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask, offset, alignCorners,
   * halfPixelCenters, rank, timeMajor, cellClip, projClip, outType (a TflType).
   */
  options?: Record<string, OptionValue>;
  /** Write no options table at all (to test defaults). */
  noOptions?: boolean;
  /** Write this BuiltinOptions union type instead of the right one (to test malformed files). */
  optionsTypeOverride?: number;
  custom?: string;
}

export interface TflModelSpec {
  tensors: TflTensorSpec[];
  operators: TflOperatorSpec[];
  inputs: number[];
  outputs: number[];
  description?: string;
  /** Schema version to write (default 3). */
  version?: number;
  /** Store constant data after the flatbuffer (the >2 GB layout: Buffer.offset/size). */
  externalData?: boolean;
}

type FieldKind = 'i8' | 'i32' | 'f32' | 'bool' | 'padding' | 'act' | 'type';
interface OptionsLayout {
  type: number;
  fields: Record<string, [slot: number, kind: FieldKind, def: number]>;
}

const CONV_FIELDS: OptionsLayout['fields'] = {
  padding: [F_CONV.padding, 'padding', 0],
  strideW: [F_CONV.strideW, 'i32', 0],
  strideH: [F_CONV.strideH, 'i32', 0],
  activation: [F_CONV.activation, 'act', 0],
  dilationW: [F_CONV.dilationW, 'i32', 1],
  dilationH: [F_CONV.dilationH, 'i32', 1],
};
const ELT = (type: number): OptionsLayout => ({ type, fields: { activation: [F_ELTWISE.activation, 'act', 0] } });
const EMPTY = (type: number): OptionsLayout => ({ type, fields: {} });

/** Options table written per op, with the values tests most often want as defaults. */
const LAYOUTS: Record<string, { layout: OptionsLayout; defaults?: Record<string, OptionValue> }> = {
  CONV_2D: { layout: { type: OPT.Conv2DOptions, fields: CONV_FIELDS }, defaults: { strideH: 1, strideW: 1 } },
  DEPTHWISE_CONV_2D: {
    layout: {
      type: OPT.DepthwiseConv2DOptions,
      fields: {
        padding: [F_DWCONV.padding, 'padding', 0],
        strideW: [F_DWCONV.strideW, 'i32', 0],
        strideH: [F_DWCONV.strideH, 'i32', 0],
        depthMultiplier: [F_DWCONV.depthMultiplier, 'i32', 0],
        activation: [F_DWCONV.activation, 'act', 0],
        dilationW: [F_DWCONV.dilationW, 'i32', 1],
        dilationH: [F_DWCONV.dilationH, 'i32', 1],
      },
    },
    defaults: { strideH: 1, strideW: 1, depthMultiplier: 1 },
  },
  AVERAGE_POOL_2D: { layout: poolLayout(), defaults: { strideH: 1, strideW: 1, filterH: 1, filterW: 1 } },
  MAX_POOL_2D: { layout: poolLayout(), defaults: { strideH: 1, strideW: 1, filterH: 1, filterW: 1 } },
  FULLY_CONNECTED: {
    layout: {
      type: OPT.FullyConnectedOptions,
      fields: {
        activation: [F_FC.activation, 'act', 0],
        weightsFormat: [F_FC.weightsFormat, 'i8', 0],
        keepNumDims: [F_FC.keepNumDims, 'bool', 0],
      },
    },
  },
  ADD: { layout: ELT(OPT.AddOptions) },
  SUB: { layout: ELT(OPT.SubOptions) },
  MUL: { layout: ELT(OPT.MulOptions) },
  RESHAPE: { layout: EMPTY(OPT.ReshapeOptions) },
  SQUEEZE: { layout: EMPTY(OPT.SqueezeOptions) },
  EXPAND_DIMS: { layout: EMPTY(OPT.ExpandDimsOptions) },
  SOFTMAX: { layout: { type: OPT.SoftmaxOptions, fields: { beta: [F_SOFTMAX.beta, 'f32', 0] } }, defaults: { beta: 1 } },
  LEAKY_RELU: { layout: { type: OPT.LeakyReluOptions, fields: { alpha: [F_LEAKY_RELU.alpha, 'f32', 0] } } },
  HARD_SWISH: { layout: EMPTY(OPT.HardSwishOptions) },
  PAD: { layout: EMPTY(OPT.PadOptions) },
  PADV2: { layout: EMPTY(OPT.PadV2Options) },
  TRANSPOSE: { layout: EMPTY(OPT.TransposeOptions) },
  MEAN: { layout: { type: OPT.ReducerOptions, fields: { keepDims: [F_REDUCER.keepDims, 'bool', 0] } } },
  CONCATENATION: {
    layout: {
      type: OPT.ConcatenationOptions,
      fields: { axis: [F_CONCAT.axis, 'i32', 0], activation: [F_CONCAT.activation, 'act', 0] },
    },
  },
  PACK: {
    layout: { type: OPT.PackOptions, fields: { valuesCount: [F_PACK.valuesCount, 'i32', 0], axis: [F_PACK.axis, 'i32', 0] } },
  },
  SHAPE: { layout: { type: OPT.ShapeOptions, fields: { outType: [F_SHAPE.outType, 'type', 0] } } },
  STRIDED_SLICE: {
    layout: {
      type: OPT.StridedSliceOptions,
      fields: {
        beginMask: [F_STRIDED_SLICE.beginMask, 'i32', 0],
        endMask: [F_STRIDED_SLICE.endMask, 'i32', 0],
        ellipsisMask: [F_STRIDED_SLICE.ellipsisMask, 'i32', 0],
        newAxisMask: [F_STRIDED_SLICE.newAxisMask, 'i32', 0],
        shrinkAxisMask: [F_STRIDED_SLICE.shrinkAxisMask, 'i32', 0],
        offset: [F_STRIDED_SLICE.offset, 'bool', 0],
      },
    },
  },
  RESIZE_NEAREST_NEIGHBOR: {
    layout: {
      type: OPT.ResizeNearestNeighborOptions,
      fields: {
        alignCorners: [F_RESIZE_NN.alignCorners, 'bool', 0],
        halfPixelCenters: [F_RESIZE_NN.halfPixelCenters, 'bool', 0],
      },
    },
  },
  QUANTIZE: { layout: EMPTY(OPT.QuantizeOptions) },
  DEQUANTIZE: { layout: EMPTY(OPT.DequantizeOptions) },
  SVDF: {
    layout: { type: OPT.SVDFOptions, fields: { rank: [F_SVDF.rank, 'i32', 0], activation: [F_SVDF.activation, 'act', 0] } },
    defaults: { rank: 1 },
  },
  UNIDIRECTIONAL_SEQUENCE_LSTM: {
    layout: {
      type: OPT.UnidirectionalSequenceLSTMOptions,
      fields: {
        activation: [F_LSTM.activation, 'act', 0],
        cellClip: [F_LSTM.cellClip, 'f32', 0],
        projClip: [F_LSTM.projClip, 'f32', 0],
        timeMajor: [F_LSTM.timeMajor, 'bool', 0],
      },
    },
  },
};

function poolLayout(): OptionsLayout {
  return {
    type: OPT.Pool2DOptions,
    fields: {
      padding: [F_POOL.padding, 'padding', 0],
      strideW: [F_POOL.strideW, 'i32', 0],
      strideH: [F_POOL.strideH, 'i32', 0],
      filterW: [F_POOL.filterW, 'i32', 0],
      filterH: [F_POOL.filterH, 'i32', 0],
      activation: [F_POOL.activation, 'act', 0],
    },
  };
}

const ACTIVATIONS: Record<string, number> = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4, SIGN_BIT: 5 };

function enumValue(kind: FieldKind, key: string, v: OptionValue): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (kind === 'padding' && (v === 'SAME' || v === 'VALID')) return v === 'SAME' ? 0 : 1;
  if (kind === 'act' && v in ACTIVATIONS) return ACTIVATIONS[v];
  if (kind === 'type' && v in TYPE_CODES) return TYPE_CODES[v as TflType];
  throw new Error(`buildTflite: bad value ${JSON.stringify(v)} for option ${key}`);
}

function writeOptions(b: Builder, op: TflOperatorSpec): { type: number; offset: number } {
  const entry = LAYOUTS[op.op];
  if (!entry || op.noOptions) return { type: 0, offset: 0 };
  const values = { ...(entry.defaults ?? {}), ...(op.options ?? {}) };
  const { type, fields } = entry.layout;
  for (const key of Object.keys(values)) {
    if (!(key in fields)) throw new Error(`buildTflite: ${op.op} has no option ${key}`);
  }
  b.startObject(Object.keys(fields).length ? Math.max(...Object.values(fields).map((f) => f[0])) + 1 : 0);
  for (const [key, [slot, kind, def]] of Object.entries(fields)) {
    if (!(key in values)) continue;
    const v = enumValue(kind, key, values[key]);
    if (kind === 'f32') b.addFieldFloat32(slot, v, def);
    else if (kind === 'i32') b.addFieldInt32(slot, v, def);
    else b.addFieldInt8(slot, v, def);
  }
  return { type, offset: b.endObject() };
}

function intVector(b: Builder, xs: number[]): number {
  b.startVector(4, xs.length, 4);
  for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]);
  return b.endVector();
}

function floatVector(b: Builder, xs: number[]): number {
  b.startVector(4, xs.length, 4);
  for (let i = xs.length - 1; i >= 0; i--) b.addFloat32(xs[i]);
  return b.endVector();
}

function int64Vector(b: Builder, xs: number[]): number {
  b.startVector(8, xs.length, 8);
  for (let i = xs.length - 1; i >= 0; i--) b.addInt64(BigInt(xs[i]));
  return b.endVector();
}

function dataVector(b: Builder, data: Uint8Array): number {
  b.startVector(1, data.length, 16); // Buffer.data is force_align 16
  for (let i = data.length - 1; i >= 0; i--) b.addInt8(data[i]);
  return b.endVector();
}

function build(spec: TflModelSpec, external: number[] | undefined): Uint8Array {
  const b = new Builder(1024);

  // Buffers: 0 is the empty sentinel, then one per constant tensor.
  const bufferIndex: number[] = [];
  const bufferData: Uint8Array[] = [];
  for (const t of spec.tensors) {
    if (t.data) {
      bufferData.push(t.data);
      bufferIndex.push(bufferData.length);
    } else bufferIndex.push(0);
  }
  const bufferOffsets: number[] = [];
  {
    b.startObject(3);
    bufferOffsets.push(b.endObject());
  }
  bufferData.forEach((d, i) => {
    if (external) {
      b.startObject(3);
      b.addFieldInt64(F_BUFFER.offset, BigInt(external[i]), BigInt(0));
      b.addFieldInt64(F_BUFFER.size, BigInt(d.length), BigInt(0));
      bufferOffsets.push(b.endObject());
    } else {
      const v = dataVector(b, d);
      b.startObject(3);
      b.addFieldOffset(F_BUFFER.data, v, 0);
      bufferOffsets.push(b.endObject());
    }
  });

  const tensorOffsets = spec.tensors.map((t, i) => {
    const shape = intVector(b, t.shape);
    const name = b.createString(t.name ?? `t${i}`);
    let quant = 0;
    if (t.quant) {
      const sc = floatVector(b, t.quant.scale);
      const zp = int64Vector(b, t.quant.zeroPoint);
      b.startObject(7);
      b.addFieldOffset(F_QUANT.scale, sc, 0);
      b.addFieldOffset(F_QUANT.zeroPoint, zp, 0);
      b.addFieldInt32(F_QUANT.quantizedDimension, t.quant.axis ?? 0, 0);
      quant = b.endObject();
    }
    b.startObject(8);
    b.addFieldOffset(F_TENSOR.shape, shape, 0);
    b.addFieldInt8(F_TENSOR.type, TYPE_CODES[t.type], 0);
    b.addFieldInt32(F_TENSOR.buffer, bufferIndex[i], 0);
    b.addFieldOffset(F_TENSOR.name, name, 0);
    if (quant) b.addFieldOffset(F_TENSOR.quantization, quant, 0);
    if (t.variable) b.addFieldInt8(F_TENSOR.isVariable, 1, 0);
    return b.endObject();
  });

  // Operator codes: one per distinct builtin (or custom name).
  const codeKeys: string[] = [];
  const opcodeIndex = spec.operators.map((op) => {
    const key = op.op === 'CUSTOM' ? `CUSTOM:${op.custom ?? ''}` : op.op;
    let k = codeKeys.indexOf(key);
    if (k < 0) k = codeKeys.push(key) - 1;
    return k;
  });
  const codeOffsets = codeKeys.map((key) => {
    const custom = key.startsWith('CUSTOM:') ? b.createString(key.slice(7)) : 0;
    const code = builtinCode(key.startsWith('CUSTOM:') ? 'CUSTOM' : key);
    b.startObject(4);
    b.addFieldInt8(F_OPCODE.deprecatedBuiltinCode, Math.min(code, PLACEHOLDER_FOR_GREATER_OP_CODES), 0);
    if (custom) b.addFieldOffset(F_OPCODE.customCode, custom, 0);
    b.addFieldInt32(F_OPCODE.version, 1, 1);
    b.addFieldInt32(F_OPCODE.builtinCode, code, 0);
    return b.endObject();
  });

  const opOffsets = spec.operators.map((op, i) => {
    const ins = intVector(b, op.inputs);
    const outs = intVector(b, op.outputs);
    const opts = writeOptions(b, op);
    b.startObject(6);
    b.addFieldInt32(F_OPERATOR.opcodeIndex, opcodeIndex[i], 0);
    b.addFieldOffset(F_OPERATOR.inputs, ins, 0);
    b.addFieldOffset(F_OPERATOR.outputs, outs, 0);
    if (opts.type) {
      b.addFieldInt8(F_OPERATOR.builtinOptionsType, op.optionsTypeOverride ?? opts.type, 0);
      b.addFieldOffset(F_OPERATOR.builtinOptions, opts.offset, 0);
    }
    return b.endObject();
  });

  const offsetVector = (xs: number[]): number => {
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addOffset(xs[i]);
    return b.endVector();
  };

  const tensorsVec = offsetVector(tensorOffsets);
  const inputsVec = intVector(b, spec.inputs);
  const outputsVec = intVector(b, spec.outputs);
  const opsVec = offsetVector(opOffsets);
  const sgName = b.createString('main');
  b.startObject(5);
  b.addFieldOffset(F_SUBGRAPH.tensors, tensorsVec, 0);
  b.addFieldOffset(F_SUBGRAPH.inputs, inputsVec, 0);
  b.addFieldOffset(F_SUBGRAPH.outputs, outputsVec, 0);
  b.addFieldOffset(F_SUBGRAPH.operators, opsVec, 0);
  b.addFieldOffset(F_SUBGRAPH.name, sgName, 0);
  const sg = b.endObject();

  const codesVec = offsetVector(codeOffsets);
  const sgVec = offsetVector([sg]);
  const desc = b.createString(spec.description ?? 'qie test model');
  const buffersVec = offsetVector(bufferOffsets);
  b.startObject(5);
  b.addFieldInt32(F_MODEL.version, spec.version ?? 3, 0);
  b.addFieldOffset(F_MODEL.operatorCodes, codesVec, 0);
  b.addFieldOffset(F_MODEL.subgraphs, sgVec, 0);
  b.addFieldOffset(F_MODEL.description, desc, 0);
  b.addFieldOffset(F_MODEL.buffers, buffersVec, 0);
  const model = b.endObject();
  b.finish(model, 'TFL3');
  return b.asUint8Array().slice();
}

/** Builds a TFLite flatbuffer from a plain description. */
export function buildTflite(spec: TflModelSpec): Uint8Array {
  if (!spec.externalData) return build(spec, undefined);
  // The flatbuffer's size does not depend on the offset values (fixed-width fields),
  // so build once with placeholders to learn where the data can start.
  const consts = spec.tensors.filter((t) => t.data).map((t) => t.data!);
  const probe = build(spec, consts.map(() => 2));
  const offsets: number[] = [];
  let pos = Math.ceil(probe.length / 16) * 16;
  for (const d of consts) {
    offsets.push(pos);
    pos = Math.ceil((pos + d.length) / 16) * 16;
  }
  const fb = build(spec, offsets);
  if (fb.length !== probe.length) throw new Error('buildTflite: layout changed between passes');
  const out = new Uint8Array(pos);
  out.set(fb, 0);
  consts.forEach((d, i) => out.set(d, offsets[i]));
  return out;
}

// ---- little helpers for test data ----

export const i8 = (xs: number[]): Uint8Array => new Uint8Array(Int8Array.from(xs).buffer);
export const u8 = (xs: number[]): Uint8Array => Uint8Array.from(xs);
export const i32 = (xs: number[]): Uint8Array => new Uint8Array(Int32Array.from(xs).buffer);
export const i64 = (xs: number[]): Uint8Array => new Uint8Array(BigInt64Array.from(xs.map((x) => BigInt(x))).buffer);
export const f32 = (xs: number[]): Uint8Array => new Uint8Array(Float32Array.from(xs).buffer);
