/* Unary activations: RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, HARD_SWISH,
 * LOGISTIC, TANH. Prepare computes TFLite Micro's constants for each. */
#include <math.h>
#include <string.h>

#include "../kernels/activation.h"
#include "../kernels/quant.h"
#include "../runtime/runtime.h"

typedef struct {
  qie_dtype dtype;
  size_t n;
  float lo, hi, alpha; /* float RELU bounds, LEAKY_RELU alpha */
  union {
    qie_relu_q_params relu;
    qie_leaky_relu_q_params leaky;
    qie_hard_swish_q_params hswish;
    qie_sigmoid_q_params sigmoid;
  } q;
} act_data;

/* TFLite's QuantizeMultiplier; refuses factors whose left shift would overflow. */
static qie_status multiplier(qie_ctx* ctx, const qie_op* op, double m, int32_t* mult, int* shift) {
  qie_quantize_multiplier(m, mult, shift);
  if (*shift > 30)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: rescale factor %g too large", qie_op_label(op), m);
  return QIE_OK;
}

static qie_status prepare_relu_q(qie_ctx* ctx, qie_op* op, act_data* d, float s_in, int32_t z_in,
                                 float s_out, int32_t z_out) {
  float lo = 0.0f, hi = INFINITY;
  if (op->code == QIE_OP_RELU6) hi = 6.0f;
  if (op->code == QIE_OP_RELU_N1_TO_1) {
    lo = -1.0f;
    hi = 1.0f;
  }
  qie_relu_q_params* p = &d->q.relu;
  qie_status st = multiplier(ctx, op, (double)s_in / (double)s_out, &p->multiplier, &p->shift);
  if (st != QIE_OK) return st;
  if (!(6.0 / s_out < 1e9)) /* the bounds below are converted to int */
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: output scale too small", qie_op_label(op));
  int32_t tmin, tmax;
  qie_dtype_qrange(d->dtype, &tmin, &tmax);
  const int32_t qlo = z_out + (int32_t)roundf(lo / s_out);
  p->act_min = qlo > tmin ? qlo : tmin;
  p->act_max = tmax;
  if (isfinite(hi)) {
    const int32_t qhi = z_out + (int32_t)roundf(hi / s_out);
    p->act_max = qhi < tmax ? qhi : tmax;
  }
  p->in_zp = z_in;
  p->out_zp = z_out;
  return QIE_OK;
}

static qie_status prepare_leaky_q(qie_ctx* ctx, qie_op* op, act_data* d, float s_in, int32_t z_in,
                                  float s_out, int32_t z_out) {
  qie_leaky_relu_q_params* p = &d->q.leaky;
  /* TFLite forms both factors in float before widening */
  const float alpha_factor = s_in * d->alpha / s_out;
  const float identity_factor = s_in / s_out;
  qie_status st = multiplier(ctx, op, (double)alpha_factor, &p->mult_alpha, &p->shift_alpha);
  if (st != QIE_OK) return st;
  st = multiplier(ctx, op, (double)identity_factor, &p->mult_identity, &p->shift_identity);
  if (st != QIE_OK) return st;
  p->in_zp = z_in;
  p->out_zp = z_out;
  return QIE_OK;
}

static int16_t downscale_to_q15(int32_t m) {
  if (m >= INT32_MAX - (1 << 15)) return INT16_MAX;
  return (int16_t)((m + (1 << 15)) >> 16);
}

static qie_status prepare_hard_swish_q(qie_ctx* ctx, qie_op* op, act_data* d, float s_in,
                                       int32_t z_in, float s_out, int32_t z_out) {
  qie_hard_swish_q_params* p = &d->q.hswish;
  const float hires_scale = (1.0f / 128.0f) * s_in;
  const float reluish_scale = 3.0f / 32768.0f;
  int32_t m32;
  int e;
  qie_quantize_multiplier((double)(hires_scale / s_out), &m32, &e);
  if (e > 0)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: output scale too small for input scale", qie_op_label(op));
  p->output_multiplier = downscale_to_q15(m32);
  p->output_exponent = e; /* >= -31: tinier factors flush to 0 with e = 0 */
  qie_quantize_multiplier((double)(hires_scale / reluish_scale), &m32, &e);
  if (e > 31) return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: input scale too large", qie_op_label(op));
  p->reluish_multiplier = downscale_to_q15(m32);
  p->reluish_exponent = e;
  p->in_zp = z_in;
  p->out_zp = z_out;
  return QIE_OK;
}

