/* PAD / PADV2: constant padding. in = input, paddings (const int32/int64 [rank, 2]),
 * constant value? (scalar of the input's dtype). Without a constant value the pad is
 * the output zero point for quantized tensors, else 0. */
#include <string.h>

#include "../kernels/shape_ops.h"
#include "../runtime/runtime.h"

typedef struct {
  qie_pad_params params;
  uint8_t pad_value[8]; /* used when no constant-value input is given */
} pad_data;

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

/* Stores zp as one element of dtype; fails if it does not fit. */
static bool store_zero_point(qie_dtype dtype, int32_t zp, uint8_t* dst) {
  switch (dtype) {
    case QIE_DT_INT8: {
      if (zp < -128 || zp > 127) return false;
      const int8_t v = (int8_t)zp;
      memcpy(dst, &v, 1);
      return true;
    }
    case QIE_DT_UINT8: {
      if (zp < 0 || zp > 255) return false;
      dst[0] = (uint8_t)zp;
      return true;
    }
    case QIE_DT_INT16: {
      if (zp < -32768 || zp > 32767) return false;
      const int16_t v = (int16_t)zp;
      memcpy(dst, &v, 2);
      return true;
    }
    default:
      return zp == 0; /* other dtypes pad with 0 */
  }
}

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 2, 3, 1);
  if (st) return st;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* pads = qie_in(ctx, op, 1);
  const qie_tensor* value = qie_in(ctx, op, 2);
  const qie_tensor* out = qie_out(ctx, op, 0);
  const size_t es = qie_dtype_size(in->dtype);
  if (out->dtype != in->dtype || es == 0)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output is %s, input is %s", qie_op_label(op),
                    qie_dtype_name(out->dtype), qie_dtype_name(in->dtype));
  const int rank = in->rank;
  if (rank < 0 || rank > QIE_SHAPE_MAX_RANK || out->rank != rank)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input rank %d, output rank %d", qie_op_label(op),
                    rank, out->rank);
  if (pads->dtype != QIE_DT_INT32 && pads->dtype != QIE_DT_INT64)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: paddings are %s, expected int32 or int64",
                    qie_op_label(op), qie_dtype_name(pads->dtype));
  if (!(pads->flags & QIE_TF_CONST) || !pads->data)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: paddings must be constant", qie_op_label(op));
  if (pads->elems != (size_t)rank * 2 || pads->bytes < pads->elems * qie_dtype_size(pads->dtype))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: paddings must have shape [%d, 2]",
                    qie_op_label(op), rank);
  st = same_quant(ctx, op, in, out);
  if (st) return st;

  pad_data* data = qie_persist_alloc(ctx, sizeof(pad_data));
  if (!data) return QIE_ERR_NO_MEMORY;
  qie_pad_params* p = &data->params;
  p->rank = rank;
  p->elem_size = es;
  for (int d = 0; d < rank; ++d) {
    const int64_t before = qie_const_int(pads, (size_t)d * 2);
    const int64_t after = qie_const_int(pads, (size_t)d * 2 + 1);
    if (before < 0 || after < 0 || before > INT32_MAX || after > INT32_MAX)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: padding of dim %d is out of range",
                      qie_op_label(op), d);
    if ((int64_t)in->dims[d] + before + after != out->dims[d])
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN,
                      "%s: output dim %d is %d, expected %lld", qie_op_label(op), d, (int)out->dims[d],
                      (long long)((int64_t)in->dims[d] + before + after));
    p->in_dims[d] = in->dims[d];
    p->before[d] = (int32_t)before;
    p->after[d] = (int32_t)after;
  }

  if (value) {
    if (value->dtype != in->dtype)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: constant value is %s, input is %s",
                      qie_op_label(op), qie_dtype_name(value->dtype), qie_dtype_name(in->dtype));
    if (value->elems != 1 || value->bytes < es)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: constant value must be a scalar",
                      qie_op_label(op));
    /* the constant must mean the same real value in the output's quantization */
    if (value->q_count > 0 && out->q_count > 0 &&
        (value->scales[0] != out->scales[0] || value->zero_points[0] != out->zero_points[0]))
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED,
                      "%s: constant value quantization differs from the output's", qie_op_label(op));
  } else {
    const int32_t zp = out->q_count > 0 ? out->zero_points[0] : 0;
    if (!store_zero_point(out->dtype, zp, data->pad_value))
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: zero point %d is not representable in %s",
                      qie_op_label(op), (int)zp, qie_dtype_name(out->dtype));
  }
  op->data = data;
  switch (es) {
    case 1: op->kernel = "x8_pad__ref"; break;
    case 2: op->kernel = "x16_pad__ref"; break;
    case 4: op->kernel = "x32_pad__ref"; break;
    default: op->kernel = "x64_pad__ref"; break;
  }
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const pad_data* data = op->data;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* value = qie_in(ctx, op, 2);
  qie_tensor* out = qie_out(ctx, op, 0);
  const void* pad_value = value ? value->data : data->pad_value;
  qie_pad_ref(&data->params, in->data, out->data, pad_value);
  return QIE_OK;
}

const qie_op_impl qie_op_pad = {QIE_OP_PAD, "PAD", prepare, eval};
