/* Convolution-family kernels: plain parameter structs and the reference kernels.
 * Kernels know nothing of plans or tensors: the op's prepare fills these structs
 * (already validated, multipliers precomputed) and eval hands over data pointers.
 * All activations are contiguous NHWC; filters OHWI (conv), 1HW(C*M) (depthwise),
 * [units, depth] (fully connected). Optimized kernels must match these bit for bit. */
#ifndef QIE_KERNELS_CONV_H
#define QIE_KERNELS_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "quant.h"

/* Geometry shared by conv and depthwise conv. prepare guarantees every value is
 * >= 1 (pads >= 0) and that every coordinate the loops form fits in int32. */
typedef struct {
  int32_t batches;
  int32_t in_h, in_w, in_c;
  int32_t out_h, out_w, out_c;
  int32_t k_h, k_w;
  int32_t filter_in_c;      /* conv: in_c / groups (== in_c when not grouped) */
  int32_t depth_multiplier; /* depthwise: out_c / in_c */
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  int32_t pad_top, pad_left;
} qie_conv_geom;

/* How an int8 conv-family kernel turns int32 accumulators into int8: output
 * channel c is requantized with multiplier[c], shift[c] (one entry per output
 * channel even for per-tensor weights), offset by output_zp and clamped. */
enum { QIE_RQ_FIXED = 0, QIE_RQ_FLOAT = 1 };

typedef struct {
  int32_t input_zp, filter_zp, output_zp;
  const int32_t* multiplier; /* QIE_RQ_FIXED */
  const int32_t* shift;      /* QIE_RQ_FIXED */
  int32_t act_min, act_max;
  int32_t mode;              /* QIE_RQ_FIXED (TFLite plans, the zero value) or QIE_RQ_FLOAT (ONNX) */
  const float* scale;        /* QIE_RQ_FLOAT: input_scale * filter_scale[c] / output_scale */
} qie_qs8_requant;

/* int8 activations, int8 weights, int32 bias (optional). */
typedef struct {
  qie_conv_geom g;
  qie_qs8_requant rq;
} qie_qs8_conv_params;

typedef struct {
  qie_conv_geom g;
  float act_min, act_max;
} qie_f32_conv_params;

typedef void (*qie_qs8_conv_fn)(const qie_qs8_conv_params* p, const int8_t* input,
                                const int8_t* filter, const int32_t* bias, int8_t* output);
typedef void (*qie_f32_conv_fn)(const qie_f32_conv_params* p, const float* input,
                                const float* filter, const float* bias, float* output);

/* Fully connected: input [batches, depth], weights [units, depth], output [batches, units]. */
typedef struct {
  int32_t batches, depth, units;
  qie_qs8_requant rq; /* units channels */
} qie_qs8_fc_params;

typedef struct {
  int32_t batches, depth, units;
  float act_min, act_max;
} qie_f32_fc_params;

typedef void (*qie_qs8_fc_fn)(const qie_qs8_fc_params* p, const int8_t* input,
                              const int8_t* weights, const int32_t* bias, int8_t* output);
typedef void (*qie_f32_fc_fn)(const qie_f32_fc_params* p, const float* input,
                              const float* weights, const float* bias, float* output);

/* Pooling: the window is clipped to the input; padding never contributes. */
typedef struct {
  int32_t batches;
  int32_t in_h, in_w, channels;
  int32_t out_h, out_w;
  int32_t k_h, k_w;
  int32_t stride_h, stride_w;
  int32_t pad_top, pad_left;
} qie_pool_geom;

typedef struct {
  qie_pool_geom g;
  int32_t act_min, act_max;
} qie_qs8_pool_params;

typedef struct {
  qie_pool_geom g;
  float act_min, act_max;
} qie_f32_pool_params;

/* Requantizes an int32 accumulator to int8: scale, add the zero point, clamp.
 * The zero point is added in 64 bits so a saturated product cannot overflow. */
static inline int8_t qie_requant_to_i8(int32_t acc, int32_t multiplier, int32_t shift,
                                       int32_t zp, int32_t act_min, int32_t act_max) {
  int64_t v = (int64_t)qie_mul_by_quantized_multiplier(acc, multiplier, (int)shift) + zp;
  if (v < act_min) v = act_min;
  if (v > act_max) v = act_max;
  return (int8_t)v;
}

/* ONNX's requantization: the accumulator times the float32 scale, rounded half
 * to even, plus the zero point, saturated. Clamping in float first keeps the
 * conversion defined for any accumulator; the result equals clamping after. */
static inline int8_t qie_requant_f32_to_i8(int32_t acc, float scale, int32_t zp, int32_t act_min,
                                           int32_t act_max) {
  float v = __builtin_rintf((float)acc * scale); /* default rounding mode: half to even */
  const float lo = (float)(act_min - zp), hi = (float)(act_max - zp);
  v = v < lo ? lo : (v > hi ? hi : v);
  return (int8_t)((int32_t)v + zp);
}

/* Requantizes channel c's accumulator in the mode the plan asked for. */
static inline int8_t qie_requant_channel(const qie_qs8_requant* rq, int32_t acc, int32_t c) {
  if (rq->mode == QIE_RQ_FLOAT)
    return qie_requant_f32_to_i8(acc, rq->scale[c], rq->output_zp, rq->act_min, rq->act_max);
  return qie_requant_to_i8(acc, rq->multiplier[c], rq->shift[c], rq->output_zp, rq->act_min,
                           rq->act_max);
}

/* Float clamp in TFLite's order (max with the lower bound, then min with the
 * upper), so a NaN passes through as it does there. */
static inline float qie_clamp_f32(float v, float lo, float hi) {
  v = v < lo ? lo : v;
  return hi < v ? hi : v;
}

/* ---- reference kernels (kernels/ref) ---- */
void qie_qs8_conv2d_nhwc__ref(const qie_qs8_conv_params* p, const int8_t* input,
                              const int8_t* filter, const int32_t* bias, int8_t* output);
void qie_f32_conv2d_nhwc__ref(const qie_f32_conv_params* p, const float* input,
                              const float* filter, const float* bias, float* output);
void qie_qs8_dwconv2d_nhwc__ref(const qie_qs8_conv_params* p, const int8_t* input,
                                const int8_t* filter, const int32_t* bias, int8_t* output);
void qie_f32_dwconv2d_nhwc__ref(const qie_f32_conv_params* p, const float* input,
                                const float* filter, const float* bias, float* output);
void qie_qs8_fc__ref_full(const qie_qs8_fc_params* p, const int8_t* input, const int8_t* weights,
                     const int32_t* bias, int8_t* output);
void qie_f32_fc__ref_full(const qie_f32_fc_params* p, const float* input, const float* weights,
                     const float* bias, float* output);
void qie_qs8_avgpool2d_nhwc__ref(const qie_qs8_pool_params* p, const int8_t* input,
                                 int8_t* output);
void qie_f32_avgpool2d_nhwc__ref(const qie_f32_pool_params* p, const float* input, float* output);
void qie_qs8_maxpool2d_nhwc__ref(const qie_qs8_pool_params* p, const int8_t* input,
                                 int8_t* output);
void qie_f32_maxpool2d_nhwc__ref(const qie_f32_pool_params* p, const float* input, float* output);

#endif
