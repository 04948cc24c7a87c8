/* RESHAPE (also SQUEEZE, EXPAND_DIMS): the output holds the input's bytes in a new
 * shape; the optional shape input is ignored (the output tensor's shape rules). */
#include "../kernels/shape_ops.h"
#include "../runtime/runtime.h"

/* Data-movement ops keep the real value of each element only if the output
 * shares the input's quantization. */
static qie_status same_quant(qie_ctx* ctx, const qie_op* op, const qie_tensor* a,
                             const qie_tensor* b) {
  if (a->q_count == 0 && b->q_count == 0) return QIE_OK;
  if (a->q_count != 1 || b->q_count != 1)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED,
                    "%s: input and output must both be per-tensor quantized", qie_op_label(op));
  if (a->scales[0] != b->scales[0] || a->zero_points[0] != b->zero_points[0])
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED,
                    "%s: output quantization (scale %g, zero point %d) differs from the "
                    "input's (scale %g, zero point %d)",
                    qie_op_label(op), (double)b->scales[0], (int)b->zero_points[0],
                    (double)a->scales[0], (int)a->zero_points[0]);
  return QIE_OK;
}

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 1, 2, 1);
  if (st) return st;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* out = qie_out(ctx, op, 0);
  if (in->dtype != out->dtype)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output is %s, input is %s", qie_op_label(op),
                    qie_dtype_name(out->dtype), qie_dtype_name(in->dtype));
  if (qie_dtype_size(in->dtype) == 0)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: unsupported dtype", qie_op_label(op));
  if (in->elems != out->elems || in->bytes != out->bytes)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input has %zu elements, output %zu",
                    qie_op_label(op), in->elems, out->elems);
  st = same_quant(ctx, op, in, out);
  if (st) return st;
  op->kernel = "copy_reshape__ref";
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const qie_tensor* in = qie_in(ctx, op, 0);
  qie_tensor* out = qie_out(ctx, op, 0);
  qie_copy_bytes_ref(out->data, in->data, out->bytes);
  return QIE_OK;
}

const qie_op_impl qie_op_reshape = {QIE_OP_RESHAPE, "RESHAPE", prepare, eval};
