/* CONCATENATION: in = values... along iattr axis (negative counts from the end),
 * fused activation on float only. Quantized inputs must share the output's
 * scale/zero point: TFLite's int8 kernel requires it (TFLite Micro copies the
 * bytes without requantizing), so differing ones are refused. */
#include "../kernels/quant.h"
#include "../kernels/shape_ops.h"
#include "../runtime/runtime.h"

typedef struct {
  qie_concat_params params;
  const void** inputs; /* filled at eval */
  int clamp;
  float act_min, act_max;
} concat_data;

static qie_status same_quant(qie_ctx* ctx, const qie_op* op, const qie_tensor* a,
                             const qie_tensor* b, int i) {
  if (a->q_count == 0 && b->q_count == 0) return QIE_OK;
  if (a->q_count != 1 || b->q_count != 1)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED,
                    "%s: input %d and the output must both be per-tensor quantized", qie_op_label(op),
                    i);
  if (a->scales[0] != b->scales[0] || a->zero_points[0] != b->zero_points[0])
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED,
                    "%s: input %d quantization (scale %g, zero point %d) differs from the "
                    "output's (scale %g, zero point %d)",
                    qie_op_label(op), i, (double)a->scales[0], (int)a->zero_points[0],
                    (double)b->scales[0], (int)b->zero_points[0]);
  return QIE_OK;
}

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 1, QIE_OP_MAX_IO, 1);
  if (st) return st;
  const qie_tensor* out = qie_out(ctx, op, 0);
  const size_t es = qie_dtype_size(out->dtype);
  const int rank = out->rank;
  if (es == 0) return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: unsupported dtype", qie_op_label(op));
  if (rank < 1 || rank > QIE_SHAPE_MAX_RANK)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output rank %d", qie_op_label(op), rank);
  int axis = op->iattr[QIE_CONCAT_AXIS];
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: axis %d is out of range for rank %d",
                    qie_op_label(op), op->iattr[QIE_CONCAT_AXIS], rank);

  const int activation = op->iattr[QIE_CONCAT_ACTIVATION];
  float act_min = 0.0f, act_max = 0.0f;
  if (activation != QIE_ACT_NONE) {
    if (out->dtype != QIE_DT_FLOAT32)
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: fused activation on %s output", qie_op_label(op),
                      qie_dtype_name(out->dtype));
    if (qie_activation_range_float(activation, &act_min, &act_max) != 0)
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: fused activation %d", qie_op_label(op),
                      activation);
  }

  size_t inner = 1, outer = 1;
  for (int d = axis + 1; d < rank; ++d) inner *= (size_t)out->dims[d];
  for (int d = 0; d < axis; ++d) outer *= (size_t)out->dims[d];

  concat_data* data = qie_persist_alloc(ctx, sizeof(concat_data));
  if (!data) return QIE_ERR_NO_MEMORY;
  size_t* chunks = qie_persist_alloc(ctx, (size_t)op->n_in * sizeof(size_t));
  if (!chunks) return QIE_ERR_NO_MEMORY;
  data->inputs = qie_persist_alloc(ctx, (size_t)op->n_in * sizeof(void*));
  if (!data->inputs) return QIE_ERR_NO_MEMORY;

  int64_t axis_total = 0;
  for (int i = 0; i < op->n_in; ++i) {
    const qie_tensor* in = qie_in(ctx, op, i);
    if (!in) return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input %d is absent", qie_op_label(op), i);
    if (in->dtype != out->dtype)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input %d is %s, output is %s", qie_op_label(op),
                      i, qie_dtype_name(in->dtype), qie_dtype_name(out->dtype));
    if (in->rank != rank)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input %d has rank %d, output %d",
                      qie_op_label(op), i, in->rank, rank);
    for (int d = 0; d < rank; ++d)
      if (d != axis && in->dims[d] != out->dims[d])
        return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input %d dim %d is %d, output's is %d",
                        qie_op_label(op), i, d, (int)in->dims[d], (int)out->dims[d]);
    st = same_quant(ctx, op, in, out, i);
    if (st) return st;
    axis_total += in->dims[axis];
    chunks[i] = (size_t)in->dims[axis] * inner * es;
  }
  if (axis_total != out->dims[axis])
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: inputs add up to %lld along axis %d, output "
                    "has %d", qie_op_label(op), (long long)axis_total, axis, (int)out->dims[axis]);

  data->params.n_inputs = op->n_in;
  data->params.outer = outer;
  data->params.chunk_bytes = chunks;
  data->clamp = activation != QIE_ACT_NONE;
  data->act_min = act_min;
  data->act_max = act_max;
  op->data = data;
  op->kernel = "copy_concat__ref";
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  concat_data* data = op->data;
  qie_tensor* out = qie_out(ctx, op, 0);
  for (int i = 0; i < op->n_in; ++i) data->inputs[i] = qie_in(ctx, op, i)->data;
  qie_concat_ref(&data->params, data->inputs, out->data);
  if (data->clamp) qie_clamp_f32_ref(out->data, out->elems, data->act_min, data->act_max);
  return QIE_OK;
}

const qie_op_impl qie_op_concatenation = {QIE_OP_CONCATENATION, "CONCATENATION", prepare, eval};
