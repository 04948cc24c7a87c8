// TFLite (.tflite, schema version 3) -> IR. Subgraph 0 only. Everything read
// from the file is bounds-checked: a malformed file gives QieError
// 'model_invalid', a valid file using something qie does not run gives
// 'unsupported_op'.
import { QieError } from '../../errors';
import { Attrs, DType, DTYPE_BYTES, Graph, Op, OpKind, Quant, Tensor } from '../ir';
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
  F_SOFTMAX,
  F_STRIDED_SLICE,
  F_SUBGRAPH,
  F_SVDF,
  F_TENSOR,
  FbReader,
  OPT,
  PADDING,
  TENSOR_TYPE_NAMES,
  TT,
  Table,
  VecRef,
  builtinName,
  invalid,
} from './tflite-schema';

const MAX_RANK = 6;
/** Largest tensor we accept, in bytes. */
const MAX_TENSOR_BYTES = 2 ** 31;
const LSTM_INPUTS = 24;

const DTYPES: Partial<Record<number, DType>> = {
  [TT.FLOAT32]: 'float32',
  [TT.INT32]: 'int32',
  [TT.UINT8]: 'uint8',
  [TT.INT64]: 'int64',
  [TT.BOOL]: 'bool',
  [TT.INT16]: 'int16',
  [TT.INT8]: 'int8',
  [TT.UINT16]: 'uint16',
};

export function importTflite(bytes: Uint8Array): Graph {
  try {
    return importModel(bytes);
  } catch (e) {
    if (e instanceof QieError) throw e;
    // Last resort: a check we missed must still surface as a model error.
    throw new QieError('model_invalid', `invalid TFLite model (unexpected: ${e instanceof Error ? e.message : String(e)})`);
  }
}

function importModel(bytes: Uint8Array): Graph {
  if (!(bytes instanceof Uint8Array)) throw new QieError('model_invalid', 'TFLite model must be a Uint8Array');
  if (bytes.length < 8) invalid(`file too short (${bytes.length} bytes)`);
  const ident = String.fromCharCode(bytes[4], bytes[5], bytes[6], bytes[7]);
  if (ident !== 'TFL3') invalid(`file identifier is ${JSON.stringify(ident)}, expected "TFL3" (not a TFLite flatbuffer?)`);

  const r = new FbReader(bytes);
  const model = r.tableAt(0, 'Model');
  const version = model.u32(F_MODEL.version, 0);
  if (version !== 3) invalid(`schema version ${version}, only version 3 is supported`);
  const description = model.str(F_MODEL.description, 'Model.description');

  const subgraphs = model.vec(F_MODEL.subgraphs, 4, 'Model.subgraphs');
  if (!subgraphs || subgraphs.length === 0) invalid('model has no subgraph');
  const sg = model.vecTable(subgraphs, 0, 'SubGraph #0');
  const buffers = model.vec(F_MODEL.buffers, 4, 'Model.buffers');

  const tensorVec = sg.vec(F_SUBGRAPH.tensors, 4, 'SubGraph.tensors');
  const nTensors = tensorVec?.length ?? 0;
  const bufferCache = new Map<number, Uint8Array | undefined>();
  const tensors: Tensor[] = [];
  for (let i = 0; i < nTensors; i++) {
    tensors.push(readTensor(r, model, sg.vecTable(tensorVec!, i, `tensor #${i}`), i, buffers, bufferCache));
  }

  const ioIndex = (list: number[], what: string): number[] => {
    for (const t of list) {
      if (!(t >= 0 && t < nTensors)) invalid(`subgraph ${what} refer to tensor ${t}, but there are ${nTensors} tensors`);
    }
    return list;
  };
  const inputs = ioIndex(sg.i32s(F_SUBGRAPH.inputs, 'SubGraph.inputs'), 'inputs');
  const outputs = ioIndex(sg.i32s(F_SUBGRAPH.outputs, 'SubGraph.outputs'), 'outputs');
  if (outputs.length === 0) invalid('the subgraph declares no outputs');

  const opcodes = readOpcodes(model);
  const opVec = sg.vec(F_SUBGRAPH.operators, 4, 'SubGraph.operators');
  const ops: Op[] = [];
  for (let i = 0; i < (opVec?.length ?? 0); i++) {
    ops.push(readOperator(sg.vecTable(opVec!, i, `operator #${i}`), i, opcodes, tensors));
  }

  return {
    tensors,
    ops,
    inputs,
    outputs,
    semantics: 'tflite',
    source: { format: 'tflite', description, version },
  };
}

