/* PACK: N inputs of one shape stacked along a new axis (iattr axis, negative
 * counts from the end of the output). A concatenation of chunks. */
#include "../kernels/shape_ops.h"
#include "../runtime/runtime.h"

typedef struct {
  qie_concat_params params;
  const void** inputs; /* filled at eval */
} pack_data;

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 1, QIE_OP_MAX_IO, 1);
  if (st) return st;
  const qie_tensor* first = qie_in(ctx, op, 0);
  const qie_tensor* out = qie_out(ctx, op, 0);
  const size_t es = qie_dtype_size(first->dtype);
  const int rank = first->rank;
  if (es == 0) return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: unsupported dtype", qie_op_label(op));
  if (rank < 0 || rank + 1 > QIE_SHAPE_MAX_RANK || out->rank != rank + 1)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input rank %d, output rank %d", qie_op_label(op),
                    rank, out->rank);
  if (out->dtype != first->dtype)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output is %s, input is %s", qie_op_label(op),
                    qie_dtype_name(out->dtype), qie_dtype_name(first->dtype));
  int axis = op->iattr[QIE_PACK_AXIS];
  if (axis < 0) axis += rank + 1;
  if (axis < 0 || axis > rank)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: axis %d is out of range", qie_op_label(op),
                    op->iattr[QIE_PACK_AXIS]);
  for (int d = 0, k = 0; d < rank + 1; ++d) {
    const int32_t want = d == axis ? op->n_in : first->dims[k++];
    if (out->dims[d] != want)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output dim %d is %d, expected %d",
                      qie_op_label(op), d, (int)out->dims[d], (int)want);
  }
  for (int i = 0; i < op->n_in; ++i) {
    const qie_tensor* in = qie_in(ctx, op, i);
    if (!in) return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input %d is absent", qie_op_label(op), i);
    if (in->dtype != first->dtype || !qie_same_shape(in, first))
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input %d differs in dtype or shape",
                      qie_op_label(op), i);
    if (in->q_count != 0 || out->q_count != 0) {
      if (in->q_count != 1 || out->q_count != 1 || in->scales[0] != out->scales[0] ||
          in->zero_points[0] != out->zero_points[0])
        return qie_fail(ctx, QIE_ERR_UNSUPPORTED,
                        "%s: input %d quantization differs from the output's", qie_op_label(op), i);
    }
  }

  size_t outer = 1, chunk = es;
  for (int d = 0; d < axis; ++d) outer *= (size_t)first->dims[d];
  for (int d = axis; d < rank; ++d) chunk *= (size_t)first->dims[d];
  pack_data* data = qie_persist_alloc(ctx, sizeof(pack_data));
  if (!data) return QIE_ERR_NO_MEMORY;
  size_t* chunks = qie_persist_alloc(ctx, (size_t)op->n_in * sizeof(size_t));
  if (!chunks) return QIE_ERR_NO_MEMORY;
  data->inputs = qie_persist_alloc(ctx, (size_t)op->n_in * sizeof(void*));
  if (!data->inputs) return QIE_ERR_NO_MEMORY;
  for (int i = 0; i < op->n_in; ++i) chunks[i] = chunk;
  data->params.n_inputs = op->n_in;
  data->params.outer = outer;
  data->params.chunk_bytes = chunks;
  op->data = data;
  op->kernel = "copy_pack__ref";
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  pack_data* data = op->data;
  qie_tensor* out = qie_out(ctx, op, 0);
  for (int i = 0; i < op->n_in; ++i) data->inputs[i] = qie_in(ctx, op, i)->data;
  qie_concat_ref(&data->params, data->inputs, out->data);
  return QIE_OK;
}

const qie_op_impl qie_op_pack = {QIE_OP_PACK, "PACK", prepare, eval};
