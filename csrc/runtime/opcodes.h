/* Op codes and attribute slots of the plan. src/model/opset.ts mirrors this file:
 * change both together (test/opset.test.ts compares them). Layout is NHWC; filters
 * are OHWI (conv), 1HW(C*M) (depthwise), [out, in] (fully connected). */
#ifndef QIE_OPCODES_H
#define QIE_OPCODES_H

enum qie_opcode {
  QIE_OP_CONV_2D = 1,
  QIE_OP_DEPTHWISE_CONV_2D = 2,
  QIE_OP_FULLY_CONNECTED = 3,
  QIE_OP_AVERAGE_POOL_2D = 4,
  QIE_OP_MAX_POOL_2D = 5,
  QIE_OP_ADD = 6,
  QIE_OP_SUB = 7,
  QIE_OP_MUL = 8,
  QIE_OP_RESHAPE = 9, /* also SQUEEZE, EXPAND_DIMS: a byte copy into the output's shape */
  QIE_OP_SOFTMAX = 10,
  QIE_OP_LOGISTIC = 11,
  QIE_OP_TANH = 12,
  QIE_OP_RELU = 13,
  QIE_OP_RELU6 = 14,
  QIE_OP_LEAKY_RELU = 15,
  QIE_OP_HARD_SWISH = 16,
  QIE_OP_PAD = 17,
  QIE_OP_TRANSPOSE = 18,
  QIE_OP_MEAN = 19,
  QIE_OP_CONCATENATION = 20,
  QIE_OP_PACK = 21,
  QIE_OP_SHAPE = 22,
  QIE_OP_STRIDED_SLICE = 23,
  QIE_OP_RESIZE_NEAREST_NEIGHBOR = 24,
  QIE_OP_QUANTIZE = 25,
  QIE_OP_DEQUANTIZE = 26,
  QIE_OP_SVDF = 27,
  QIE_OP_UNIDIRECTIONAL_SEQUENCE_LSTM = 28,
  QIE_OP_RELU_N1_TO_1 = 29,
  /* ONNX-defined ops (plans with ONNX semantics) */
  QIE_OP_QUANTIZE_LINEAR = 30,
  QIE_OP_DEQUANTIZE_LINEAR = 31,
  QIE_OP_DYNAMIC_QUANTIZE_LINEAR = 32,
  QIE_OP_MATMUL_INTEGER = 33,
  QIE_OP_QLINEAR_MATMUL = 34,
  QIE_OP_CONV_INTEGER = 35,
  QIE_OP_QLINEAR_CONV = 36,
  QIE_OP_CLIP = 37,
  QIE_OP_QLINEAR_AVERAGE_POOL = 38,
  QIE_OP_QLINEAR_MUL = 39,
  QIE_OP_LOOKUP = 40,
  QIE_OP_COUNT_ = 41
};

/* Fused activation (same numbering as TFLite's ActivationFunctionType). */
enum qie_activation {
  QIE_ACT_NONE = 0,
  QIE_ACT_RELU = 1,
  QIE_ACT_RELU_N1_TO_1 = 2,
  QIE_ACT_RELU6 = 3,
  QIE_ACT_TANH = 4,
  QIE_ACT_SIGN_BIT = 5
};
/* Not TFLite's: an int8 output clamped to [lo, hi] (a Clip fused into an int8 conv,
 * depthwise conv or fully connected op of an ONNX model). The activation value is
 * QIE_ACT_CLAMP8 | (lo + 128) << 8 | (hi + 128). */
#define QIE_ACT_CLAMP8 0x1000000

/* Inputs of each op (index -1 = absent optional input), then attribute slots.
 *
 * CONV_2D, DEPTHWISE_CONV_2D: in = input, filter, bias?
 *   pads are explicit (the importer turns SAME/VALID into them); the output shape
 *   is the output tensor's and must agree with the pads. */
