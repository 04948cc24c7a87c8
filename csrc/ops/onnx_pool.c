/* QLINEAR_AVERAGE_POOL: int8 NHWC average pooling with ONNX Runtime's arithmetic
 * (QLinearAveragePool / QLinearGlobalAveragePool, and the fused QDQ forms): the
 * window's int32 sum of (x - x_zp) times the float32 scale
 * x_scale / (y_scale * count), rounded half to even, plus y_zp, saturated. Padding
 * is excluded from the window and from count. Attribute slots are AVERAGE_POOL_2D's. */
#include "../kernels/onnx_quant.h"
#include "conv_common.h"

typedef struct {
  qie_pool_geom g;
  int32_t x_zp, y_zp;
  float x_scale, y_scale;
} qpool_data;

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 1, 1, 1);
  if (st != QIE_OK) return st;
  const char* l = qie_op_label(op);
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* out = qie_out(ctx, op, 0);
  if ((st = qie_check_tensor(ctx, op, in, "input", QIE_DT_INT8, 4)) != QIE_OK) return st;
  if ((st = qie_check_tensor(ctx, op, out, "output", QIE_DT_INT8, 4)) != QIE_OK) return st;
  if ((st = qie_conv_check_act_quant(ctx, op, in, "input", -128, 127)) != QIE_OK) return st;
  if ((st = qie_conv_check_act_quant(ctx, op, out, "output", -128, 127)) != QIE_OK) return st;
  qpool_data* d = qie_persist_alloc(ctx, sizeof *d);
  if (!d) return QIE_ERR_NO_MEMORY;
  qie_pool_geom* g = &d->g;
  g->batches = in->dims[0];
  g->in_h = in->dims[1];
  g->in_w = in->dims[2];
  g->channels = in->dims[3];
  g->out_h = out->dims[1];
  g->out_w = out->dims[2];
  g->k_h = op->iattr[QIE_POOL_FILTER_H];
  g->k_w = op->iattr[QIE_POOL_FILTER_W];
  g->stride_h = op->iattr[QIE_POOL_STRIDE_H];
  g->stride_w = op->iattr[QIE_POOL_STRIDE_W];
  g->pad_top = op->iattr[QIE_POOL_PAD_TOP];
  g->pad_left = op->iattr[QIE_POOL_PAD_LEFT];
  if (out->dims[0] != g->batches || out->dims[3] != g->channels)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output batch / channels differ from input", l);
  if ((st = qie_conv_check_axis(ctx, op, "height", g->in_h, g->k_h, g->stride_h, 1, g->pad_top,
                                op->iattr[QIE_POOL_PAD_BOTTOM], g->out_h)) != QIE_OK)
    return st;
  if ((st = qie_conv_check_axis(ctx, op, "width", g->in_w, g->k_w, g->stride_w, 1, g->pad_left,
                                op->iattr[QIE_POOL_PAD_RIGHT], g->out_w)) != QIE_OK)
    return st;
  /* the int32 window sum: 255 * window must not overflow */
  if ((int64_t)g->k_h * g->k_w > (1 << 23))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: window %dx%d too large", l, g->k_h, g->k_w);
  d->x_zp = in->zero_points[0];
  d->y_zp = out->zero_points[0];
  d->x_scale = in->scales[0];
  d->y_scale = out->scales[0];
  op->data = d;
  op->kernel = "onnx_qs8_avgpool2d_nhwc__ref";
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const qpool_data* d = op->data;
  const qie_pool_geom* g = &d->g;
  const int8_t* x = qie_in(ctx, op, 0)->data;
  int8_t* y = qie_out(ctx, op, 0)->data;
  for (int32_t b = 0; b < g->batches; ++b)
    for (int32_t oy = 0; oy < g->out_h; ++oy)
      for (int32_t ox = 0; ox < g->out_w; ++ox) {
        const int32_t y0 = oy * g->stride_h - g->pad_top, x0 = ox * g->stride_w - g->pad_left;
        const int32_t ya = y0 < 0 ? 0 : y0, yb = y0 + g->k_h > g->in_h ? g->in_h : y0 + g->k_h;
        const int32_t xa = x0 < 0 ? 0 : x0, xb = x0 + g->k_w > g->in_w ? g->in_w : x0 + g->k_w;
        const int32_t count = (yb - ya) * (xb - xa);
        const float scale = d->x_scale / (d->y_scale * (float)count);
        for (int32_t c = 0; c < g->channels; ++c) {
          int32_t acc = 0;
          for (int32_t iy = ya; iy < yb; ++iy)
            for (int32_t ix = xa; ix < xb; ++ix)
              acc += x[(((size_t)b * g->in_h + iy) * g->in_w + ix) * g->channels + c] - d->x_zp;
          const size_t o = (((size_t)b * g->out_h + oy) * g->out_w + ox) * g->channels + c;
          y[o] = (int8_t)qie_round_sat((float)acc * scale, d->y_zp, -128, 127);
        }
      }
  return QIE_OK;
}

const qie_op_impl qie_op_qlinear_average_pool = {QIE_OP_QLINEAR_AVERAGE_POOL, "QLINEAR_AVERAGE_POOL",
                                                 prepare, eval};