// ---- tensors ----

function readTensor(
  r: FbReader,
  model: Table,
  t: Table,
  index: number,
  buffers: VecRef | undefined,
  bufferCache: Map<number, Uint8Array | undefined>,
): Tensor {
  const name = t.str(F_TENSOR.name, `tensor #${index} name`) ?? `tensor_${index}`;
  const where = `tensor #${index} "${name}"`;
  const typeCode = t.i8(F_TENSOR.type, TT.FLOAT32);
  const dtype = DTYPES[typeCode];
  if (!dtype) {
    const typeName = TENSOR_TYPE_NAMES[typeCode];
    if (typeName === undefined) invalid(`${where} has unknown type code ${typeCode}`);
    throw new QieError('unsupported_op', `${where} has type ${typeName}, which qie does not support`);
  }

  const rank = t.vecLength(F_TENSOR.shape, 4, `${where} shape`);
  if (rank > MAX_RANK) throw new QieError('unsupported_op', `${where} has rank ${rank}; qie supports rank <= ${MAX_RANK}`);
  const shape = t.i32s(F_TENSOR.shape, `${where} shape`, MAX_RANK);
  let bytes = DTYPE_BYTES[dtype];
  for (const d of shape) {
    if (d < 0) invalid(`${where} has a negative dimension in shape [${shape.join(', ')}]`);
    bytes *= d;
  }
  if (bytes > MAX_TENSOR_BYTES) invalid(`${where} shape [${shape.join(', ')}] is too large (${bytes} bytes)`);

  if (t.has(F_TENSOR.sparsity)) throw new QieError('unsupported_op', `${where} is sparse; qie supports dense tensors only`);

  const tensor: Tensor = { name, dtype, shape };
  const q = t.table(F_TENSOR.quantization, `${where} quantization`);
  if (q) {
    const quant = readQuant(q, shape, where);
    if (quant) tensor.quant = quant;
  }

  const variable = t.bool(F_TENSOR.isVariable);
  if (variable) tensor.variable = true;

  const bufIndex = t.u32(F_TENSOR.buffer, 0);
  const nBuffers = buffers?.length ?? 0;
  if (bufIndex !== 0 || nBuffers > 0) {
    if (bufIndex >= nBuffers) invalid(`${where} refers to buffer ${bufIndex}, but there are ${nBuffers} buffers`);
  }
  // Variables start zeroed (TFLite Micro semantics), so any stored initial value is not used.
  if (bufIndex !== 0 && !variable) {
    let data = bufferCache.get(bufIndex);
    if (!bufferCache.has(bufIndex)) {
      data = readBuffer(r, model.vecTable(buffers!, bufIndex, `buffer #${bufIndex}`), bufIndex);
      bufferCache.set(bufIndex, data);
    }
    if (data) {
      if (data.length !== bytes) {
        invalid(`${where} has ${data.length} bytes of constant data, but its shape [${shape.join(', ')}] needs ${bytes}`);
      }
      tensor.data = data;
    }
  }
  return tensor;
}

/** A copy of the buffer's bytes (so nothing depends on the file's alignment), or undefined when empty. */
function readBuffer(r: FbReader, b: Table, index: number): Uint8Array | undefined {
  const what = `buffer #${index}`;
  const v = b.vec(F_BUFFER.data, 1, `${what} data`);
  if (v && v.length > 0) {
    r.charge(v.length, what);
    return copyBytes(r.bytes, v.start, v.length);
  }
  // Models over 2 GB keep data after the flatbuffer; offset counts from the file start and is valid when > 1.
  const offset = b.u64(F_BUFFER.offset, 0, `${what} offset`);
  const size = b.u64(F_BUFFER.size, 0, `${what} size`);
  if (offset > 1 && size > 0) {
    r.need(offset, size, `${what} external data`);
    r.charge(size, what);
    return copyBytes(r.bytes, offset, size);
  }
  return undefined;
}

/** A fresh copy (Buffer#slice would return a view into the file). */
function copyBytes(src: Uint8Array, start: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(src.subarray(start, start + len));
  return out;
}

