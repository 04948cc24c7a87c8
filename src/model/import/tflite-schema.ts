// Bounds-checked FlatBuffers reading for TFLite files, plus the schema facts
// (field ids, enum values) the importer needs. The flatbuffers runtime does no
// checking of its own, so every position is validated here before it is read.
import { ByteBuffer } from 'flatbuffers';
import { QieError } from '../../errors';

export function invalid(message: string): never {
  throw new QieError('model_invalid', `invalid TFLite model: ${message}`);
}

/** Cap on bytes decoded from one string (names are only for messages). */
const MAX_STRING_BYTES = 1024;

export class FbReader {
  readonly bb: ByteBuffer;
  readonly size: number;
  /** Work budget in bytes: shared vectors referenced many times must not turn a small file into a long import. */
  private budget: number;

  constructor(readonly bytes: Uint8Array) {
    this.bb = new ByteBuffer(bytes);
    this.size = bytes.length;
    this.budget = 4 * bytes.length + (1 << 20);
  }

  need(pos: number, len: number, what: string): void {
    if (!(Number.isSafeInteger(pos) && Number.isSafeInteger(len) && pos >= 0 && len >= 0 && pos + len <= this.size)) {
      invalid(`${what} lies outside the file (offset ${pos}, ${len} bytes, file is ${this.size} bytes)`);
    }
  }

  charge(bytes: number, what: string): void {
    this.budget -= bytes;
    if (this.budget < 0) invalid(`${what}: the file references far more data than it contains`);
  }

  u32(pos: number, what: string): number {
    this.need(pos, 4, what);
    return this.bb.readUint32(pos);
  }

  /** The table whose uoffset is stored at `pos`. */
  tableAt(pos: number, what: string): Table {
    const target = pos + this.u32(pos, what);
    return this.tableHere(target, what);
  }

  tableHere(pos: number, what: string): Table {
    this.need(pos, 4, what);
    const vt = pos - this.bb.readInt32(pos);
    this.need(vt, 4, `${what} vtable`);
    const vtSize = this.bb.readUint16(vt);
    const inlineSize = this.bb.readUint16(vt + 2);
    if (vtSize < 4 || vtSize % 2 !== 0) invalid(`${what}: bad vtable size ${vtSize}`);
    if (inlineSize < 4) invalid(`${what}: bad table size ${inlineSize}`);
    this.need(vt, vtSize, `${what} vtable`);
    this.need(pos, inlineSize, what);
    this.charge(vtSize, what);
    return new Table(this, pos, vt, vtSize, inlineSize, what);
  }
}

export interface VecRef {
  /** Position of element 0. */
  start: number;
  length: number;
}

export class Table {
  constructor(
    readonly r: FbReader,
    readonly pos: number,
    private readonly vt: number,
    private readonly vtSize: number,
    private readonly inlineSize: number,
    readonly what: string,
  ) {}

  /** Absolute position of field `id` holding `size` bytes, or 0 when absent. */
  private field(id: number, size: number): number {
    const slot = 4 + 2 * id;
    if (slot + 2 > this.vtSize) return 0;
    const off = this.r.bb.readUint16(this.vt + slot);
    if (off === 0) return 0;
    if (off + size > this.inlineSize) invalid(`${this.what}: field ${id} overruns its table`);
    return this.pos + off;
  }

  has(id: number): boolean {
    return this.field(id, 1) !== 0;
  }

