/* SOFTMAX over the last dim. int8 input follows TFLite Micro's prepare
 * (PreprocessSoftmaxScaling with 5 integer bits, CalculateInputRadius). */
#include <math.h>

#include "../kernels/quant.h"
#include "../kernels/softmax.h"
#include "../runtime/runtime.h"

typedef struct {
  qie_softmax_q_params q;
  float beta;
  size_t rows, depth;
  qie_dtype in_dt, out_dt;
} softmax_data;

static qie_status prepare_q(qie_ctx* ctx, qie_op* op, softmax_data* d, const qie_tensor* in,
                            const qie_tensor* out) {
  float s_in, s_out;
  int32_t z_in, z_out;
  qie_status st;
  if ((st = qie_check_quant(ctx, op, in, "input", &s_in, &z_in)) != QIE_OK) return st;
  if ((st = qie_check_quant(ctx, op, out, "output", &s_out, &z_out)) != QIE_OK) return st;
  if (z_in < -128 || z_in > 127)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input zero point %d out of range", qie_op_label(op), (int)z_in);
  if (out->dtype == QIE_DT_INT8) {
    if (z_out != -128 || s_out != 1.0f / 256)
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: int8 output must have scale 1/256, zero point -128",
                      qie_op_label(op));
  } else if (z_out != -32768 || fabs((double)s_out - 1.0 / 65536) > 0.001 / 65536) {
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED,
                    "%s: int16 output must have scale 1/65536, zero point -32768", qie_op_label(op));
  }
  if (d->depth > 4095)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: int8 softmax over %zu > 4095 classes", qie_op_label(op),
                    d->depth);
  /* beta * scale as a Q5.26 multiplier, capped to keep it an int32 */
  double real = (double)d->beta * (double)s_in * (double)(1 << (31 - 5));
  if (real > 2147483647.0) real = 2147483647.0;
  if (!(real > 1.0))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: beta * input scale too small", qie_op_label(op));
  int shift = 0;
  qie_quantize_multiplier(real, &d->q.input_multiplier, &shift);
  d->q.input_left_shift = shift; /* in [1, 31] since 1 < real < 2^31 */
  const double radius = 31.0 * (double)(1LL << (31 - 5)) / (double)(1LL << shift);
  d->q.diff_min = -(int32_t)floor(radius);
  return QIE_OK;
}

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 1, 1, 1);
  if (st != QIE_OK) return st;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* out = qie_out(ctx, op, 0);
  if (in->rank < 1)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input must have rank >= 1", qie_op_label(op));
  if (!qie_same_shape(in, out))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output shape differs from input", qie_op_label(op));
  const bool ok_types = (in->dtype == QIE_DT_FLOAT32 && out->dtype == QIE_DT_FLOAT32) ||
                        (in->dtype == QIE_DT_INT8 &&
                         (out->dtype == QIE_DT_INT8 || out->dtype == QIE_DT_INT16));
  if (!ok_types)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %s -> %s unsupported", qie_op_label(op),
                    qie_dtype_name(in->dtype), qie_dtype_name(out->dtype));
  const float beta = op->fattr[QIE_FATTR_BETA];
  if (!isfinite(beta))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: beta is not finite", qie_op_label(op));

  softmax_data* d = qie_persist_alloc(ctx, sizeof(softmax_data));
  if (!d) return QIE_ERR_NO_MEMORY;
  d->beta = beta;
  d->in_dt = in->dtype;
  d->out_dt = out->dtype;
  const int32_t depth = in->dims[in->rank - 1];
  if (depth < 0) return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: negative dim", qie_op_label(op));
  d->depth = (size_t)depth;
  d->rows = d->depth ? in->elems / d->depth : 0;
  if (d->rows * d->depth != in->elems || in->elems != out->elems)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: element count disagrees with dims", qie_op_label(op));

  if (in->dtype == QIE_DT_INT8) {
    if ((st = prepare_q(ctx, op, d, in, out)) != QIE_OK) return st;
    op->kernel = out->dtype == QIE_DT_INT8 ? "qs8_softmax__ref" : "qs8_qs16_softmax__ref";
  } else {
    op->kernel = "f32_softmax__ref";
  }
  op->data = d;
  op->scratch_bytes = 0;
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const softmax_data* d = op->data;
  const qie_tensor* in = qie_in(ctx, op, 0);
  qie_tensor* out = qie_out(ctx, op, 0);
  if (!d || !in || !out) return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: not prepared", qie_op_label(op));
  if (d->rows * d->depth == 0) return QIE_OK;
  if (!in->data || !out->data)
    return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: tensor without data", qie_op_label(op));
  if (d->in_dt == QIE_DT_FLOAT32)
    qie_softmax_f32_ref(d->beta, d->rows, d->depth, in->data, out->data);
  else if (d->out_dt == QIE_DT_INT8)
    qie_softmax_s8_ref(&d->q, d->rows, d->depth, in->data, out->data);
  else
    qie_softmax_s8_s16_ref(&d->q, d->rows, d->depth, in->data, out->data);
  return QIE_OK;
}

const qie_op_impl qie_op_softmax = {QIE_OP_SOFTMAX, "SOFTMAX", prepare, eval};
