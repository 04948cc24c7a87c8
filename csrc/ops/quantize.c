/* QUANTIZE (float -> int8/uint8/int16, and TFLite Micro's int -> int
 * requantizations) and DEQUANTIZE (int8/uint8/int16 -> float). Per tensor only. */
#include <math.h>

#include "../kernels/quant.h"
#include "../kernels/quantize.h"
#include "../runtime/runtime.h"

typedef struct {
  qie_dtype in_dt, out_dt;
  size_t n;
  qie_quantize_params quant;     /* float input */
  qie_requantize_params requant; /* integer input */
  float scale;                   /* DEQUANTIZE */
  int32_t zero_point;
} quantize_data;

static qie_status check_shapes(qie_ctx* ctx, const qie_op* op, const qie_tensor* in,
                               const qie_tensor* out) {
  if (!qie_same_shape(in, out) || in->elems != out->elems)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output shape differs from input", qie_op_label(op));
  return QIE_OK;
}

/* The integer conversions TFLite Micro's QUANTIZE implements. */
static bool requant_pair(qie_dtype in, qie_dtype out) {
  switch (in) {
    case QIE_DT_INT8:
      return out == QIE_DT_INT8 || out == QIE_DT_UINT8 || out == QIE_DT_INT16 || out == QIE_DT_INT32;
    case QIE_DT_UINT8: return out == QIE_DT_INT8;
    case QIE_DT_INT16: return out == QIE_DT_INT8 || out == QIE_DT_INT16 || out == QIE_DT_INT32;
    case QIE_DT_INT32: return out == QIE_DT_INT8 || out == QIE_DT_INT16;
    default: return false;
  }
}

static const struct {
  qie_dtype in, out;
  const char* name;
} kernel_names[] = {
    {QIE_DT_FLOAT32, QIE_DT_INT8, "f32_qs8_quantize__ref"},
    {QIE_DT_FLOAT32, QIE_DT_UINT8, "f32_qu8_quantize__ref"},
    {QIE_DT_FLOAT32, QIE_DT_INT16, "f32_qs16_quantize__ref"},
    {QIE_DT_INT8, QIE_DT_INT8, "qs8_qs8_requantize__ref"},
    {QIE_DT_INT8, QIE_DT_UINT8, "qs8_qu8_requantize__ref"},
    {QIE_DT_INT8, QIE_DT_INT16, "qs8_qs16_requantize__ref"},
    {QIE_DT_INT8, QIE_DT_INT32, "qs8_qs32_requantize__ref"},
    {QIE_DT_UINT8, QIE_DT_INT8, "qu8_qs8_requantize__ref"},
    {QIE_DT_INT16, QIE_DT_INT8, "qs16_qs8_requantize__ref"},
    {QIE_DT_INT16, QIE_DT_INT16, "qs16_qs16_requantize__ref"},
    {QIE_DT_INT16, QIE_DT_INT32, "qs16_qs32_requantize__ref"},
    {QIE_DT_INT32, QIE_DT_INT8, "qs32_qs8_requantize__ref"},
    {QIE_DT_INT32, QIE_DT_INT16, "qs32_qs16_requantize__ref"},
};

static const char* quantize_kernel_name(qie_dtype in, qie_dtype out) {
  for (size_t i = 0; i < sizeof kernel_names / sizeof kernel_names[0]; ++i)
    if (kernel_names[i].in == in && kernel_names[i].out == out) return kernel_names[i].name;
  return "quantize__ref";
}