  i8(id: number, def: number): number {
    const p = this.field(id, 1);
    return p ? this.r.bb.readInt8(p) : def;
  }
  u8(id: number, def: number): number {
    const p = this.field(id, 1);
    return p ? this.r.bb.readUint8(p) : def;
  }
  bool(id: number, def = false): boolean {
    return this.u8(id, def ? 1 : 0) !== 0;
  }
  i32(id: number, def: number): number {
    const p = this.field(id, 4);
    return p ? this.r.bb.readInt32(p) : def;
  }
  u32(id: number, def: number): number {
    const p = this.field(id, 4);
    return p ? this.r.bb.readUint32(p) : def;
  }
  f32(id: number, def: number): number {
    const p = this.field(id, 4);
    return p ? this.r.bb.readFloat32(p) : def;
  }
  /** uint64 as a number; values past 2^53 are refused (nothing that large fits a file we can read). */
  u64(id: number, def: number, name: string): number {
    const p = this.field(id, 8);
    if (!p) return def;
    const v = this.r.bb.readUint64(p);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) invalid(`${this.what}: ${name} ${v} is too large`);
    return Number(v);
  }

  table(id: number, what: string): Table | undefined {
    const p = this.field(id, 4);
    return p ? this.r.tableAt(p, what) : undefined;
  }

  vec(id: number, elemSize: number, what: string): VecRef | undefined {
    const p = this.field(id, 4);
    if (!p) return undefined;
    const target = p + this.r.u32(p, what);
    const length = this.r.u32(target, `${what} length`);
    this.r.need(target + 4, length * elemSize, what);
    return { start: target + 4, length };
  }

  vecLength(id: number, elemSize: number, what: string): number {
    return this.vec(id, elemSize, what)?.length ?? 0;
  }

  /** Element i of a vector of tables. */
  vecTable(v: VecRef, i: number, what: string): Table {
    return this.r.tableAt(v.start + 4 * i, what);
  }

  i32s(id: number, what: string, maxLen = Infinity): number[] {
    const v = this.vec(id, 4, what);
    if (!v) return [];
    if (v.length > maxLen) invalid(`${what}: ${v.length} entries (at most ${maxLen} allowed)`);
    this.r.charge(v.length * 4, what);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.r.bb.readInt32(v.start + 4 * i);
    return out;
  }

  f32s(id: number, what: string, maxLen = Infinity): number[] {
    const v = this.vec(id, 4, what);
    if (!v) return [];
    if (v.length > maxLen) invalid(`${what}: ${v.length} entries (at most ${maxLen} allowed)`);
    this.r.charge(v.length * 4, what);
    const out = new Array<number>(v.length);
    for (let i = 0; i < v.length; i++) out[i] = this.r.bb.readFloat32(v.start + 4 * i);
    return out;
  }

  /** int64 vector as numbers; entries outside +-2^53 are refused. */
  i64s(id: number, what: string, maxLen = Infinity): number[] {
    const v = this.vec(id, 8, what);
    if (!v) return [];
    if (v.length > maxLen) invalid(`${what}: ${v.length} entries (at most ${maxLen} allowed)`);
    this.r.charge(v.length * 8, what);
    const out = new Array<number>(v.length);
    const lim = BigInt(Number.MAX_SAFE_INTEGER);
    for (let i = 0; i < v.length; i++) {
      const x = this.r.bb.readInt64(v.start + 8 * i);
      if (x > lim || x < -lim) invalid(`${what}: value ${x} out of range`);
      out[i] = Number(x);
    }
    return out;
  }

  str(id: number, what: string): string | undefined {
    const v = this.vec(id, 1, what);
    if (!v) return undefined;
    const n = Math.min(v.length, MAX_STRING_BYTES);
    this.r.charge(n, what);
    return new TextDecoder('utf-8').decode(this.r.bytes.subarray(v.start, v.start + n));
  }
}

// ---- schema facts (tensorflow/lite/schema/schema.fbs, version 3) ----

export const F_MODEL = { version: 0, operatorCodes: 1, subgraphs: 2, description: 3, buffers: 4 } as const;
export const F_SUBGRAPH = { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 } as const;
export const F_TENSOR = {
  shape: 0,
  type: 1,
  buffer: 2,
  name: 3,
  quantization: 4,
  isVariable: 5,
  sparsity: 6,
  shapeSignature: 7,
} as const;
export const F_QUANT = { min: 0, max: 1, scale: 2, zeroPoint: 3, detailsType: 4, details: 5, quantizedDimension: 6 } as const;
export const F_BUFFER = { data: 0, offset: 1, size: 2 } as const;
export const F_OPCODE = { deprecatedBuiltinCode: 0, customCode: 1, version: 2, builtinCode: 3 } as const;
export const F_OPERATOR = {
  opcodeIndex: 0,
  inputs: 1,
  outputs: 2,
  builtinOptionsType: 3,
  builtinOptions: 4,
  customOptions: 5,
} as const;

