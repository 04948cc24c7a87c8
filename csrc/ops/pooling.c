/* AVERAGE_POOL_2D and MAX_POOL_2D over NHWC, int8 and float32. int8 pooling does
 * no requantization, so the output must share the input's scale and zero point. */
#include <math.h>
#include <string.h>

#include "../kernels/conv.h"
#include "conv_common.h"

typedef struct {
  qie_qs8_pool_params q;
  qie_f32_pool_params f;
} pool_data;

/* Largest clipped window an int8 average may sum: 2^23 * 128 stays below 2^31. */
#define QIE_POOL_MAX_WINDOW (1 << 23)

static qie_status prepare_pool(qie_ctx* ctx, qie_op* op, bool average) {
  qie_status st = qie_check_io(ctx, op, 1, 1, 1);
  if (st != QIE_OK) return st;
  const char* l = qie_op_label(op);
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* out = qie_out(ctx, op, 0);
  const qie_dtype dt = in->dtype;
  if (dt != QIE_DT_INT8 && dt != QIE_DT_FLOAT32)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: input type %s not supported", l,
                    qie_dtype_name(dt));
  if ((st = qie_check_tensor(ctx, op, in, "input", dt, 4)) != QIE_OK) return st;
  if ((st = qie_check_tensor(ctx, op, out, "output", dt, 4)) != QIE_OK) return st;
  if ((st = qie_conv_check_dims(ctx, op, in, "input")) != QIE_OK) return st;
  if ((st = qie_conv_check_dims(ctx, op, out, "output")) != QIE_OK) return st;

  qie_pool_geom g;
  memset(&g, 0, sizeof g);
  g.batches = in->dims[0];
  g.in_h = in->dims[1];
  g.in_w = in->dims[2];
  g.channels = in->dims[3];
  g.out_h = out->dims[1];
  g.out_w = out->dims[2];
  g.k_h = op->iattr[QIE_POOL_FILTER_H];
  g.k_w = op->iattr[QIE_POOL_FILTER_W];
  g.stride_h = op->iattr[QIE_POOL_STRIDE_H];
  g.stride_w = op->iattr[QIE_POOL_STRIDE_W];
  g.pad_top = op->iattr[QIE_POOL_PAD_TOP];
  g.pad_left = op->iattr[QIE_POOL_PAD_LEFT];
  if (out->dims[0] != g.batches || out->dims[3] != g.channels)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output batch/channels %d/%d, expected %d/%d", l,
                    out->dims[0], out->dims[3], g.batches, g.channels);
  if ((st = qie_conv_check_axis(ctx, op, "height", g.in_h, g.k_h, g.stride_h, 1, g.pad_top,
                                op->iattr[QIE_POOL_PAD_BOTTOM], g.out_h)) != QIE_OK)
    return st;
  if ((st = qie_conv_check_axis(ctx, op, "width", g.in_w, g.k_w, g.stride_w, 1, g.pad_left,
                                op->iattr[QIE_POOL_PAD_RIGHT], g.out_w)) != QIE_OK)
    return st;
  if (average) {
    /* TFLite fails on a window lying wholly in the padding; windows move
     * monotonically, so checking the first and last along each axis suffices */
    const int64_t last_y = (int64_t)(g.out_h - 1) * g.stride_h - g.pad_top;
    const int64_t last_x = (int64_t)(g.out_w - 1) * g.stride_w - g.pad_left;
    if (g.pad_top >= g.k_h || g.pad_left >= g.k_w || last_y >= g.in_h || last_x >= g.in_w)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: a pooling window lies entirely in padding", l);
  }
  const int32_t act = op->iattr[QIE_POOL_ACTIVATION];
  pool_data* d = qie_persist_alloc(ctx, sizeof *d);
  if (!d) return QIE_ERR_NO_MEMORY;

  if (dt == QIE_DT_FLOAT32) {
    d->f.g = g;
    if ((st = qie_conv_act_range_f(ctx, op, act, &d->f.act_min, &d->f.act_max)) != QIE_OK)
      return st;
    op->data = d;
    op->kernel = average ? "f32_avgpool2d_nhwc__ref" : "f32_maxpool2d_nhwc__ref";
    return QIE_OK;
  }

  if ((st = qie_conv_check_act_quant(ctx, op, in, "input", -128, 127)) != QIE_OK) return st;
  if ((st = qie_conv_check_act_quant(ctx, op, out, "output", -128, 127)) != QIE_OK) return st;
  const float si = in->scales[0], so = out->scales[0];
  if (fabsf(si - so) > 1e-6f * fmaxf(si, so) || in->zero_points[0] != out->zero_points[0])
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED,
                    "%s: output quantization (%g, %d) differs from input's (%g, %d)", l, (double)so,
                    out->zero_points[0], (double)si, in->zero_points[0]);
  const int64_t wy = g.k_h < g.in_h ? g.k_h : g.in_h;
  const int64_t wx = g.k_w < g.in_w ? g.k_w : g.in_w;
  if (average && wy * wx > QIE_POOL_MAX_WINDOW)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: pooling window of %lld elements too large", l,
                    (long long)(wy * wx));
  d->q.g = g;
  if ((st = qie_conv_act_range_q(ctx, op, act, out, -128, 127, &d->q.act_min, &d->q.act_max)) !=
      QIE_OK)
    return st;
  op->data = d;
  op->kernel = average ? "qs8_avgpool2d_nhwc__ref" : "qs8_maxpool2d_nhwc__ref";
  return QIE_OK;
}

static qie_status prepare_avg(qie_ctx* ctx, qie_op* op) { return prepare_pool(ctx, op, true); }
static qie_status prepare_max(qie_ctx* ctx, qie_op* op) { return prepare_pool(ctx, op, false); }

static qie_status eval_avg(qie_ctx* ctx, qie_op* op) {
  const pool_data* d = op->data;
  const qie_tensor* in = qie_in(ctx, op, 0);
  qie_tensor* out = qie_out(ctx, op, 0);
  if (in->dtype == QIE_DT_FLOAT32)
    qie_f32_avgpool2d_nhwc__ref(&d->f, in->data, out->data);
  else
    qie_qs8_avgpool2d_nhwc__ref(&d->q, in->data, out->data);
  return QIE_OK;
}

static qie_status eval_max(qie_ctx* ctx, qie_op* op) {
  const pool_data* d = op->data;
  const qie_tensor* in = qie_in(ctx, op, 0);
  qie_tensor* out = qie_out(ctx, op, 0);
  if (in->dtype == QIE_DT_FLOAT32)
    qie_f32_maxpool2d_nhwc__ref(&d->f, in->data, out->data);
  else
    qie_qs8_maxpool2d_nhwc__ref(&d->q, in->data, out->data);
  return QIE_OK;
}

const qie_op_impl qie_op_average_pool2d = {QIE_OP_AVERAGE_POOL_2D, "AVERAGE_POOL_2D", prepare_avg,
                                           eval_avg};
const qie_op_impl qie_op_max_pool2d = {QIE_OP_MAX_POOL_2D, "MAX_POOL_2D", prepare_max, eval_max};
