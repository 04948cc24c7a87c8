/* ONNX QuantizeLinear, DequantizeLinear (per tensor, per axis, blocked; 8/16-bit
 * and 4-bit values held one per byte) and DynamicQuantizeLinear. Scales and
 * zero points are tensors that may be computed at run time. */
#include "onnx_common.h"

typedef struct {
  qie_quantize_linear_params q;
  qie_dequantize_linear_params d;
} qlinear_data;

/* in = x, scale, zero point?; out = y. */
static qie_status prepare_common(qie_ctx* ctx, qie_op* op, bool quantize) {
  qie_status st = qie_check_io(ctx, op, 2, 3, 1);
  if (st != QIE_OK) return st;
  const char* l = qie_op_label(op);
  const qie_tensor* x = qie_in(ctx, op, 0);
  const qie_tensor* scale = qie_in(ctx, op, 1);
  const qie_tensor* zp = qie_in(ctx, op, 2);
  const qie_tensor* y = qie_out(ctx, op, 0);
  if ((st = qie_onnx_check_scale(ctx, op, scale, "scale")) != QIE_OK) return st;
  if (!qie_same_shape(x, y))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output shape differs from input", l);
  const qie_tensor* q = quantize ? y : x; /* the integer side */
  const int et = qie_onnx_et(q->dtype);
  if (!et || (quantize && et == QIE_QE_I32))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %s values not supported", l,
                    qie_dtype_name(q->dtype));
  if ((st = qie_check_tensor(ctx, op, quantize ? x : y, quantize ? "input" : "output",
                             QIE_DT_FLOAT32, -1)) != QIE_OK)
    return st;
  if (zp && zp->dtype != q->dtype)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: zero point is %s, values are %s", l,
                    qie_dtype_name(zp->dtype), qie_dtype_name(q->dtype));
  qlinear_data* d = qie_persist_alloc(ctx, sizeof *d);
  if (!d) return QIE_ERR_NO_MEMORY;
  qie_qparam_layout lay;
  if ((st = qie_onnx_qparam_layout(ctx, op, x, scale, zp, op->iattr[QIE_QLINEAR_AXIS],
                                   op->iattr[QIE_QLINEAR_BLOCK], &lay)) != QIE_OK)
    return st;
  int32_t qmin = 0, qmax = 0;
  qie_dtype_qrange(q->dtype, &qmin, &qmax);
  const int32_t bits = op->iattr[QIE_QLINEAR_BITS];
  if (bits == 4 && (q->dtype == QIE_DT_INT8 || q->dtype == QIE_DT_UINT8)) {
    qmin = q->dtype == QIE_DT_INT8 ? -8 : 0;
    qmax = q->dtype == QIE_DT_INT8 ? 7 : 15;
  } else if (bits != 0) {
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %d-bit %s values not supported", l, bits,
                    qie_dtype_name(q->dtype));
  }
  if (zp && (zp->flags & QIE_TF_CONST) && zp->data)
    for (size_t i = 0; i < zp->elems; ++i) {
      const int32_t z = qie_qe_load(zp->data, et, i);
      if (z < qmin || z > qmax)
        return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: zero point %d outside [%d, %d]", l, z, qmin, qmax);
    }
  if (quantize) {
    d->q.l = lay;
    d->q.out_et = et;
    d->q.zp_et = zp ? et : 0;
    d->q.qmin = qmin;
    d->q.qmax = qmax;
    op->kernel = "onnx_quantize_linear__ref";
  } else {
    d->d.l = lay;
    d->d.in_et = et;
    d->d.zp_et = zp ? et : 0;
    op->kernel = "onnx_dequantize_linear__ref";
  }
  op->data = d;
  return QIE_OK;
}

static qie_status prepare_quantize(qie_ctx* ctx, qie_op* op) { return prepare_common(ctx, op, true); }
static qie_status prepare_dequantize(qie_ctx* ctx, qie_op* op) { return prepare_common(ctx, op, false); }

static qie_status eval_quantize(qie_ctx* ctx, qie_op* op) {
  const qlinear_data* d = op->data;
  const qie_tensor* zp = qie_in(ctx, op, 2);
  qie_quantize_linear__ref(&d->q, qie_in(ctx, op, 0)->data, qie_in(ctx, op, 1)->data,
                           zp ? zp->data : NULL, qie_out(ctx, op, 0)->data);
  return QIE_OK;
}

static qie_status eval_dequantize(qie_ctx* ctx, qie_op* op) {
  const qlinear_data* d = op->data;
  const qie_tensor* zp = qie_in(ctx, op, 2);
  qie_dequantize_linear__ref(&d->d, qie_in(ctx, op, 0)->data, qie_in(ctx, op, 1)->data,
                             zp ? zp->data : NULL, qie_out(ctx, op, 0)->data);
  return QIE_OK;
}

/* in = x (float32); out = y (uint8, x's shape), scale (float32, 1 element), zero point (uint8, 1). */
static qie_status prepare_dynamic(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 1, 1, 3);
  if (st != QIE_OK) return st;
  const qie_tensor* x = qie_in(ctx, op, 0);
  const qie_tensor* y = qie_out(ctx, op, 0);
  if ((st = qie_check_tensor(ctx, op, x, "input", QIE_DT_FLOAT32, -1)) != QIE_OK) return st;
  if ((st = qie_check_tensor(ctx, op, y, "output", QIE_DT_UINT8, -1)) != QIE_OK) return st;
  if (!qie_same_shape(x, y))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output shape differs from input", qie_op_label(op));
  if ((st = qie_check_tensor(ctx, op, qie_out(ctx, op, 1), "scale", QIE_DT_FLOAT32, -1)) != QIE_OK)
    return st;
  if ((st = qie_onnx_check_scalar_zp(ctx, op, qie_out(ctx, op, 1), "scale", QIE_DT_FLOAT32)) != QIE_OK)
    return st;
  if ((st = qie_onnx_check_scalar_zp(ctx, op, qie_out(ctx, op, 2), "zero point", QIE_DT_UINT8)) != QIE_OK)
    return st;
  op->kernel = "onnx_dynamic_quantize_linear__ref";
  return QIE_OK;
}

static qie_status eval_dynamic(qie_ctx* ctx, qie_op* op) {
  const qie_tensor* x = qie_in(ctx, op, 0);
  qie_dynamic_quantize_linear__ref(x->elems, x->data, qie_out(ctx, op, 0)->data,
                                   qie_out(ctx, op, 1)->data, qie_out(ctx, op, 2)->data);
  return QIE_OK;
}

const qie_op_impl qie_op_quantize_linear = {QIE_OP_QUANTIZE_LINEAR, "QUANTIZE_LINEAR",
                                            prepare_quantize, eval_quantize};
const qie_op_impl qie_op_dequantize_linear = {QIE_OP_DEQUANTIZE_LINEAR, "DEQUANTIZE_LINEAR",
                                              prepare_dequantize, eval_dequantize};
const qie_op_impl qie_op_dynamic_quantize_linear = {
    QIE_OP_DYNAMIC_QUANTIZE_LINEAR, "DYNAMIC_QUANTIZE_LINEAR", prepare_dynamic, eval_dynamic};