/** TensorType enum values. */
export const TT = {
  FLOAT32: 0,
  FLOAT16: 1,
  INT32: 2,
  UINT8: 3,
  INT64: 4,
  STRING: 5,
  BOOL: 6,
  INT16: 7,
  COMPLEX64: 8,
  INT8: 9,
  FLOAT64: 10,
  COMPLEX128: 11,
  UINT64: 12,
  RESOURCE: 13,
  VARIANT: 14,
  UINT32: 15,
  UINT16: 16,
  INT4: 17,
} as const;

export const TENSOR_TYPE_NAMES = [
  'FLOAT32', 'FLOAT16', 'INT32', 'UINT8', 'INT64', 'STRING', 'BOOL', 'INT16', 'COMPLEX64', 'INT8',
  'FLOAT64', 'COMPLEX128', 'UINT64', 'RESOURCE', 'VARIANT', 'UINT32', 'UINT16', 'INT4',
];

/** Padding enum. */
export const PADDING = { SAME: 0, VALID: 1 } as const;

/** BuiltinOptions union member indices (0 = NONE). */
export const OPT = {
  Conv2DOptions: 1,
  DepthwiseConv2DOptions: 2,
  Pool2DOptions: 5,
  SVDFOptions: 6,
  FullyConnectedOptions: 8,
  SoftmaxOptions: 9,
  ConcatenationOptions: 10,
  AddOptions: 11,
  ReshapeOptions: 17,
  MulOptions: 21,
  PadOptions: 22,
  TransposeOptions: 26,
  ReducerOptions: 27,
  SubOptions: 28,
  SqueezeOptions: 30,
  StridedSliceOptions: 32,
  DequantizeOptions: 38,
  PadV2Options: 43,
  ExpandDimsOptions: 52,
  ShapeOptions: 55,
  PackOptions: 59,
  UnidirectionalSequenceLSTMOptions: 71,
  ResizeNearestNeighborOptions: 74,
  LeakyReluOptions: 75,
  QuantizeOptions: 89,
  HardSwishOptions: 91,
} as const;

/** Field ids inside the options tables. */
export const F_CONV = { padding: 0, strideW: 1, strideH: 2, activation: 3, dilationW: 4, dilationH: 5 } as const;
export const F_DWCONV = {
  padding: 0,
  strideW: 1,
  strideH: 2,
  depthMultiplier: 3,
  activation: 4,
  dilationW: 5,
  dilationH: 6,
} as const;
export const F_POOL = { padding: 0, strideW: 1, strideH: 2, filterW: 3, filterH: 4, activation: 5 } as const;
export const F_SVDF = { rank: 0, activation: 1 } as const;
export const F_FC = { activation: 0, weightsFormat: 1, keepNumDims: 2 } as const;
export const F_SOFTMAX = { beta: 0 } as const;
export const F_CONCAT = { axis: 0, activation: 1 } as const;
/** AddOptions, SubOptions, MulOptions. */
export const F_ELTWISE = { activation: 0 } as const;
export const F_REDUCER = { keepDims: 0 } as const;
export const F_STRIDED_SLICE = {
  beginMask: 0,
  endMask: 1,
  ellipsisMask: 2,
  newAxisMask: 3,
  shrinkAxisMask: 4,
  offset: 5,
} as const;
export const F_PACK = { valuesCount: 0, axis: 1 } as const;
export const F_LSTM = { activation: 0, cellClip: 1, projClip: 2, timeMajor: 3 } as const;
export const F_RESIZE_NN = { alignCorners: 0, halfPixelCenters: 1 } as const;
export const F_LEAKY_RELU = { alpha: 0 } as const;
export const F_SHAPE = { outType: 0 } as const;

