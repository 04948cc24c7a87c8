// Op codes and attribute slots of the plan; mirrors csrc/runtime/opcodes.h
// (test/opset.test.ts reads that header and compares).
import type { OpKind } from './ir';

export interface OpSpec {
  code: number;
  /** IR attribute names in plan slot order (int32 slots). */
  ints: string[];
  /** IR attribute names in plan slot order (float32 slots). */
  floats: string[];
}

const CONV_INTS = ['padTop', 'padLeft', 'padBottom', 'padRight', 'strideH', 'strideW', 'dilationH', 'dilationW', 'activation'];
const QLINEAR_INTS = ['axis', 'blockSize', 'bits'];
const POOL_INTS = ['padTop', 'padLeft', 'padBottom', 'padRight', 'strideH', 'strideW', 'filterH', 'filterW', 'activation'];

export const OPSET: Record<OpKind, OpSpec> = {
  CONV_2D: { code: 1, ints: CONV_INTS, floats: [] },
  DEPTHWISE_CONV_2D: { code: 2, ints: [...CONV_INTS, 'depthMultiplier'], floats: [] },
  FULLY_CONNECTED: { code: 3, ints: ['activation', 'keepNumDims'], floats: [] },
  AVERAGE_POOL_2D: { code: 4, ints: POOL_INTS, floats: [] },
  MAX_POOL_2D: { code: 5, ints: POOL_INTS, floats: [] },
  ADD: { code: 6, ints: ['activation'], floats: [] },
  SUB: { code: 7, ints: ['activation'], floats: [] },
  MUL: { code: 8, ints: ['activation'], floats: [] },
  RESHAPE: { code: 9, ints: [], floats: [] },
  SOFTMAX: { code: 10, ints: [], floats: ['beta'] },
  LOGISTIC: { code: 11, ints: [], floats: [] },
  TANH: { code: 12, ints: [], floats: [] },
  RELU: { code: 13, ints: [], floats: [] },
  RELU6: { code: 14, ints: [], floats: [] },
  LEAKY_RELU: { code: 15, ints: [], floats: ['alpha'] },
  HARD_SWISH: { code: 16, ints: [], floats: [] },
  PAD: { code: 17, ints: [], floats: [] },
  TRANSPOSE: { code: 18, ints: [], floats: [] },
  MEAN: { code: 19, ints: ['keepDims'], floats: [] },
  CONCATENATION: { code: 20, ints: ['axis', 'activation'], floats: [] },
  PACK: { code: 21, ints: ['axis'], floats: [] },
  SHAPE: { code: 22, ints: [], floats: [] },
  STRIDED_SLICE: {
    code: 23,
    ints: ['beginMask', 'endMask', 'ellipsisMask', 'newAxisMask', 'shrinkAxisMask', 'offset'],
    floats: [],
  },
  RESIZE_NEAREST_NEIGHBOR: { code: 24, ints: ['alignCorners', 'halfPixelCenters'], floats: [] },
  QUANTIZE: { code: 25, ints: [], floats: [] },
  DEQUANTIZE: { code: 26, ints: [], floats: [] },
  SVDF: { code: 27, ints: ['rank', 'activation'], floats: [] },
  UNIDIRECTIONAL_SEQUENCE_LSTM: { code: 28, ints: ['activation', 'timeMajor'], floats: ['cellClip', 'projClip'] },
  RELU_N1_TO_1: { code: 29, ints: [], floats: [] },
  QUANTIZE_LINEAR: { code: 30, ints: QLINEAR_INTS, floats: [] },
  DEQUANTIZE_LINEAR: { code: 31, ints: QLINEAR_INTS, floats: [] },
  DYNAMIC_QUANTIZE_LINEAR: { code: 32, ints: [], floats: [] },
  MATMUL_INTEGER: { code: 33, ints: [], floats: [] },
  QLINEAR_MATMUL: { code: 34, ints: [], floats: [] },
  CONV_INTEGER: { code: 35, ints: [...CONV_INTS, 'groups'], floats: [] },
  QLINEAR_CONV: { code: 36, ints: [...CONV_INTS, 'groups'], floats: [] },
  CLIP: { code: 37, ints: ['lo', 'hi'], floats: ['flo', 'fhi'] },
  QLINEAR_AVERAGE_POOL: { code: 38, ints: POOL_INTS, floats: [] },
  QLINEAR_MUL: { code: 39, ints: [], floats: [] },
  LOOKUP: { code: 40, ints: [], floats: [] },
};

/** TFLite's fused activation numbering (the plan uses it too). */
export const ACTIVATION = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4, SIGN_BIT: 5 } as const;
/** qie's own activation code for an int8 output clamped to [lo, hi] (a fused ONNX
 * Clip): flag | (lo + 128) << 8 | (hi + 128), as opcodes.h QIE_ACT_CLAMP8 reads it. */
export const ACTIVATION_CLAMP8 = 0x1000000;
export function clamp8Activation(lo: number, hi: number): number {
  return ACTIVATION_CLAMP8 | ((lo + 128) << 8) | (hi + 128);
}
export function clamp8Bounds(activation: number): [number, number] | undefined {
  if ((activation & ~0xffff) !== ACTIVATION_CLAMP8) return undefined;
  return [((activation >> 8) & 0xff) - 128, (activation & 0xff) - 128];
}