function readQuant(q: Table, shape: number[], where: string): Quant | undefined {
  if (q.u8(F_QUANT.detailsType, 0) !== 0) {
    throw new QieError('unsupported_op', `${where} uses custom quantization, which qie does not support`);
  }
  const nScales = q.vecLength(F_QUANT.scale, 4, `${where} scales`);
  if (nScales === 0) return undefined; // min/max only, or an empty table: not quantized
  const nZeros = q.vecLength(F_QUANT.zeroPoint, 8, `${where} zero points`);
  if (nZeros !== 0 && nZeros !== nScales) {
    invalid(`${where} has ${nScales} scales but ${nZeros} zero points`);
  }
  let axis = -1;
  if (nScales > 1) {
    axis = q.i32(F_QUANT.quantizedDimension, 0);
    // Real files (e.g. TFLite Micro's person_detect) give rank-1 biases the filter's axis; only axis 0 can be meant.
    if (shape.length === 1) axis = 0;
    if (!(axis >= 0 && axis < shape.length)) {
      invalid(`${where} has per-channel quantization on axis ${axis}, but its rank is ${shape.length}`);
    }
    if (shape[axis] !== nScales) {
      invalid(`${where} has ${nScales} scales for ${shape[axis]} channels on axis ${axis}`);
    }
  }
  const scales = q.f32s(F_QUANT.scale, `${where} scales`);
  for (const s of scales) {
    if (!Number.isFinite(s)) invalid(`${where} has a non-finite scale ${s}`);
  }
  const zeroPoints = nZeros === 0 ? scales.map(() => 0) : q.i64s(F_QUANT.zeroPoint, `${where} zero points`);
  for (const z of zeroPoints) {
    if (z < -(2 ** 31) || z >= 2 ** 31) invalid(`${where} has zero point ${z} outside the int32 range`);
  }
  return { scales, zeroPoints, axis };
}

// ---- operators ----

interface OpcodeInfo {
  code: number;
  custom?: string;
}

function readOpcodes(model: Table): OpcodeInfo[] {
  const v = model.vec(F_MODEL.operatorCodes, 4, 'Model.operator_codes');
  const out: OpcodeInfo[] = [];
  for (let i = 0; i < (v?.length ?? 0); i++) {
    const oc = model.vecTable(v!, i, `operator code #${i}`);
    // Newer files fill builtin_code and keep the legacy byte at the placeholder; older ones only have the byte.
    const code = Math.max(oc.i8(F_OPCODE.deprecatedBuiltinCode, 0), oc.i32(F_OPCODE.builtinCode, 0));
    const info: OpcodeInfo = { code };
    if (code === 32 /* CUSTOM */) info.custom = oc.str(F_OPCODE.customCode, `operator code #${i} custom name`) ?? '';
    out.push(info);
  }
  return out;
}

interface OpReadCtx {
  index: number;
  name: string; // "CONV_2D #3"
  inputs: number[];
  outputs: number[];
  options: Table | undefined;
  tensors: Tensor[];
}

