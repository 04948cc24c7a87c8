/* TRANSPOSE: in = input, perm (const int32/int64, a permutation of 0..rank-1). */
#include "../kernels/shape_ops.h"
#include "../runtime/runtime.h"

static qie_status same_quant(qie_ctx* ctx, const qie_op* op, const qie_tensor* a,
                             const qie_tensor* b) {
  if (a->q_count == 0 && b->q_count == 0) return QIE_OK;
  if (a->q_count != 1 || b->q_count != 1)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED,
                    "%s: input and output must both be per-tensor quantized", qie_op_label(op));
  if (a->scales[0] != b->scales[0] || a->zero_points[0] != b->zero_points[0])
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED,
                    "%s: output quantization differs from the input's", qie_op_label(op));
  return QIE_OK;
}

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 2, 2, 1);
  if (st) return st;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* perm = qie_in(ctx, op, 1);
  const qie_tensor* out = qie_out(ctx, op, 0);
  const size_t es = qie_dtype_size(in->dtype);
  if (out->dtype != in->dtype || es == 0)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output is %s, input is %s", qie_op_label(op),
                    qie_dtype_name(out->dtype), qie_dtype_name(in->dtype));
  const int rank = in->rank;
  if (rank < 0 || rank > QIE_SHAPE_MAX_RANK || out->rank != rank)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input rank %d, output rank %d", qie_op_label(op),
                    rank, out->rank);
  if (perm->dtype != QIE_DT_INT32 && perm->dtype != QIE_DT_INT64)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: perm is %s, expected int32", qie_op_label(op),
                    qie_dtype_name(perm->dtype));
  if (!(perm->flags & QIE_TF_CONST) || !perm->data)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: perm must be constant", qie_op_label(op));
  if (perm->elems != (size_t)rank || perm->bytes < perm->elems * qie_dtype_size(perm->dtype))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: perm has %zu entries, input rank is %d",
                    qie_op_label(op), perm->elems, rank);
  st = same_quant(ctx, op, in, out);
  if (st) return st;

  qie_transpose_params* p = qie_persist_alloc(ctx, sizeof(qie_transpose_params));
  if (!p) return QIE_ERR_NO_MEMORY;
  p->rank = rank;
  p->elem_size = es;
  bool seen[QIE_SHAPE_MAX_RANK] = {false};
  for (int i = 0; i < rank; ++i) {
    const int64_t v = qie_const_int(perm, (size_t)i);
    if (v < 0 || v >= rank || seen[v])
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: perm is not a permutation of 0..%d",
                      qie_op_label(op), rank - 1);
    seen[v] = true;
    p->perm[i] = (int)v;
    p->in_dims[i] = in->dims[i];
  }
  for (int i = 0; i < rank; ++i)
    if (out->dims[i] != in->dims[p->perm[i]])
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output dim %d is %d, expected %d",
                      qie_op_label(op), i, (int)out->dims[i], (int)in->dims[p->perm[i]]);
  op->data = p;
  switch (es) {
    case 1: op->kernel = "x8_transpose__ref"; break;
    case 2: op->kernel = "x16_transpose__ref"; break;
    case 4: op->kernel = "x32_transpose__ref"; break;
    default: op->kernel = "x64_transpose__ref"; break;
  }
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const qie_tensor* in = qie_in(ctx, op, 0);
  qie_tensor* out = qie_out(ctx, op, 0);
  if (out->elems == 0) return QIE_OK;
  qie_transpose_ref(op->data, in->data, out->data);
  return QIE_OK;
}

const qie_op_impl qie_op_transpose = {QIE_OP_TRANSPOSE, "TRANSPOSE", prepare, eval};