/** BuiltinOperator names by code (codes 0..205; 225 is TEMP_STREAMING_CONV_2D). */
const BUILTIN_NAME_LIST = (
  'ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE EMBEDDING_LOOKUP ' +
  'FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D LOCAL_RESPONSE_NORMALIZATION LOGISTIC ' +
  'LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX ' +
  'SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS SKIP_GRAM CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD ' +
  'UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND TRANSPOSE MEAN SUB DIV SQUEEZE ' +
  'UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT LOG_SOFTMAX ' +
  'DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX MINIMUM LESS NEG PADV2 GREATER ' +
  'GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE TILE EXPAND_DIMS EQUAL ' +
  'NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ' +
  'ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV REDUCE_ANY SQUARE ZEROS_LIKE FILL ' +
  'FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE ' +
  'CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE ' +
  'MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 SCATTER_ND ' +
  'SELECT_V2 DENSIFY SEGMENT_SUM BATCH_MATMUL PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE ' +
  'BROADCAST_TO RFFT2D CONV_3D IMAG REAL COMPLEX_ABS HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT ' +
  'HASHTABLE_SIZE REDUCE_ALL CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE ASSIGN_VARIABLE BROADCAST_ARGS ' +
  'RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM MULTINOMIAL GELU DYNAMIC_UPDATE_SLICE RELU_0_TO_1 ' +
  'UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN SIGN ' +
  'BITCAST BITWISE_XOR RIGHT_SHIFT STABLEHLO_LOGISTIC STABLEHLO_ADD STABLEHLO_DIVIDE STABLEHLO_MULTIPLY ' +
  'STABLEHLO_MAXIMUM STABLEHLO_RESHAPE STABLEHLO_CLAMP STABLEHLO_CONCATENATE STABLEHLO_BROADCAST_IN_DIM ' +
  'STABLEHLO_CONVOLUTION STABLEHLO_SLICE STABLEHLO_CUSTOM_CALL STABLEHLO_REDUCE STABLEHLO_ABS ' +
  'STABLEHLO_AND STABLEHLO_COSINE STABLEHLO_EXPONENTIAL STABLEHLO_FLOOR STABLEHLO_LOG STABLEHLO_MINIMUM ' +
  'STABLEHLO_NEGATE STABLEHLO_OR STABLEHLO_POWER STABLEHLO_REMAINDER STABLEHLO_RSQRT STABLEHLO_SELECT ' +
  'STABLEHLO_SUBTRACT STABLEHLO_TANH STABLEHLO_SCATTER STABLEHLO_COMPARE STABLEHLO_CONVERT ' +
  'STABLEHLO_DYNAMIC_SLICE STABLEHLO_DYNAMIC_UPDATE_SLICE STABLEHLO_PAD STABLEHLO_IOTA ' +
  'STABLEHLO_DOT_GENERAL STABLEHLO_REDUCE_WINDOW STABLEHLO_SORT STABLEHLO_WHILE STABLEHLO_GATHER ' +
  'STABLEHLO_TRANSPOSE DILATE STABLEHLO_RNG_BIT_GENERATOR REDUCE_WINDOW'
).split(' ');

export function builtinName(code: number): string {
  if (code === 225) return 'TEMP_STREAMING_CONV_2D';
  return BUILTIN_NAME_LIST[code] ?? `UNKNOWN_BUILTIN_${code}`;
}

/** Builtin code of a name (the writer in test/helpers uses it). */
export function builtinCode(name: string): number {
  if (name === 'TEMP_STREAMING_CONV_2D') return 225;
  const i = BUILTIN_NAME_LIST.indexOf(name);
  if (i < 0) throw new Error(`unknown TFLite builtin ${name}`);
  return i;
}

/** Codes below this fit the legacy int8 deprecated_builtin_code field. */
export const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;