function readOperator(o: Table, index: number, opcodes: OpcodeInfo[], tensors: Tensor[]): Op {
  const opcodeIndex = o.u32(F_OPERATOR.opcodeIndex, 0);
  if (opcodeIndex >= opcodes.length) {
    invalid(`operator #${index} uses opcode index ${opcodeIndex}, but there are ${opcodes.length} operator codes`);
  }
  const oc = opcodes[opcodeIndex];
  const tflName = builtinName(oc.code);
  if (oc.custom !== undefined) {
    throw new QieError('unsupported_op', `unsupported custom op "${oc.custom}" at operator #${index}`);
  }
  const spec = SPECS[tflName];
  if (!spec) throw new QieError('unsupported_op', `unsupported op ${tflName} (builtin code ${oc.code}) at operator #${index}`);

  const name = `${tflName} #${index}`;
  const inputs = o.i32s(F_OPERATOR.inputs, `${name} inputs`);
  const outputs = o.i32s(F_OPERATOR.outputs, `${name} outputs`);
  for (const t of inputs) {
    if (!(t === -1 || (t >= 0 && t < tensors.length))) {
      invalid(`operator #${index} (${tflName}) refers to input tensor ${t}, but there are ${tensors.length} tensors`);
    }
  }
  for (const t of outputs) {
    if (!(t >= 0 && t < tensors.length)) {
      invalid(`operator #${index} (${tflName}) refers to output tensor ${t}, but there are ${tensors.length} tensors`);
    }
  }
  if (inputs.length < spec.minInputs) invalid(`${name} has ${inputs.length} inputs, needs at least ${spec.minInputs}`);
  if (spec.maxInputs !== undefined && inputs.length > spec.maxInputs) {
    invalid(`${name} has ${inputs.length} inputs, at most ${spec.maxInputs} allowed`);
  }
  for (const k of spec.required ?? [0]) {
    if (inputs[k] === -1) invalid(`${name}: required input ${k} is absent`);
  }
  if (outputs.length !== (spec.outputs ?? 1)) invalid(`${name} has ${outputs.length} outputs, expected ${spec.outputs ?? 1}`);

  const optType = o.u8(F_OPERATOR.builtinOptionsType, 0);
  let options: Table | undefined;
  if (optType !== 0 && spec.options.includes(optType)) {
    options = o.table(F_OPERATOR.builtinOptions, `${name} options`);
  } else if (optType !== 0 && !spec.ignoresOptions) {
    invalid(`${name} carries builtin options of the wrong type (${optType})`);
  }
  const ctx: OpReadCtx = { index, name, inputs, outputs, options, tensors };
  const { kind, attrs, inputs: opInputs } = spec.map(ctx);
  return { kind, name, inputs: opInputs ?? inputs, outputs, attrs };
}

interface Mapped {
  kind: OpKind;
  attrs: Attrs;
  inputs?: number[];
}

interface Spec {
  minInputs: number;
  maxInputs?: number;
  /** Inputs that must not be -1 (default: input 0). */
  required?: number[];
  outputs?: number;
  /** Accepted builtin options union types. */
  options: number[];
  /** The op has no attributes, so an unexpected options table is harmless. */
  ignoresOptions?: boolean;
  map(c: OpReadCtx): Mapped;
}

function act(c: OpReadCtx, v: number): number {
  if (!(v >= 0 && v <= 5)) invalid(`${c.name}: unknown fused activation ${v}`);
  return v;
}

function shapeOf(c: OpReadCtx, t: number, rank: number, what: string): number[] {
  const s = c.tensors[t].shape;
  if (s.length !== rank) invalid(`${c.name}: ${what} has rank ${s.length}, expected ${rank}`);
  return s;
}

function positive(c: OpReadCtx, v: number, what: string): number {
  if (!(v >= 1)) invalid(`${c.name}: ${what} is ${v}, must be >= 1`);
  return v;
}

/**
 * TFLite's padding rule for one spatial axis: returns [before, after] and checks
 * that the output tensor's size is what the padding mode produces.
 */
