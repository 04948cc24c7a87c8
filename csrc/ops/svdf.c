/* SVDF: validates the plan against TFLite Micro's PrepareSvdf rules and runs the
 * int8 (int16 state) or float32 reference kernel. The activation state is a
 * variable tensor updated in place on every run. */
#include <math.h>
#include <stdint.h>

#include "../kernels/quant.h"
#include "../kernels/sequence.h"
#include "../runtime/runtime.h"

enum { IN_X = 0, IN_WF = 1, IN_WT = 2, IN_BIAS = 3, IN_STATE = 4 };

typedef struct {
  int quantized;
  qie_svdf_q_params q;
  qie_svdf_f_params f;
  size_t scratch_out_offset; /* bytes into op->scratch */
} svdf_data;

static qie_status bad(qie_ctx* ctx, const qie_op* op, const char* what) {
  return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "SVDF %s: %s", qie_op_label(op), what);
}

static bool scale_ok(const qie_tensor* t) {
  if (t->q_count < 1 || !t->scales || !t->zero_points) return false;
  const float s = t->scales[0];
  return isfinite(s) && s > 0.0f;
}

/* Splits a positive real multiplier; refuses shifts the requantizer cannot apply. */
static qie_status multiplier(qie_ctx* ctx, const qie_op* op, float real, int32_t* m, int* shift) {
  if (!isfinite(real) || real <= 0.0f) return bad(ctx, op, "effective scale is not a positive number");
  qie_quantize_multiplier((double)real, m, shift);
  if (*shift > 31) return bad(ctx, op, "effective scale too large");
  return QIE_OK;
}

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 3, 5, 1);
  if (st != QIE_OK) return st;
  if (op->n_in != 5 || op->in[IN_STATE] < 0) return bad(ctx, op, "expects 5 inputs with an activation state");
  const qie_tensor* x = qie_in(ctx, op, IN_X);
  const qie_tensor* wf = qie_in(ctx, op, IN_WF);
  const qie_tensor* wt = qie_in(ctx, op, IN_WT);
  const qie_tensor* bias = qie_in(ctx, op, IN_BIAS);
  const qie_tensor* state = qie_in(ctx, op, IN_STATE);
  const qie_tensor* out = qie_out(ctx, op, 0);

  const int rank = op->iattr[QIE_SVDF_RANK];
  const int act = op->iattr[QIE_SVDF_ACTIVATION];
  if (rank < 1) return bad(ctx, op, "rank must be >= 1");
  if (act < 0 || act > 6) return bad(ctx, op, "unknown fused activation");
  if (x->rank != 2 || wf->rank != 2 || wt->rank != 2 || state->rank != 2 || out->rank != 2)
    return bad(ctx, op, "input, weights, state and output must be rank 2");
  const int32_t batch = x->dims[0], input_size = x->dims[1];
  const int32_t filters = wf->dims[0], memory = wt->dims[1];
  if (batch < 1 || input_size < 1 || filters < 1 || memory < 1) return bad(ctx, op, "empty dimension");
  if (filters % rank != 0) return bad(ctx, op, "num_filters is not a multiple of rank");
  const int32_t units = filters / rank;
  if (wf->dims[1] != input_size) return bad(ctx, op, "weights_feature is not [num_filters, input_size]");
  if (wt->dims[0] != filters) return bad(ctx, op, "weights_time is not [num_filters, memory_size]");
  if (out->dims[0] != batch || out->dims[1] != units) return bad(ctx, op, "output is not [batch, num_units]");
  if (state->dims[0] != batch || (int64_t)state->dims[1] != (int64_t)memory * filters)
    return bad(ctx, op, "activation state is not [batch, memory_size * num_filters]");
  if (!(state->flags & QIE_TF_VARIABLE) || (state->flags & QIE_TF_CONST))
    return bad(ctx, op, "activation state must be a variable tensor");
  if (bias && (bias->rank != 1 || bias->dims[0] != units)) return bad(ctx, op, "bias is not [num_units]");

  svdf_data* d = qie_persist_alloc(ctx, sizeof(svdf_data));
  if (!d) return QIE_ERR_NO_MEMORY;
  const uint64_t bf = (uint64_t)batch * (uint64_t)filters, bu = (uint64_t)batch * (uint64_t)units;
  if (bf > SIZE_MAX / 16) return bad(ctx, op, "too large");

  if (x->dtype == QIE_DT_FLOAT32) {
    if ((st = qie_check_tensor(ctx, op, wf, "weights_feature", QIE_DT_FLOAT32, 2)) ||
        (st = qie_check_tensor(ctx, op, wt, "weights_time", QIE_DT_FLOAT32, 2)) ||
        (st = qie_check_tensor(ctx, op, state, "activation state", QIE_DT_FLOAT32, 2)) ||
        (st = qie_check_tensor(ctx, op, out, "output", QIE_DT_FLOAT32, 2)) ||
        (bias && (st = qie_check_tensor(ctx, op, bias, "bias", QIE_DT_FLOAT32, 1))))
      return st;
    d->quantized = 0;
    d->f = (qie_svdf_f_params){batch, input_size, filters, memory, rank, act};
    op->scratch_bytes = (size_t)bf * sizeof(float);
    op->kernel = "f32_svdf__ref";
  } else if (x->dtype == QIE_DT_INT8) {
    if ((st = qie_check_tensor(ctx, op, wf, "weights_feature", QIE_DT_INT8, 2)) ||
        (st = qie_check_tensor(ctx, op, out, "output", QIE_DT_INT8, 2)) ||
        (bias && (st = qie_check_tensor(ctx, op, bias, "bias", QIE_DT_INT32, 1))))
      return st;
    if (wt->dtype != QIE_DT_INT16 || state->dtype != QIE_DT_INT16)
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED,
                      "SVDF %s: int8 SVDF needs int16 weights_time and state (has %s, %s)", qie_op_label(op),
                      qie_dtype_name(wt->dtype), qie_dtype_name(state->dtype));
    if (!scale_ok(x) || !scale_ok(wf) || !scale_ok(wt) || !scale_ok(state) || !scale_ok(out))
      return bad(ctx, op, "input, weights, state and output need positive per-tensor scales");
    const int32_t xzp = x->zero_points[0], szp = state->zero_points[0], ozp = out->zero_points[0];
    if (xzp < -128 || xzp > 127 || ozp < -128 || ozp > 127 || szp < INT16_MIN || szp > INT16_MAX)
      return bad(ctx, op, "zero point out of range");
    /* TFLite forms both scales in float, then widens to double */
    float s1 = x->scales[0] * wf->scales[0];
    s1 = s1 / state->scales[0];
    float s2 = state->scales[0] * wt->scales[0];
    const float bias_expect = s2;
    s2 = s2 / out->scales[0];
    if (bias) {
      const float bs = bias->q_count > 0 && bias->scales ? bias->scales[0] : 0.0f;
      if (!(fabs((double)bs - (double)bias_expect) < 1e-5))
        return bad(ctx, op, "bias scale is not state_scale * weights_time_scale");
    }
    d->quantized = 1;
    d->q = (qie_svdf_q_params){batch, input_size, filters, memory, rank, xzp, szp, ozp, 0, 0, 0, 0};
    if ((st = multiplier(ctx, op, s1, &d->q.mult1, &d->q.shift1))) return st;
    if ((st = multiplier(ctx, op, s2, &d->q.mult2, &d->q.shift2))) return st;
    const size_t a = (size_t)bf * sizeof(int32_t);
    d->scratch_out_offset = (a + 15) & ~(size_t)15;
    op->scratch_bytes = d->scratch_out_offset + (size_t)bu * sizeof(int32_t);
    op->kernel = "qs8_svdf_s16state__ref";
  } else {
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "SVDF %s: input type %s", qie_op_label(op),
                    qie_dtype_name(x->dtype));
  }
  op->data = d;
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const svdf_data* d = op->data;
  const qie_tensor* x = qie_in(ctx, op, IN_X);
  const qie_tensor* wf = qie_in(ctx, op, IN_WF);
  const qie_tensor* wt = qie_in(ctx, op, IN_WT);
  const qie_tensor* bias = qie_in(ctx, op, IN_BIAS);
  qie_tensor* state = qie_in(ctx, op, IN_STATE);
  qie_tensor* out = qie_out(ctx, op, 0);
  if (d->quantized) {
    int32_t* scratch = op->scratch;
    int32_t* scratch_out = (int32_t*)((uint8_t*)op->scratch + d->scratch_out_offset);
    qie_svdf_s8_s16_ref(&d->q, x->data, wf->data, wt->data, bias ? bias->data : NULL, state->data,
                        scratch, scratch_out, out->data);
  } else {
    qie_svdf_f32_ref(&d->f, x->data, wf->data, wt->data, bias ? bias->data : NULL, state->data,
                     op->scratch, out->data);
  }
  return QIE_OK;
}

const qie_op_impl qie_op_svdf = {QIE_OP_SVDF, "SVDF", prepare, eval};