static qie_status prepare_sigmoid_q(qie_ctx* ctx, qie_op* op, act_data* d, float s_in, int32_t z_in,
                                    float s_out, int32_t z_out) {
  const bool logistic = op->code == QIE_OP_LOGISTIC;
  const float want_scale = logistic ? 1.0f / 256 : 1.0f / 128;
  const int32_t want_zp = logistic ? -128 : 0;
  /* the kernels produce exactly this output quantization */
  if (z_out != want_zp || fabs((double)s_out - (double)want_scale) > 1e-3 * (double)want_scale)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: int8 output must have scale 1/%d, zero point %d",
                    qie_op_label(op), logistic ? 256 : 128, (int)want_zp);
  qie_sigmoid_q_params* p = &d->q.sigmoid;
  /* input scale as a Q4.27 multiplier, split by frexp without clamping */
  int shift = 0;
  const double q = frexp((double)s_in * (double)(1 << (31 - 4)), &shift);
  int64_t qf = (int64_t)round(q * 2147483648.0);
  if (qf == 2147483648LL) { /* q rounded up to 1 */
    qf /= 2;
    ++shift;
  }
  if (shift < 0 || shift > 62)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: input scale %g out of range", qie_op_label(op), (double)s_in);
  p->multiplier = (int32_t)qf;
  p->left_shift = shift;
  /* largest |x| whose rescaled value stays below 2^4 in Q4.27; 0 past shift 31 */
  p->range_radius = (int32_t)floor(15.0 * (double)(1LL << 27) / (double)(1LL << shift));
  p->in_zp = z_in;
  return QIE_OK;
}

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 1, 1, 1);
  if (st != QIE_OK) return st;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* out = qie_out(ctx, op, 0);
  const qie_dtype dt = in->dtype;
  if (out->dtype != dt)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: input %s, output %s", qie_op_label(op), qie_dtype_name(dt),
                    qie_dtype_name(out->dtype));
  if (!qie_same_shape(in, out) || in->elems != out->elems)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output shape differs from input", qie_op_label(op));
  const bool relu_like = op->code == QIE_OP_RELU || op->code == QIE_OP_RELU6 ||
                         op->code == QIE_OP_RELU_N1_TO_1 || op->code == QIE_OP_LEAKY_RELU;
  if (!(dt == QIE_DT_FLOAT32 || dt == QIE_DT_INT8 || (dt == QIE_DT_INT16 && relu_like)))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %s unsupported", qie_op_label(op), qie_dtype_name(dt));

  act_data* d = qie_persist_alloc(ctx, sizeof(act_data));
  if (!d) return QIE_ERR_NO_MEMORY;
  d->dtype = dt;
  d->n = in->elems;
  d->alpha = op->fattr[QIE_FATTR_ALPHA];
  if (op->code == QIE_OP_LEAKY_RELU && !isfinite(d->alpha))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: alpha is not finite", qie_op_label(op));
  d->lo = op->code == QIE_OP_RELU_N1_TO_1 ? -1.0f : 0.0f;
  d->hi = op->code == QIE_OP_RELU6 ? 6.0f : (op->code == QIE_OP_RELU_N1_TO_1 ? 1.0f : INFINITY);

  static const char* names[][3] = {
      /* f32, qs8, qs16 */
      {"f32_relu__ref", "qs8_relu__ref", "qs16_relu__ref"},
      {"f32_relu6__ref", "qs8_relu6__ref", "qs16_relu6__ref"},
      {"f32_relu_n1_to_1__ref", "qs8_relu_n1_to_1__ref", "qs16_relu_n1_to_1__ref"},
      {"f32_leaky_relu__ref", "qs8_leaky_relu__ref", "qs16_leaky_relu__ref"},
      {"f32_hard_swish__ref", "qs8_hard_swish__ref", ""},
      {"f32_logistic__ref", "qs8_logistic__ref", ""},
      {"f32_tanh__ref", "qs8_tanh__ref", ""}};
  int row;
  switch (op->code) {
    case QIE_OP_RELU: row = 0; break;
    case QIE_OP_RELU6: row = 1; break;
    case QIE_OP_RELU_N1_TO_1: row = 2; break;
    case QIE_OP_LEAKY_RELU: row = 3; break;
    case QIE_OP_HARD_SWISH: row = 4; break;
    case QIE_OP_LOGISTIC: row = 5; break;
    case QIE_OP_TANH: row = 6; break;
    default: return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: not an activation", qie_op_label(op));
  }
  const int col = dt == QIE_DT_FLOAT32 ? 0 : (dt == QIE_DT_INT8 ? 1 : 2);

  if (dt != QIE_DT_FLOAT32) {
    float s_in, s_out;
    int32_t z_in, z_out;
    if ((st = qie_check_quant(ctx, op, in, "input", &s_in, &z_in)) != QIE_OK) return st;
    if ((st = qie_check_quant(ctx, op, out, "output", &s_out, &z_out)) != QIE_OK) return st;
    if (dt == QIE_DT_INT16 && (z_in != 0 || z_out != 0))
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: int16 needs zero points of 0", qie_op_label(op));
    switch (row) {
      case 0: case 1: case 2: st = prepare_relu_q(ctx, op, d, s_in, z_in, s_out, z_out); break;
      case 3: st = prepare_leaky_q(ctx, op, d, s_in, z_in, s_out, z_out); break;
      case 4: st = prepare_hard_swish_q(ctx, op, d, s_in, z_in, s_out, z_out); break;
      default: st = prepare_sigmoid_q(ctx, op, d, s_in, z_in, s_out, z_out); break;
    }
    if (st != QIE_OK) return st;
  }
  op->data = d;
  op->scratch_bytes = 0;
  op->kernel = names[row][col];
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const act_data* d = op->data;
  const qie_tensor* in = qie_in(ctx, op, 0);
  qie_tensor* out = qie_out(ctx, op, 0);
  if (!d || !in || !out) return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: not prepared", qie_op_label(op));
  if (d->n == 0) return QIE_OK;
  if (!in->data || !out->data)
    return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: tensor without data", qie_op_label(op));
  const size_t n = d->n;
  switch (op->code) {
    case QIE_OP_RELU:
    case QIE_OP_RELU6:
    case QIE_OP_RELU_N1_TO_1:
      if (d->dtype == QIE_DT_FLOAT32) qie_relu_f32_ref(d->lo, d->hi, n, in->data, out->data);
      else if (d->dtype == QIE_DT_INT8) qie_relu_s8_ref(&d->q.relu, n, in->data, out->data);
      else qie_relu_s16_ref(&d->q.relu, n, in->data, out->data);
      break;
    case QIE_OP_LEAKY_RELU:
      if (d->dtype == QIE_DT_FLOAT32) qie_leaky_relu_f32_ref(d->alpha, n, in->data, out->data);
      else if (d->dtype == QIE_DT_INT8) qie_leaky_relu_s8_ref(&d->q.leaky, n, in->data, out->data);
      else qie_leaky_relu_s16_ref(&d->q.leaky, n, in->data, out->data);
      break;
    case QIE_OP_HARD_SWISH:
      if (d->dtype == QIE_DT_FLOAT32) qie_hard_swish_f32_ref(n, in->data, out->data);
      else qie_hard_swish_s8_ref(&d->q.hswish, n, in->data, out->data);
      break;
    case QIE_OP_LOGISTIC:
      if (d->dtype == QIE_DT_FLOAT32) qie_logistic_f32_ref(n, in->data, out->data);
      else qie_logistic_s8_ref(&d->q.sigmoid, n, in->data, out->data);
      break;
    default:
      if (d->dtype == QIE_DT_FLOAT32) qie_tanh_f32_ref(n, in->data, out->data);
      else qie_tanh_s8_ref(&d->q.sigmoid, n, in->data, out->data);
      break;
  }
  return QIE_OK;
}

const qie_op_impl qie_op_relu = {QIE_OP_RELU, "RELU", prepare, eval};
const qie_op_impl qie_op_relu6 = {QIE_OP_RELU6, "RELU6", prepare, eval};
const qie_op_impl qie_op_relu_n1_to_1 = {QIE_OP_RELU_N1_TO_1, "RELU_N1_TO_1", prepare, eval};
const qie_op_impl qie_op_leaky_relu = {QIE_OP_LEAKY_RELU, "LEAKY_RELU", prepare, eval};
const qie_op_impl qie_op_hard_swish = {QIE_OP_HARD_SWISH, "HARD_SWISH", prepare, eval};
const qie_op_impl qie_op_logistic = {QIE_OP_LOGISTIC, "LOGISTIC", prepare, eval};
const qie_op_impl qie_op_tanh = {QIE_OP_TANH, "TANH", prepare, eval};
