#include "onnx_common.h"

#include <math.h>

int qie_onnx_et(qie_dtype dt) {
  switch (dt) {
    case QIE_DT_INT8: return QIE_QE_I8;
    case QIE_DT_UINT8: return QIE_QE_U8;
    case QIE_DT_INT16: return QIE_QE_I16;
    case QIE_DT_UINT16: return QIE_QE_U16;
    case QIE_DT_INT32: return QIE_QE_I32;
    default: return 0;
  }
}

qie_status qie_onnx_check_scale(qie_ctx* ctx, const qie_op* op, const qie_tensor* t,
                                const char* role) {
  qie_status st = qie_check_tensor(ctx, op, t, role, QIE_DT_FLOAT32, -1);
  if (st != QIE_OK) return st;
  if ((t->flags & QIE_TF_CONST) && t->data) {
    const float* s = t->data;
    for (size_t i = 0; i < t->elems; ++i)
      if (!isfinite(s[i]) || !(s[i] > 0.0f))
        return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s entry %zu is %g (must be finite and > 0)",
                        qie_op_label(op), role, i, (double)s[i]);
  }
  return QIE_OK;
}

qie_status qie_onnx_qparam_layout(qie_ctx* ctx, const qie_op* op, const qie_tensor* x,
                                  const qie_tensor* scale, const qie_tensor* zp, int32_t axis,
                                  int32_t block, qie_qparam_layout* l) {
  const char* lb = qie_op_label(op);
  if (zp && (zp->elems != scale->elems || (zp->elems > 1 && zp->rank != scale->rank)))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: zero point shape differs from the scale's", lb);
  if (block < 0) return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: block size %d", lb, block);
  if (scale->elems == 1 && block == 0) {
    l->outer = 1;
    l->dim = 1;
    l->inner = x->elems;
    l->block = 0;
    l->per_axis = 0;
    return QIE_OK;
  }
  if (axis < 0 || axis >= x->rank)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: axis %d outside rank %d", lb, axis, x->rank);
  l->outer = 1;
  l->inner = 1;
  for (int i = 0; i < axis; ++i) l->outer *= (size_t)x->dims[i];
  for (int i = axis + 1; i < x->rank; ++i) l->inner *= (size_t)x->dims[i];
  l->dim = (size_t)x->dims[axis];
  l->per_axis = 1;
  l->block = (size_t)block;
  if (block == 0) {
    if (scale->rank != 1 || scale->elems != l->dim)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: per-axis scale has %zu entries, axis %d has %zu",
                      lb, scale->elems, axis, l->dim);
    return QIE_OK;
  }
  if (scale->rank != x->rank)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: blocked scale rank %d, input rank %d", lb,
                    scale->rank, x->rank);
  for (int i = 0; i < x->rank; ++i) {
    const size_t want = i == axis ? (l->dim + l->block - 1) / l->block : (size_t)x->dims[i];
    if ((size_t)scale->dims[i] != want)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: blocked scale dim %d is %d, expected %zu", lb,
                      i, scale->dims[i], want);
  }
  return QIE_OK;
}

qie_status qie_onnx_check_scalar_zp(qie_ctx* ctx, const qie_op* op, const qie_tensor* t,
                                    const char* role, qie_dtype want) {
  if (t->elems != 1)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %s must have one element (has %zu)",
                    qie_op_label(op), role, t->elems);
  if (t->dtype != want)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s is %s, expected %s", qie_op_label(op), role,
                    qie_dtype_name(t->dtype), qie_dtype_name(want));
  return QIE_OK;
}