static qie_status prepare_quantize(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 1, 1, 1);
  if (st != QIE_OK) return st;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* out = qie_out(ctx, op, 0);
  const bool from_float = in->dtype == QIE_DT_FLOAT32 &&
                          (out->dtype == QIE_DT_INT8 || out->dtype == QIE_DT_UINT8 ||
                           out->dtype == QIE_DT_INT16);
  if (!from_float && !requant_pair(in->dtype, out->dtype))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %s -> %s unsupported", qie_op_label(op),
                    qie_dtype_name(in->dtype), qie_dtype_name(out->dtype));
  if ((st = check_shapes(ctx, op, in, out)) != QIE_OK) return st;
  float s_out;
  int32_t z_out;
  if ((st = qie_check_quant(ctx, op, out, "output", &s_out, &z_out)) != QIE_OK) return st;

  quantize_data* d = qie_persist_alloc(ctx, sizeof(quantize_data));
  if (!d) return QIE_ERR_NO_MEMORY;
  d->in_dt = in->dtype;
  d->out_dt = out->dtype;
  d->n = in->elems;
  if (from_float) {
    d->quant.scale = s_out;
    d->quant.zero_point = z_out;
    d->quant.round_half_even = ctx->semantics == QIE_SEMANTICS_ONNX;
  } else {
    float s_in;
    int32_t z_in;
    if ((st = qie_check_quant(ctx, op, in, "input", &s_in, &z_in)) != QIE_OK) return st;
    qie_requantize_params* p = &d->requant;
    qie_quantize_multiplier((double)s_in / (double)s_out, &p->multiplier, &p->shift);
    if (p->shift > 30)
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: rescale factor too large", qie_op_label(op));
    p->in_zp = z_in;
    p->out_zp = z_out;
  }
  op->kernel = quantize_kernel_name(in->dtype, out->dtype);
  op->data = d;
  op->scratch_bytes = 0;
  return QIE_OK;
}

static qie_status eval_quantize(qie_ctx* ctx, qie_op* op) {
  const quantize_data* d = op->data;
  const qie_tensor* in = qie_in(ctx, op, 0);
  qie_tensor* out = qie_out(ctx, op, 0);
  if (!d || !in || !out) return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: not prepared", qie_op_label(op));
  if (d->n == 0) return QIE_OK;
  if (!in->data || !out->data)
    return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: tensor without data", qie_op_label(op));
  if (d->in_dt == QIE_DT_FLOAT32) {
    if (d->out_dt == QIE_DT_INT8) qie_quantize_f32_s8_ref(&d->quant, d->n, in->data, out->data);
    else if (d->out_dt == QIE_DT_UINT8) qie_quantize_f32_u8_ref(&d->quant, d->n, in->data, out->data);
    else qie_quantize_f32_s16_ref(&d->quant, d->n, in->data, out->data);
  } else if (!qie_requantize_ref(&d->requant, d->n, d->in_dt, in->data, d->out_dt, out->data)) {
    return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: bad requantize types", qie_op_label(op));
  }
  return QIE_OK;
}

static qie_status prepare_dequantize(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 1, 1, 1);
  if (st != QIE_OK) return st;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* out = qie_out(ctx, op, 0);
  if (!(in->dtype == QIE_DT_INT8 || in->dtype == QIE_DT_UINT8 || in->dtype == QIE_DT_INT16) ||
      out->dtype != QIE_DT_FLOAT32)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %s -> %s unsupported", qie_op_label(op),
                    qie_dtype_name(in->dtype), qie_dtype_name(out->dtype));
  if ((st = check_shapes(ctx, op, in, out)) != QIE_OK) return st;
  quantize_data* d = qie_persist_alloc(ctx, sizeof(quantize_data));
  if (!d) return QIE_ERR_NO_MEMORY;
  if ((st = qie_check_quant(ctx, op, in, "input", &d->scale, &d->zero_point)) != QIE_OK) return st;
  d->in_dt = in->dtype;
  d->out_dt = out->dtype;
  d->n = in->elems;
  op->kernel = in->dtype == QIE_DT_INT8    ? "qs8_f32_dequantize__ref"
               : in->dtype == QIE_DT_UINT8 ? "qu8_f32_dequantize__ref"
                                           : "qs16_f32_dequantize__ref";
  op->data = d;
  op->scratch_bytes = 0;
  return QIE_OK;
}

static qie_status eval_dequantize(qie_ctx* ctx, qie_op* op) {
  const quantize_data* d = op->data;
  const qie_tensor* in = qie_in(ctx, op, 0);
  qie_tensor* out = qie_out(ctx, op, 0);
  if (!d || !in || !out) return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: not prepared", qie_op_label(op));
  if (d->n == 0) return QIE_OK;
  if (!in->data || !out->data)
    return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: tensor without data", qie_op_label(op));
  if (!qie_dequantize_ref(d->scale, d->zero_point, d->n, d->in_dt, in->data, out->data))
    return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: bad dequantize type", qie_op_label(op));
  return QIE_OK;
}

const qie_op_impl qie_op_quantize = {QIE_OP_QUANTIZE, "QUANTIZE", prepare_quantize, eval_quantize};
const qie_op_impl qie_op_dequantize = {QIE_OP_DEQUANTIZE, "DEQUANTIZE", prepare_dequantize,
                                       eval_dequantize};
