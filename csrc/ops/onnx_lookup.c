/* LOOKUP: y = table[x - min(x's type)] for 8-bit x. The importer fills the
 * 256-entry table at load with the float function the model defines (ONNX
 * Runtime's QLinearLeakyRelu, for instance, is defined this way), so any
 * element-wise function of one 8-bit value is exact. */
#include "../runtime/runtime.h"

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 2, 2, 1);
  if (st != QIE_OK) return st;
  const char* l = qie_op_label(op);
  const qie_tensor* x = qie_in(ctx, op, 0);
  const qie_tensor* table = qie_in(ctx, op, 1);
  const qie_tensor* y = qie_out(ctx, op, 0);
  if (x->dtype != QIE_DT_INT8 && x->dtype != QIE_DT_UINT8)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: input %s (8-bit only)", l, qie_dtype_name(x->dtype));
  if (y->dtype != QIE_DT_INT8 && y->dtype != QIE_DT_UINT8)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: output %s (8-bit only)", l, qie_dtype_name(y->dtype));
  if (!qie_same_shape(x, y))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output shape differs from input", l);
  if (table->dtype != y->dtype || table->elems != 256 || !(table->flags & QIE_TF_CONST) || !table->data)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: table must be a constant of 256 %s values", l,
                    qie_dtype_name(y->dtype));
  op->kernel = "x8_lookup__ref";
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const qie_tensor* x = qie_in(ctx, op, 0);
  const uint8_t* table = qie_in(ctx, op, 1)->data;
  uint8_t* y = qie_out(ctx, op, 0)->data;
  const uint8_t* in = x->data;
  /* int8 x indexes from -128: flipping the sign bit maps it onto 0..255 */
  const uint8_t flip = x->dtype == QIE_DT_INT8 ? 0x80 : 0;
  for (size_t i = 0; i < x->elems; ++i) y[i] = table[in[i] ^ flip];
  return QIE_OK;
}

const qie_op_impl qie_op_lookup = {QIE_OP_LOOKUP, "LOOKUP", prepare, eval};
