/* MEAN: in = input, axes (const int32; negative and repeated axes allowed),
 * iattr keep_dims. float32, int8 and int16 as TFLite Micro's reduce kernels:
 * int8/int16 with equal input/output quantization take a plain int32 sum and a
 * truncating division; otherwise the sum minus the input zero point is
 * requantized by in_scale/out_scale folded with 1/count. */
#include <math.h>

#include "../kernels/quant.h"
#include "../kernels/shape_ops.h"
#include "../runtime/runtime.h"

static qie_status check_scale(qie_ctx* ctx, const qie_op* op, const qie_tensor* t,
                              const char* role) {
  if (t->q_count != 1)
    return qie_fail(ctx, t->q_count == 0 ? QIE_ERR_INVALID_PLAN : QIE_ERR_UNSUPPORTED,
                    "%s: %s must be per-tensor quantized", qie_op_label(op), role);
  const float s = t->scales[0];
  if (!(s > 0.0f) || !isfinite(s))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s scale %g is not positive", qie_op_label(op),
                    role, (double)s);
  return QIE_OK;
}

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 2, 2, 1);
  if (st) return st;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* axes = qie_in(ctx, op, 1);
  const qie_tensor* out = qie_out(ctx, op, 0);
  if (in->dtype != QIE_DT_FLOAT32 && in->dtype != QIE_DT_INT8 && in->dtype != QIE_DT_INT16)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %s input is not supported", qie_op_label(op),
                    qie_dtype_name(in->dtype));
  if (out->dtype != in->dtype)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output is %s, input is %s", qie_op_label(op),
                    qie_dtype_name(out->dtype), qie_dtype_name(in->dtype));
  const int rank = in->rank;
  if (rank < 0 || rank > QIE_SHAPE_MAX_RANK)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input rank %d", qie_op_label(op), rank);
  if (axes->dtype != QIE_DT_INT32 && axes->dtype != QIE_DT_INT64)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: axes are %s, expected int32", qie_op_label(op),
                    qie_dtype_name(axes->dtype));
  if (!(axes->flags & QIE_TF_CONST) || !axes->data)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: axes must be constant", qie_op_label(op));
  if (axes->rank > 1 || axes->bytes < axes->elems * qie_dtype_size(axes->dtype))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: axes must be a scalar or 1-D", qie_op_label(op));

  /* resolve axes: negative from the end, duplicates once; a scalar input has none */
  bool reduced[QIE_SHAPE_MAX_RANK] = {false};
  if (rank > 0) {
    for (size_t i = 0; i < axes->elems; ++i) {
      int64_t a = qie_const_int(axes, i);
      if (a < 0) a += rank;
      if (a < 0 || a >= rank)
        return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: axis %lld is out of range for rank %d",
                        qie_op_label(op), (long long)qie_const_int(axes, i), rank);
      reduced[a] = true;
    }
  }

  /* expected output shape, output strides per input dim, elements per output */
  const bool keep = op->iattr[QIE_MEAN_KEEP_DIMS] != 0;
  int32_t want[QIE_SHAPE_MAX_RANK];
  int want_rank = 0;
  int64_t count = 1;
  for (int d = 0; d < rank; ++d) {
    if (reduced[d]) {
      count *= in->dims[d]; /* <= elems of the input: no overflow */
      if (keep) want[want_rank++] = 1;
    } else {
      want[want_rank++] = in->dims[d];
    }
  }
  if (out->rank != want_rank)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output rank %d, expected %d", qie_op_label(op),
                    out->rank, want_rank);
  for (int d = 0; d < want_rank; ++d)
    if (out->dims[d] != want[d])
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output dim %d is %d, expected %d",
                      qie_op_label(op), d, (int)out->dims[d], (int)want[d]);

  qie_mean_q_params* p = qie_persist_alloc(ctx, sizeof(qie_mean_q_params));
  if (!p) return QIE_ERR_NO_MEMORY;
  qie_reduce_shape* s = &p->shape;
  s->rank = rank;
  s->in_elems = in->elems;
  s->out_elems = out->elems;
  s->count = in->elems == 0 ? 0 : count;
  int64_t stride = 1;
  for (int d = rank - 1; d >= 0; --d) {
    s->in_dims[d] = in->dims[d];
    s->out_stride[d] = reduced[d] ? 0 : stride;
    if (!reduced[d]) stride *= in->dims[d];
  }

  if (in->dtype == QIE_DT_FLOAT32) {
    op->kernel = "f32_mean__ref";
  } else {
    st = check_scale(ctx, op, in, "input");
    if (st) return st;
    st = check_scale(ctx, op, out, "output");
    if (st) return st;
    if (s->count > INT32_MAX)
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %lld elements per mean overflow int32",
                      qie_op_label(op), (long long)s->count);
    const int32_t lo = in->dtype == QIE_DT_INT8 ? -128 : -32768;
    const int32_t hi = in->dtype == QIE_DT_INT8 ? 127 : 32767;
    p->in_zp = in->zero_points[0];
    p->out_zp = out->zero_points[0];
    if (p->in_zp < lo || p->in_zp > hi || p->out_zp < lo || p->out_zp > hi)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: zero point out of the %s range",
                      qie_op_label(op), qie_dtype_name(in->dtype));
    /* TFLite Micro requantizes every integer mean, equal parameters included (the
     * mobilenet_v2 golden decides between its historical variants): the scale
     * ratio's multiplier with 1/count folded in */
    qie_quantize_multiplier((double)in->scales[0] / (double)out->scales[0], &p->multiplier,
                            &p->shift);
    if (p->shift > 31)
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: scale ratio too large", qie_op_label(op));
    qie_mean_fold_count(s->count, &p->multiplier, &p->shift);
    op->scratch_bytes = out->elems * sizeof(int32_t);
    op->kernel = in->dtype == QIE_DT_INT8 ? "qs8_mean__ref" : "qs16_mean__ref";
  }
  op->data = p;
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const qie_mean_q_params* p = op->data;
  const qie_tensor* in = qie_in(ctx, op, 0);
  qie_tensor* out = qie_out(ctx, op, 0);
  switch (in->dtype) {
    case QIE_DT_FLOAT32:
      qie_mean_f32_ref(&p->shape, in->data, out->data);
      break;
    case QIE_DT_INT8:
      qie_mean_s8_ref(p, in->data, out->data, op->scratch);
      break;
    default:
      qie_mean_s16_ref(p, in->data, out->data, op->scratch);
      break;
  }
  return QIE_OK;
}

const qie_op_impl qie_op_mean = {QIE_OP_MEAN, "MEAN", prepare, eval};
