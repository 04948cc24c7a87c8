#include "conv_common.h"

#include <math.h>

#include "../kernels/quant.h"

const qie_kernel_table* qie_conv_kernels(const qie_ctx* ctx) {
  return ctx->kernels ? ctx->kernels : qie_select_kernels("ref");
}

qie_status qie_conv_check_axis(qie_ctx* ctx, const qie_op* op, const char* axis, int32_t in,
                               int32_t k, int32_t stride, int32_t dilation, int32_t pad_a,
                               int32_t pad_b, int32_t out) {
  const char* l = qie_op_label(op);
  if (in < 1 || k < 1 || out < 1)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s sizes must be >= 1 (input %d, filter %d, output %d)",
                    l, axis, in, k, out);
  if (stride < 1 || dilation < 1)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s stride %d and dilation %d must be >= 1", l,
                    axis, stride, dilation);
  if (pad_a < 0 || pad_b < 0)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: negative %s padding (%d, %d)", l, axis, pad_a,
                    pad_b);
  /* int64: the kernels form coordinates up to in + pads and need them in int32 */
  const int64_t padded = (int64_t)in + pad_a + pad_b;
  const int64_t dk = ((int64_t)k - 1) * dilation + 1;
  if (padded > INT32_MAX)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s padding too large", l, axis);
  if (dk > padded)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s window %lld exceeds padded input %lld", l,
                    axis, (long long)dk, (long long)padded);
  const int64_t expected = (padded - dk) / stride + 1;
  if (expected != out)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output %s is %d, expected %lld", l, axis, out,
                    (long long)expected);
  return QIE_OK;
}

qie_status qie_conv_check_dims(qie_ctx* ctx, const qie_op* op, const qie_tensor* t,
                               const char* role) {
  for (int i = 0; i < t->rank; ++i)
    if (t->dims[i] < 1)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s dim %d is %d (must be >= 1)",
                      qie_op_label(op), role, i, t->dims[i]);
  return QIE_OK;
}

static bool valid_scale(float s) { return isfinite(s) && s > 0.0f; }

qie_status qie_conv_check_act_quant(qie_ctx* ctx, const qie_op* op, const qie_tensor* t,
                                    const char* role, int32_t qmin, int32_t qmax) {
  const char* l = qie_op_label(op);
  if (t->q_count != 1 || !t->scales || !t->zero_points)
    return qie_fail(ctx, t->q_count > 1 ? QIE_ERR_UNSUPPORTED : QIE_ERR_INVALID_PLAN,
                    "%s: %s needs per-tensor quantization (has %d scales)", l, role, t->q_count);
  if (!valid_scale(t->scales[0]))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s scale %g must be finite and > 0", l, role,
                    (double)t->scales[0]);
  if (t->zero_points[0] < qmin || t->zero_points[0] > qmax)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s zero point %d out of range", l, role,
                    t->zero_points[0]);
  return QIE_OK;
}

qie_status qie_conv_check_filter_quant(qie_ctx* ctx, const qie_op* op, const qie_tensor* w,
                                       int32_t channels, int axis, int32_t* filter_zp) {
  const char* l = qie_op_label(op);
  if (w->q_count < 1 || !w->scales || !w->zero_points)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: weights are not quantized", l);
  if (w->q_count > 1 && (w->q_count != channels || w->q_axis != axis))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN,
                    "%s: weights have %d scales on axis %d, expected 1 or %d on axis %d", l,
                    w->q_count, w->q_axis, channels, axis);
  for (int c = 0; c < w->q_count; ++c) {
    const float s = w->scales[c];
    if (!isfinite(s) || s < 0.0f)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: weight scale %d is %g", l, c, (double)s);
  }
  if (w->q_count == 1) {
    if (w->zero_points[0] < -128 || w->zero_points[0] > 127)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: weight zero point %d out of range", l,
                      w->zero_points[0]);
    *filter_zp = w->zero_points[0];
    return QIE_OK;
  }
  /* TFLite's per-channel weights are symmetric; one offset per channel is not supported */
  for (int c = 0; c < w->q_count; ++c)
    if (w->zero_points[c] != 0)
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: per-channel weight zero point %d is %d", l,
                      c, w->zero_points[c]);
  *filter_zp = 0;
  return QIE_OK;
}

qie_status qie_conv_multipliers(qie_ctx* ctx, const qie_op* op, const qie_tensor* in,
                                const qie_tensor* w, const qie_tensor* out, int32_t channels,
                                int32_t* multiplier, int32_t* shift) {
  const double in_scale = (double)in->scales[0];
  const double out_scale = (double)out->scales[0];
  for (int32_t c = 0; c < channels; ++c) {
    const double ws = (double)w->scales[w->q_count > 1 ? c : 0];
    int sh = 0;
    qie_quantize_multiplier(in_scale * ws / out_scale, &multiplier[c], &sh);
    /* a left shift of 31 or more cannot be applied to an int32 accumulator */
    if (sh > 30)
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: effective scale of channel %d too large (2^%d)",
                      qie_op_label(op), c, sh);
    shift[c] = sh;
  }
  return QIE_OK;
}

