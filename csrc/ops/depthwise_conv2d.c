/* DEPTHWISE_CONV_2D: NHWC input, 1HW(C*M) filter, optional bias; output channel
 * ic * M + m; int8 (per-tensor or per-channel on axis 3) and float32. */
#include <string.h>

#include "conv_common.h"

typedef struct {
  qie_qs8_conv_params q;
  qie_f32_conv_params f;
  qie_kernel_binding bind;
} dwconv_data;

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 2, 3, 1);
  if (st != QIE_OK) return st;
  const char* l = qie_op_label(op);
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* w = qie_in(ctx, op, 1);
  const qie_tensor* bias = qie_in(ctx, op, 2);
  const qie_tensor* out = qie_out(ctx, op, 0);
  const qie_dtype dt = in->dtype;
  if (dt != QIE_DT_INT8 && dt != QIE_DT_FLOAT32)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: input type %s not supported", l,
                    qie_dtype_name(dt));
  if ((st = qie_check_tensor(ctx, op, in, "input", dt, 4)) != QIE_OK) return st;
  if ((st = qie_check_tensor(ctx, op, w, "filter", dt, 4)) != QIE_OK) return st;
  if ((st = qie_check_tensor(ctx, op, out, "output", dt, 4)) != QIE_OK) return st;
  if ((st = qie_conv_check_dims(ctx, op, in, "input")) != QIE_OK) return st;
  if ((st = qie_conv_check_dims(ctx, op, w, "filter")) != QIE_OK) return st;
  if ((st = qie_conv_check_dims(ctx, op, out, "output")) != QIE_OK) return st;
  if (!(w->flags & QIE_TF_CONST) || !w->data)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: filter must be constant", l);

  qie_conv_geom g;
  memset(&g, 0, sizeof g);
  g.batches = in->dims[0];
  g.in_h = in->dims[1];
  g.in_w = in->dims[2];
  g.in_c = in->dims[3];
  g.k_h = w->dims[1];
  g.k_w = w->dims[2];
  g.out_c = w->dims[3];
  g.filter_in_c = 1;
  g.out_h = out->dims[1];
  g.out_w = out->dims[2];
  g.stride_h = op->iattr[QIE_CONV_STRIDE_H];
  g.stride_w = op->iattr[QIE_CONV_STRIDE_W];
  g.dilation_h = op->iattr[QIE_CONV_DILATION_H];
  g.dilation_w = op->iattr[QIE_CONV_DILATION_W];
  g.pad_top = op->iattr[QIE_CONV_PAD_TOP];
  g.pad_left = op->iattr[QIE_CONV_PAD_LEFT];
  if (w->dims[0] != 1)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: filter dim 0 is %d, expected 1", l, w->dims[0]);
  if (g.out_c % g.in_c != 0)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN,
                    "%s: filter depth %d is not a multiple of input depth %d", l, g.out_c, g.in_c);
  g.depth_multiplier = g.out_c / g.in_c;
  /* TFLite's kernel trusts the attribute; refuse a plan where it disagrees with the shapes */
  const int32_t dm_attr = op->iattr[QIE_CONV_DEPTH_MULTIPLIER];
  if (dm_attr != 0 && dm_attr != g.depth_multiplier)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN,
                    "%s: depth multiplier %d does not match filter depth %d / input depth %d", l,
                    dm_attr, g.out_c, g.in_c);
  if (out->dims[0] != g.batches || out->dims[3] != g.out_c)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output shape [%d,%d,%d,%d] does not match batch %d / channels %d",
                    l, out->dims[0], out->dims[1], out->dims[2], out->dims[3], g.batches, g.out_c);
  if ((st = qie_conv_check_axis(ctx, op, "height", g.in_h, g.k_h, g.stride_h, g.dilation_h,
                                g.pad_top, op->iattr[QIE_CONV_PAD_BOTTOM], g.out_h)) != QIE_OK)
    return st;
  if ((st = qie_conv_check_axis(ctx, op, "width", g.in_w, g.k_w, g.stride_w, g.dilation_w,
                                g.pad_left, op->iattr[QIE_CONV_PAD_RIGHT], g.out_w)) != QIE_OK)
    return st;
  const int32_t act = op->iattr[QIE_CONV_ACTIVATION];
  const qie_kernel_table* kt = qie_conv_kernels(ctx);

  if (dt == QIE_DT_FLOAT32) {
    if ((st = qie_conv_check_bias(ctx, op, bias, QIE_DT_FLOAT32, g.out_c)) != QIE_OK) return st;
    dwconv_data* d = qie_persist_alloc(ctx, sizeof *d);
    if (!d) return QIE_ERR_NO_MEMORY;
    d->f.g = g;
    if ((st = qie_conv_act_range_f(ctx, op, act, &d->f.act_min, &d->f.act_max)) != QIE_OK)
      return st;
    op->data = d;
    return qie_bind_f32_conv(ctx, op, kt->f32_dwconv, &d->f, w, bias, &d->bind);
  }

  dwconv_data* d = qie_persist_alloc(ctx, sizeof *d);
  if (!d) return QIE_ERR_NO_MEMORY;
  d->q.g = g;
  if ((st = qie_conv_prepare_requant(ctx, op, in, w, bias, out, g.out_c, 3, act, &d->q.rq)) != QIE_OK)
    return st;
  op->data = d;
  return qie_bind_qs8_conv(ctx, op, kt->qs8_dwconv, &d->q, w, bias, &d->bind);
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const dwconv_data* d = op->data;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* w = qie_in(ctx, op, 1);
  const qie_tensor* bias = qie_in(ctx, op, 2);
  qie_tensor* out = qie_out(ctx, op, 0);
  const bool f32 = in->dtype == QIE_DT_FLOAT32;
  const qie_kernel_args args = {in->data, w->data, bias ? bias->data : NULL, d->bind.packed,
                               out->data};
  const qie_conv_geom* g = f32 ? &d->f.g : &d->q.g;
  const uint64_t macs = (uint64_t)out->elems * (uint64_t)g->k_h * (uint64_t)g->k_w;
  qie_run_binding(ctx, op, &d->bind, f32 ? (const void*)&d->f : (const void*)&d->q, &args, macs);
  return QIE_OK;
}

const qie_op_impl qie_op_depthwise_conv2d = {QIE_OP_DEPTHWISE_CONV_2D, "DEPTHWISE_CONV_2D",
                                             prepare, eval};