function pads(c: OpReadCtx, mode: number, inSize: number, k: number, stride: number, dilation: number, outSize: number, axis: string): [number, number] {
  const eff = (k - 1) * dilation + 1;
  let expected: number;
  if (mode === PADDING.SAME) expected = Math.ceil(inSize / stride);
  else if (mode === PADDING.VALID) expected = Math.floor((inSize - eff) / stride) + 1;
  else invalid(`${c.name}: unknown padding mode ${mode}`);
  if (expected < 1) invalid(`${c.name}: ${axis} window ${eff} over input size ${inSize} gives an empty output`);
  if (outSize !== expected) invalid(`${c.name}: output ${axis} is ${outSize}, but the padding mode gives ${expected}`);
  if (mode === PADDING.VALID) return [0, 0];
  const total = Math.max((expected - 1) * stride + eff - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function convLike(c: OpReadCtx, filterH: number, filterW: number, mode: number, sh: number, sw: number, dh: number, dw: number): Attrs {
  const inp = shapeOf(c, c.inputs[0], 4, 'input');
  const out = shapeOf(c, c.outputs[0], 4, 'output');
  positive(c, sh, 'stride_h');
  positive(c, sw, 'stride_w');
  positive(c, dh, 'dilation_h');
  positive(c, dw, 'dilation_w');
  positive(c, filterH, 'filter height');
  positive(c, filterW, 'filter width');
  const [padTop, padBottom] = pads(c, mode, inp[1], filterH, sh, dh, out[1], 'height');
  const [padLeft, padRight] = pads(c, mode, inp[2], filterW, sw, dw, out[2], 'width');
  return { padTop, padLeft, padBottom, padRight, strideH: sh, strideW: sw };
}

const noAttrs = (kind: OpKind, options: number[] = []): Spec => ({
  minInputs: 1,
  maxInputs: 1,
  options,
  ignoresOptions: true,
  map: () => ({ kind, attrs: {} }),
});

/** RESHAPE, SQUEEZE, EXPAND_DIMS: a byte copy into the output's shape, so only the data input is kept. */
const reshapeLike = (options: number): Spec => ({
  minInputs: 1,
  maxInputs: 2,
  options: [options],
  ignoresOptions: true,
  map: (c) => {
    const a = c.tensors[c.inputs[0]];
    const b = c.tensors[c.outputs[0]];
    const n = (s: number[]) => s.reduce((x, y) => x * y, 1);
    if (n(a.shape) !== n(b.shape)) {
      invalid(`${c.name}: input shape [${a.shape.join(', ')}] and output shape [${b.shape.join(', ')}] differ in size`);
    }
    return { kind: 'RESHAPE', attrs: {}, inputs: [c.inputs[0]] };
  },
});

const eltwise = (kind: OpKind, options: number): Spec => ({
  minInputs: 2,
  maxInputs: 2,
  required: [0, 1],
  options: [options],
  map: (c) => ({ kind, attrs: { activation: act(c, c.options?.i8(F_ELTWISE.activation, 0) ?? 0) } }),
});

const pool = (kind: OpKind): Spec => ({
  minInputs: 1,
  maxInputs: 1,
  options: [OPT.Pool2DOptions],
  map: (c) => {
    const o = c.options;
    const fh = o?.i32(F_POOL.filterH, 0) ?? 1;
    const fw = o?.i32(F_POOL.filterW, 0) ?? 1;
    const base = convLike(c, fh, fw, o?.i8(F_POOL.padding, 0) ?? PADDING.SAME, o?.i32(F_POOL.strideH, 0) ?? 1, o?.i32(F_POOL.strideW, 0) ?? 1, 1, 1);
    return { kind, attrs: { ...base, filterH: fh, filterW: fw, activation: act(c, o?.i8(F_POOL.activation, 0) ?? 0) } };
  },
});

function axisIn(c: OpReadCtx, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!(a >= 0 && a < rank)) invalid(`${c.name}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

const SPECS: Record<string, Spec> = {
  CONV_2D: {
    minInputs: 2,
    maxInputs: 3,
    required: [0, 1],
    options: [OPT.Conv2DOptions],
    map: (c) => {
      const o = c.options;
      const f = shapeOf(c, c.inputs[1], 4, 'filter');
      const dh = o?.i32(F_CONV.dilationH, 1) ?? 1;
      const dw = o?.i32(F_CONV.dilationW, 1) ?? 1;
      const base = convLike(c, f[1], f[2], o?.i8(F_CONV.padding, 0) ?? PADDING.SAME, o?.i32(F_CONV.strideH, 0) ?? 1, o?.i32(F_CONV.strideW, 0) ?? 1, dh, dw);
      return {
        kind: 'CONV_2D',
        attrs: { ...base, dilationH: dh, dilationW: dw, activation: act(c, o?.i8(F_CONV.activation, 0) ?? 0) },
      };
    },
  },
  DEPTHWISE_CONV_2D: {
    minInputs: 2,
    maxInputs: 3,
    required: [0, 1],
    options: [OPT.DepthwiseConv2DOptions],
    map: (c) => {
      const o = c.options;
      const f = shapeOf(c, c.inputs[1], 4, 'filter');
      const inp = shapeOf(c, c.inputs[0], 4, 'input');
      // The stored depth_multiplier is unreliable in real files; the shapes decide.
      if (!(inp[3] > 0 && f[3] % inp[3] === 0)) {
        invalid(`${c.name}: filter channels ${f[3]} are not a multiple of input channels ${inp[3]}`);
      }
      const dh = o?.i32(F_DWCONV.dilationH, 1) ?? 1;
      const dw = o?.i32(F_DWCONV.dilationW, 1) ?? 1;
      const base = convLike(c, f[1], f[2], o?.i8(F_DWCONV.padding, 0) ?? PADDING.SAME, o?.i32(F_DWCONV.strideH, 0) ?? 1, o?.i32(F_DWCONV.strideW, 0) ?? 1, dh, dw);
      return {
        kind: 'DEPTHWISE_CONV_2D',
        attrs: {
          ...base,
          dilationH: dh,
          dilationW: dw,
          activation: act(c, o?.i8(F_DWCONV.activation, 0) ?? 0),
          depthMultiplier: f[3] / inp[3],
        },
      };
    },
  },
  FULLY_CONNECTED: {
    minInputs: 2,
    maxInputs: 3,
    required: [0, 1],
    options: [OPT.FullyConnectedOptions],
    map: (c) => {
      const o = c.options;
      const fmt = o?.i8(F_FC.weightsFormat, 0) ?? 0;
      if (fmt !== 0) throw new QieError('unsupported_op', `${c.name}: shuffled weights format ${fmt} is not supported`);
      return {
        kind: 'FULLY_CONNECTED',
        attrs: { activation: act(c, o?.i8(F_FC.activation, 0) ?? 0), keepNumDims: o?.bool(F_FC.keepNumDims) ? 1 : 0 },
      };
    },
  },
  AVERAGE_POOL_2D: pool('AVERAGE_POOL_2D'),
  MAX_POOL_2D: pool('MAX_POOL_2D'),
  ADD: eltwise('ADD', OPT.AddOptions),
  SUB: eltwise('SUB', OPT.SubOptions),
  MUL: eltwise('MUL', OPT.MulOptions),
  RESHAPE: reshapeLike(OPT.ReshapeOptions),
  SQUEEZE: reshapeLike(OPT.SqueezeOptions),
  EXPAND_DIMS: reshapeLike(OPT.ExpandDimsOptions),
  SOFTMAX: {
    minInputs: 1,
    maxInputs: 1,
    options: [OPT.SoftmaxOptions],
    // Without an options table beta is taken as 1 (plain softmax); a present table with no beta field means 0.
    map: (c) => ({ kind: 'SOFTMAX', attrs: { beta: c.options ? c.options.f32(F_SOFTMAX.beta, 0) : 1 } }),
  },
  LOGISTIC: noAttrs('LOGISTIC'),
  TANH: noAttrs('TANH'),
  RELU: noAttrs('RELU'),
  RELU6: noAttrs('RELU6'),
  RELU_N1_TO_1: noAttrs('RELU_N1_TO_1'),
  HARD_SWISH: noAttrs('HARD_SWISH', [OPT.HardSwishOptions]),
  LEAKY_RELU: {
    minInputs: 1,
    maxInputs: 1,
    options: [OPT.LeakyReluOptions],
    map: (c) => ({ kind: 'LEAKY_RELU', attrs: { alpha: c.options?.f32(F_LEAKY_RELU.alpha, 0) ?? 0 } }),
  },
  PAD: { minInputs: 2, maxInputs: 2, required: [0, 1], options: [OPT.PadOptions], ignoresOptions: true, map: () => ({ kind: 'PAD', attrs: {} }) },
  PADV2: { minInputs: 2, maxInputs: 3, required: [0, 1], options: [OPT.PadV2Options], ignoresOptions: true, map: () => ({ kind: 'PAD', attrs: {} }) },
  TRANSPOSE: {
    minInputs: 2,
    maxInputs: 2,
    required: [0, 1],
    options: [OPT.TransposeOptions],
    ignoresOptions: true,
    map: () => ({ kind: 'TRANSPOSE', attrs: {} }),
  },
  MEAN: {
    minInputs: 2,
    maxInputs: 2,
    required: [0, 1],
    options: [OPT.ReducerOptions],
    map: (c) => ({ kind: 'MEAN', attrs: { keepDims: c.options?.bool(F_REDUCER.keepDims) ? 1 : 0 } }),
  },
  CONCATENATION: {
    minInputs: 1,
    options: [OPT.ConcatenationOptions],
    required: [],
    map: (c) => {
      if (c.inputs.includes(-1)) invalid(`${c.name}: an input is absent`);
      const rank = c.tensors[c.outputs[0]].shape.length;
      return {
        kind: 'CONCATENATION',
        attrs: {
          axis: axisIn(c, c.options?.i32(F_CONCAT.axis, 0) ?? 0, rank),
          activation: act(c, c.options?.i8(F_CONCAT.activation, 0) ?? 0),
        },
      };
    },
  },
  PACK: {
    minInputs: 1,
    options: [OPT.PackOptions],
    required: [],
    map: (c) => {
      if (c.inputs.includes(-1)) invalid(`${c.name}: an input is absent`);
      // The axis indexes the output, which has one more dimension than the inputs.
      const rank = c.tensors[c.outputs[0]].shape.length;
      return { kind: 'PACK', attrs: { axis: axisIn(c, c.options?.i32(F_PACK.axis, 0) ?? 0, rank) } };
    },
  },
  SHAPE: noAttrs('SHAPE', [OPT.ShapeOptions]),
  STRIDED_SLICE: {
    minInputs: 4,
    maxInputs: 4,
    required: [0, 1, 2, 3],
    options: [OPT.StridedSliceOptions],
    map: (c) => {
      const o = c.options;
      return {
        kind: 'STRIDED_SLICE',
        attrs: {
          beginMask: o?.i32(F_STRIDED_SLICE.beginMask, 0) ?? 0,
          endMask: o?.i32(F_STRIDED_SLICE.endMask, 0) ?? 0,
          ellipsisMask: o?.i32(F_STRIDED_SLICE.ellipsisMask, 0) ?? 0,
          newAxisMask: o?.i32(F_STRIDED_SLICE.newAxisMask, 0) ?? 0,
          shrinkAxisMask: o?.i32(F_STRIDED_SLICE.shrinkAxisMask, 0) ?? 0,
          offset: o?.bool(F_STRIDED_SLICE.offset) ? 1 : 0,
        },
      };
    },
  },
  RESIZE_NEAREST_NEIGHBOR: {
    minInputs: 2,
    maxInputs: 2,
    required: [0, 1],
    options: [OPT.ResizeNearestNeighborOptions],
    map: (c) => ({
      kind: 'RESIZE_NEAREST_NEIGHBOR',
      attrs: {
        alignCorners: c.options?.bool(F_RESIZE_NN.alignCorners) ? 1 : 0,
        halfPixelCenters: c.options?.bool(F_RESIZE_NN.halfPixelCenters) ? 1 : 0,
      },
    }),
  },
  QUANTIZE: noAttrs('QUANTIZE', [OPT.QuantizeOptions]),
  DEQUANTIZE: noAttrs('DEQUANTIZE', [OPT.DequantizeOptions]),
  SVDF: {
    // input, weights_feature, weights_time, bias?, activation_state
    minInputs: 5,
    maxInputs: 5,
    required: [0, 1, 2, 4],
    options: [OPT.SVDFOptions],
    map: (c) => ({
      kind: 'SVDF',
      attrs: {
        rank: positive(c, c.options?.i32(F_SVDF.rank, 0) ?? 0, 'rank'),
        activation: act(c, c.options?.i8(F_SVDF.activation, 0) ?? 0),
      },
    }),
  },
  UNIDIRECTIONAL_SEQUENCE_LSTM: {
    // 20 inputs in older files, 24 with the layer-norm coefficients; always hand on 24.
    minInputs: 20,
    maxInputs: LSTM_INPUTS,
    options: [OPT.UnidirectionalSequenceLSTMOptions],
    map: (c) => {
      const o = c.options;
      const inputs = [...c.inputs];
      while (inputs.length < LSTM_INPUTS) inputs.push(-1);
      return {
        kind: 'UNIDIRECTIONAL_SEQUENCE_LSTM',
        inputs,
        attrs: {
          activation: act(c, o?.i8(F_LSTM.activation, 0) ?? 0),
          timeMajor: o?.bool(F_LSTM.timeMajor) ? 1 : 0,
          cellClip: o?.f32(F_LSTM.cellClip, 0) ?? 0,
          projClip: o?.f32(F_LSTM.projClip, 0) ?? 0,
        },
      };
    },
  },
};

/** TFLite builtin names this importer maps (for tests and messages). */
export const SUPPORTED_TFLITE_OPS: readonly string[] = Object.keys(SPECS);