qie_status qie_conv_check_bias(qie_ctx* ctx, const qie_op* op, const qie_tensor* bias,
                               qie_dtype dtype, int32_t channels) {
  if (!bias) return QIE_OK;
  qie_status st = qie_check_tensor(ctx, op, bias, "bias", dtype, -1);
  if (st != QIE_OK) return st;
  if (bias->elems != (size_t)channels)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: bias has %zu elements, expected %d",
                    qie_op_label(op), bias->elems, channels);
  return QIE_OK;
}

qie_status qie_conv_act_range_q(qie_ctx* ctx, const qie_op* op, int32_t activation,
                                const qie_tensor* out, int32_t qmin, int32_t qmax,
                                int32_t* act_min, int32_t* act_max) {
  if ((activation & ~0xffff) == QIE_ACT_CLAMP8) {
    const int32_t lo = ((activation >> 8) & 0xff) - 128, hi = (activation & 0xff) - 128;
    if (lo > hi || lo < qmin || hi > qmax)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: clamp [%d, %d] invalid for [%d, %d]",
                      qie_op_label(op), lo, hi, qmin, qmax);
    *act_min = lo;
    *act_max = hi;
    return QIE_OK;
  }
  const float scale = out->scales[0];
  /* bounds are quantized as zp + round(bound / scale) in int32: keep that in range */
  if ((activation == QIE_ACT_RELU6 && 6.0f / scale > 1e9f) ||
      (activation == QIE_ACT_RELU_N1_TO_1 && 1.0f / scale > 1e9f))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: output scale %g too small for activation %d",
                    qie_op_label(op), (double)scale, activation);
  if (activation < 0 ||
      qie_activation_range_quantized(activation, scale, out->zero_points[0], qmin, qmax, act_min,
                                     act_max) != 0)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: fused activation %d not supported",
                    qie_op_label(op), activation);
  return QIE_OK;
}

qie_status qie_conv_act_range_f(qie_ctx* ctx, const qie_op* op, int32_t activation,
                                float* act_min, float* act_max) {
  if (activation < 0 || qie_activation_range_float(activation, act_min, act_max) != 0)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: fused activation %d not supported",
                    qie_op_label(op), activation);
  return QIE_OK;
}

qie_status qie_conv_prepare_requant(qie_ctx* ctx, const qie_op* op, const qie_tensor* in,
                                    const qie_tensor* w, const qie_tensor* bias,
                                    const qie_tensor* out, int32_t channels, int w_axis,
                                    int32_t activation, qie_qs8_requant* rq) {
  qie_status st;
  if ((st = qie_conv_check_bias(ctx, op, bias, QIE_DT_INT32, channels)) != QIE_OK) return st;
  if ((st = qie_conv_check_act_quant(ctx, op, in, "input", -128, 127)) != QIE_OK) return st;
  if ((st = qie_conv_check_act_quant(ctx, op, out, "output", -128, 127)) != QIE_OK) return st;
  if ((st = qie_conv_check_filter_quant(ctx, op, w, channels, w_axis, &rq->filter_zp)) != QIE_OK)
    return st;
  int32_t* mult = qie_persist_alloc(ctx, 2 * (size_t)channels * sizeof(int32_t));
  if (!mult) return QIE_ERR_NO_MEMORY;
  int32_t* shift = mult + channels;
  rq->multiplier = mult;
  rq->shift = shift;
  if (ctx->semantics == QIE_SEMANTICS_ONNX) {
    /* ONNX Runtime's QLinearConv/QLinearMatMul scale: x_scale * w_scale[c] / y_scale
     * in float32, left to right; the kernels round half to even. The fixed-point
     * pair stays zero: this mode never reads it. */
    float* scale = qie_persist_alloc(ctx, (size_t)channels * sizeof(float));
    if (!scale) return QIE_ERR_NO_MEMORY;
    const float xs = in->scales[0], ys = out->scales[0];
    for (int32_t c = 0; c < channels; ++c) {
      const float ws = w->scales[w->q_count > 1 ? c : 0];
      const float prod = xs * ws;
      scale[c] = prod / ys;
      if (!isfinite(scale[c]))
        return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: effective scale of channel %d is not finite",
                        qie_op_label(op), c);
    }
    rq->mode = QIE_RQ_FLOAT;
    rq->scale = scale;
  } else if ((st = qie_conv_multipliers(ctx, op, in, w, out, channels, mult, shift)) != QIE_OK) {
    return st;
  }
  rq->input_zp = in->zero_points[0];
  rq->output_zp = out->zero_points[0];
  return qie_conv_act_range_q(ctx, op, activation, out, -128, 127, &rq->act_min, &rq->act_max);
}
