/* SHAPE: the input's dims as a 1-D int32 or int64 tensor (known at prepare). */
#include <string.h>

#include "../runtime/runtime.h"

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 1, 1, 1);
  if (st) return st;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* out = qie_out(ctx, op, 0);
  if (out->dtype != QIE_DT_INT32 && out->dtype != QIE_DT_INT64)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: output is %s, expected int32 or int64",
                    qie_op_label(op), qie_dtype_name(out->dtype));
  if (out->rank != 1 || out->dims[0] != in->rank)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output must be 1-D with %d elements",
                    qie_op_label(op), in->rank);
  if (in->rank < 0 || in->rank > QIE_MAX_RANK)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input rank %d", qie_op_label(op), in->rank);
  op->kernel = out->dtype == QIE_DT_INT32 ? "s32_shape__ref" : "s64_shape__ref";
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const qie_tensor* in = qie_in(ctx, op, 0);
  qie_tensor* out = qie_out(ctx, op, 0);
  uint8_t* dst = (uint8_t*)out->data;
  for (int i = 0; i < in->rank; ++i) {
    if (out->dtype == QIE_DT_INT32) {
      const int32_t v = in->dims[i];
      memcpy(dst + (size_t)i * 4, &v, 4);
    } else {
      const int64_t v = in->dims[i];
      memcpy(dst + (size_t)i * 8, &v, 8);
    }
  }
  return QIE_OK;
}

const qie_op_impl qie_op_shape = {QIE_OP_SHAPE, "SHAPE", prepare, eval};
