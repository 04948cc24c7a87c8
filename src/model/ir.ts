// The one small intermediate representation every importer produces and every
// pass and the plan writer consume. Layout of activations is NHWC; filters are
// OHWI (conv), [1, H, W, C*M] (depthwise), [units, depth] (fully connected).

export type DType = 'float32' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'int64' | 'bool';

export const DTYPE_BYTES: Record<DType, number> = {
  float32: 4,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  int64: 8,
  bool: 1,
};

export interface Quant {
  scales: number[];
  zeroPoints: number[];
  /** Channel axis of per-channel parameters; -1 when there is one scale. */
  axis: number;
}

export interface Tensor {
  name: string;
  dtype: DType;
  shape: number[];
  quant?: Quant;
  /** Constant contents (little-endian, row-major); absent for activations. */
  data?: Uint8Array;
  /** Persistent state (recurrent ops): zeroed at load and by resetState(). */
  variable?: boolean;
}

export type OpKind =
  | 'CONV_2D'
  | 'DEPTHWISE_CONV_2D'
  | 'FULLY_CONNECTED'
  | 'AVERAGE_POOL_2D'
  | 'MAX_POOL_2D'
  | 'ADD'
  | 'SUB'
  | 'MUL'
  | 'RESHAPE'
  | 'SOFTMAX'
  | 'LOGISTIC'
  | 'TANH'
  | 'RELU'
  | 'RELU6'
  | 'RELU_N1_TO_1'
  | 'LEAKY_RELU'
  | 'HARD_SWISH'
  | 'PAD'
  | 'TRANSPOSE'
  | 'MEAN'
  | 'CONCATENATION'
  | 'PACK'
  | 'SHAPE'
  | 'STRIDED_SLICE'
  | 'RESIZE_NEAREST_NEIGHBOR'
  | 'QUANTIZE'
  | 'DEQUANTIZE'
  | 'SVDF'
  | 'UNIDIRECTIONAL_SEQUENCE_LSTM'
  // ONNX-defined ops (ONNX semantics: float requantization, round half to even)
  | 'QUANTIZE_LINEAR'
  | 'DEQUANTIZE_LINEAR'
  | 'DYNAMIC_QUANTIZE_LINEAR'
  | 'MATMUL_INTEGER'
  | 'QLINEAR_MATMUL'
  | 'CONV_INTEGER'
  | 'QLINEAR_CONV'
  | 'CLIP'
  | 'QLINEAR_AVERAGE_POOL'
  | 'QLINEAR_MUL'
  | 'LOOKUP';

/** Attribute values are numbers (ints or floats, see src/model/opset.ts). */
export type Attrs = Record<string, number>;

export interface Op {
  kind: OpKind;
  /** Where the op came from, for messages: e.g. "CONV_2D #3" or an ONNX node name. */
  name: string;
  /** Tensor indices; -1 marks an absent optional input. */
  inputs: number[];
  outputs: number[];
  attrs: Attrs;
}

export type Semantics = 'tflite' | 'onnx';

export interface Graph {
  tensors: Tensor[];
  ops: Op[];
  inputs: number[];
  outputs: number[];
  semantics: Semantics;
  /** Model inputs/outputs that the file declares uint8 but run as int8 (legacy models). */
  uint8Io?: { inputs: boolean[]; outputs: boolean[] };
  source: { format: 'tflite' | 'onnx'; description?: string; version?: number };
  /** ONNX int4/uint4 tensors, held one value per byte in int8/uint8 (tensor indices). */
  fourBit?: number[];
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensorBytes(t: Tensor): number {
  return elementCount(t.shape) * DTYPE_BYTES[t.dtype];
}