enum {
  QIE_CONV_PAD_TOP = 0,
  QIE_CONV_PAD_LEFT = 1,
  QIE_CONV_PAD_BOTTOM = 2,
  QIE_CONV_PAD_RIGHT = 3,
  QIE_CONV_STRIDE_H = 4,
  QIE_CONV_STRIDE_W = 5,
  QIE_CONV_DILATION_H = 6,
  QIE_CONV_DILATION_W = 7,
  QIE_CONV_ACTIVATION = 8,
  QIE_CONV_DEPTH_MULTIPLIER = 9 /* depthwise only */
};
/* AVERAGE_POOL_2D, MAX_POOL_2D: in = input */
enum {
  QIE_POOL_PAD_TOP = 0,
  QIE_POOL_PAD_LEFT = 1,
  QIE_POOL_PAD_BOTTOM = 2,
  QIE_POOL_PAD_RIGHT = 3,
  QIE_POOL_STRIDE_H = 4,
  QIE_POOL_STRIDE_W = 5,
  QIE_POOL_FILTER_H = 6,
  QIE_POOL_FILTER_W = 7,
  QIE_POOL_ACTIVATION = 8
};
/* FULLY_CONNECTED: in = input, weights [units, depth], bias? */
enum { QIE_FC_ACTIVATION = 0, QIE_FC_KEEP_NUM_DIMS = 1 };
/* ADD, SUB, MUL: in = a, b (numpy broadcasting) */
enum { QIE_ELTWISE_ACTIVATION = 0 };
/* SOFTMAX: fattr[0] = beta.  LEAKY_RELU: fattr[0] = alpha. */
enum { QIE_FATTR_BETA = 0, QIE_FATTR_ALPHA = 0 };
/* PAD: in = input, paddings (const int32/int64 [rank, 2]), constant value? (PADV2; int8 scalar or float) */
/* TRANSPOSE: in = input, perm (const int32) */
/* MEAN: in = input, axes (const int32) */
enum { QIE_MEAN_KEEP_DIMS = 0 };
/* CONCATENATION: in = values... */
enum { QIE_CONCAT_AXIS = 0, QIE_CONCAT_ACTIVATION = 1 };
/* PACK: in = values... */
enum { QIE_PACK_AXIS = 0 };
/* SHAPE: in = input; out int32 or int64 */
/* STRIDED_SLICE: in = input, begin, end, strides (const int32) */
enum {
  QIE_SLICE_BEGIN_MASK = 0,
  QIE_SLICE_END_MASK = 1,
  QIE_SLICE_ELLIPSIS_MASK = 2,
  QIE_SLICE_NEW_AXIS_MASK = 3,
  QIE_SLICE_SHRINK_AXIS_MASK = 4,
  QIE_SLICE_OFFSET = 5
};
/* RESIZE_NEAREST_NEIGHBOR: in = input, size (const int32 [2]) */
enum { QIE_RESIZE_ALIGN_CORNERS = 0, QIE_RESIZE_HALF_PIXEL_CENTERS = 1 };
/* SVDF: in = input, weights_feature, weights_time, bias?, activation_state (variable) */
enum { QIE_SVDF_RANK = 0, QIE_SVDF_ACTIVATION = 1 };
/* UNIDIRECTIONAL_SEQUENCE_LSTM: TFLite's 24 inputs in TFLite's order */
enum { QIE_LSTM_ACTIVATION = 0, QIE_LSTM_TIME_MAJOR = 1 };
enum { QIE_LSTM_FATTR_CELL_CLIP = 0, QIE_LSTM_FATTR_PROJ_CLIP = 1 };
/* QUANTIZE_LINEAR, DEQUANTIZE_LINEAR: in = x, scale, zero point? (tensors, may be
 * computed); bits 4 saturates int8/uint8 values to the 4-bit range. */
enum { QIE_QLINEAR_AXIS = 0, QIE_QLINEAR_BLOCK = 1, QIE_QLINEAR_BITS = 2 };
/* DYNAMIC_QUANTIZE_LINEAR: in = x; out = y (uint8), scale, zero point */
/* MATMUL_INTEGER: in = a, b, a_zp?, b_zp?; out int32.
 * QLINEAR_MATMUL: in = a, a_scale, a_zp?, b, b_scale, b_zp?, y_scale, y_zp? */
/* CONV_INTEGER: in = x (NHWC), w (OHWI), x_zp?, w_zp?; out int32.
 * QLINEAR_CONV: in = x, x_scale, x_zp?, w, w_scale, w_zp?, y_scale, y_zp?, bias?
 * Both use the CONV_2D slots 0..7 and: */
enum { QIE_QCONV_GROUPS = 9 };
/* QLINEAR_AVERAGE_POOL: in = input (int8 NHWC); AVERAGE_POOL_2D's slots; ONNX Runtime's
 * float requantization of the window sum */
/* QLINEAR_MUL: in = a, b (int8, numpy broadcasting); ONNX Runtime's float requantization */
/* LOOKUP: in = x (8-bit), table (constant, 256 entries of the output type) */
/* CLIP: in = x; integer bounds in iattr, float bounds in fattr */
enum { QIE_CLIP_LO = 0, QIE_CLIP_HI = 1 };
enum { QIE_CLIP_FLO = 0, QIE_CLIP_FHI = 1 };

#endif
