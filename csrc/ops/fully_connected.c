/* FULLY_CONNECTED: input flattened to [batches, depth], weights [units, depth],
 * optional bias; int8 (per-tensor or per-channel weights) and float32. */
#include "conv_common.h"

typedef struct {
  qie_qs8_fc_params q;
  qie_f32_fc_params f;
  qie_kernel_binding bind;
} fc_data;

/* The output must be the input's shape with the last dim replaced by units when
 * keep_num_dims is set; otherwise [batches, units] (any shape ending in units
 * with batches * units elements is accepted, as TFLite Micro reads it so). */
static qie_status check_output_shape(qie_ctx* ctx, const qie_op* op, const qie_tensor* in,
                                     const qie_tensor* out, int32_t batches, int32_t units) {
  const char* l = qie_op_label(op);
  const int keep = op->iattr[QIE_FC_KEEP_NUM_DIMS] != 0;
  bool ok;
  if (keep) {
    ok = out->rank == in->rank && out->dims[out->rank - 1] == units;
    for (int i = 0; ok && i + 1 < in->rank; ++i) ok = out->dims[i] == in->dims[i];
  } else {
    ok = out->dims[out->rank - 1] == units && out->elems == (size_t)batches * (size_t)units;
  }
  if (!ok)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN,
                    "%s: output shape (rank %d) is not what %d batches x %d units%s gives", l,
                    out->rank, batches, units, keep ? " with keep_num_dims" : "");
  return QIE_OK;
}

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
  if ((st = qie_check_tensor(ctx, op, in, "input", dt, -1)) != QIE_OK) return st;
  if ((st = qie_check_tensor(ctx, op, w, "weights", dt, 2)) != QIE_OK) return st;
  if ((st = qie_check_tensor(ctx, op, out, "output", dt, -1)) != QIE_OK) return st;
  if (in->rank < 1 || out->rank < 1)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input and output need rank >= 1", l);
  if ((st = qie_conv_check_dims(ctx, op, in, "input")) != QIE_OK) return st;
  if ((st = qie_conv_check_dims(ctx, op, w, "weights")) != QIE_OK) return st;
  if ((st = qie_conv_check_dims(ctx, op, out, "output")) != QIE_OK) return st;
  const int32_t units = w->dims[0];
  const int32_t depth = w->dims[1];
  if (in->elems % (size_t)depth != 0)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input of %zu elements is not a multiple of depth %d",
                    l, in->elems, depth);
  const size_t nb = in->elems / (size_t)depth;
  if (nb > INT32_MAX)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: too many batches", l);
  const int32_t batches = (int32_t)nb;
  if (op->iattr[QIE_FC_KEEP_NUM_DIMS] != 0 && in->dims[in->rank - 1] != depth)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: keep_num_dims needs input depth %d, has %d", l,
                    depth, in->dims[in->rank - 1]);
  if ((st = check_output_shape(ctx, op, in, out, batches, units)) != QIE_OK) return st;
  const int32_t act = op->iattr[QIE_FC_ACTIVATION];
  const qie_kernel_table* kt = qie_conv_kernels(ctx);

  if (dt == QIE_DT_FLOAT32) {
    if ((st = qie_conv_check_bias(ctx, op, bias, QIE_DT_FLOAT32, units)) != QIE_OK) return st;
    fc_data* d = qie_persist_alloc(ctx, sizeof *d);
    if (!d) return QIE_ERR_NO_MEMORY;
    d->f.batches = batches;
    d->f.depth = depth;
    d->f.units = units;
    if ((st = qie_conv_act_range_f(ctx, op, act, &d->f.act_min, &d->f.act_max)) != QIE_OK)
      return st;
    op->data = d;
    return qie_bind_f32_fc(ctx, op, kt->f32_fc, &d->f, w, bias, &d->bind);
  }

  fc_data* d = qie_persist_alloc(ctx, sizeof *d);
  if (!d) return QIE_ERR_NO_MEMORY;
  d->q.batches = batches;
  d->q.depth = depth;
  d->q.units = units;
  if ((st = qie_conv_prepare_requant(ctx, op, in, w, bias, out, units, 0, act, &d->q.rq)) != QIE_OK)
    return st;
  op->data = d;
  return qie_bind_qs8_fc(ctx, op, kt->qs8_fc, &d->q, w, bias, &d->bind);
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const fc_data* d = op->data;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* w = qie_in(ctx, op, 1);
  const qie_tensor* bias = qie_in(ctx, op, 2);
  qie_tensor* out = qie_out(ctx, op, 0);
  const bool f32 = in->dtype == QIE_DT_FLOAT32;
  const qie_kernel_args args = {in->data, w->data, bias ? bias->data : NULL, d->bind.packed,
                               out->data};
  const uint64_t macs = (uint64_t)out->elems * (uint64_t)(f32 ? d->f.depth : d->q.depth);
  qie_run_binding(ctx, op, &d->bind, f32 ? (const void*)&d->f : (const void*)&d->q, &args, macs);
  return QIE_OK;
}

const qie_op_impl qie_op_fully_connected = {QIE_OP_FULLY_CONNECTED, "FULLY_CONNECTED", prepare,
                                            eval};
