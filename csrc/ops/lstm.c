/* UNIDIRECTIONAL_SEQUENCE_LSTM with TFLite's 24 inputs, the variant TFLite Micro
 * runs: all four gates, no CIFG, peephole, projection or layer norm. float32, or
 * int8 activations/weights with an int16 cell state (power-of-two scale). */
#include <math.h>
#include <stdint.h>

#include "../kernels/quant.h"
#include "../kernels/sequence.h"
#include "../runtime/runtime.h"

/* TFLite's input slots */
enum {
  L_INPUT = 0,
  L_W_IN = 1,   /* 1..4: input-to-{input, forget, cell, output} */
  L_W_REC = 5,  /* 5..8: recurrent-to-... */
  L_PEEP = 9,   /* 9..11 */
  L_BIAS = 12,  /* 12..15 */
  L_PROJ = 16,  /* 16 weights, 17 bias */
  L_HIDDEN = 18,
  L_CELL = 19,
  L_NORM = 20,  /* 20..23 */
  L_COUNT = 24
};

typedef struct {
  int quantized;
  qie_lstm_f32_params f;
  qie_lstm_q_params q;
} lstm_data;

static qie_status bad(qie_ctx* ctx, const qie_op* op, const char* what) {
  return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "LSTM %s: %s", qie_op_label(op), what);
}

static qie_status unsupported(qie_ctx* ctx, const qie_op* op, const char* what) {
  return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "LSTM %s: %s is not supported", qie_op_label(op), what);
}

static bool has(const qie_op* op, int i) { return op->in[i] >= 0; }

static bool scale_ok(const qie_tensor* t) {
  if (t->q_count < 1 || !t->scales || !t->zero_points) return false;
  return isfinite(t->scales[0]) && t->scales[0] > 0.0f;
}

static bool zp8(const qie_tensor* t) { return t->zero_points[0] >= -128 && t->zero_points[0] <= 127; }

static qie_status multiplier(qie_ctx* ctx, const qie_op* op, double real, int32_t* m, int* shift) {
  if (!isfinite(real) || real <= 0.0) return bad(ctx, op, "effective scale is not a positive number");
  qie_quantize_multiplier(real, m, shift);
  if (*shift > 31) return bad(ctx, op, "effective scale too large");
  return QIE_OK;
}

static qie_status check_2d(qie_ctx* ctx, const qie_op* op, const qie_tensor* t, int32_t d0, int32_t d1,
                           const char* what) {
  if (t->rank != 2 || t->dims[0] != d0 || t->dims[1] != d1) return bad(ctx, op, what);
  return QIE_OK;
}

static qie_status prepare_quantized(qie_ctx* ctx, qie_op* op, lstm_data* d) {
  const qie_tensor* x = qie_in(ctx, op, L_INPUT);
  const qie_tensor* h = qie_in(ctx, op, L_HIDDEN);
  const qie_tensor* c = qie_in(ctx, op, L_CELL);
  if (!scale_ok(x) || !scale_ok(h) || !scale_ok(c) || !zp8(x) || !zp8(h))
    return bad(ctx, op, "input, hidden and cell state need per-tensor scales and int8 zero points");
  for (int i = L_W_IN; i < L_PEEP; ++i) {
    const qie_tensor* w = qie_in(ctx, op, i);
    if (!scale_ok(w) || !zp8(w)) return bad(ctx, op, "weights need per-tensor scales");
  }
  /* the cell scale must be a power of two (TFLite's CheckedLog2, in float) */
  const float l2 = logf(c->scales[0]) * (1.0f / logf(2.0f));
  const float l2r = roundf(l2);
  if (!(fabsf(l2 - l2r) < 1e-3f)) return bad(ctx, op, "cell state scale is not a power of two");
  const int power = (int)l2r;
  if (12 + power > 14 || 12 + power < -30) return unsupported(ctx, op, "this cell state scale");

  qie_lstm_q_params* q = &d->q;
  q->input_zp = x->zero_points[0];
  q->hidden_zp = h->zero_points[0];
  q->cell_scale_power = power;
  const double gate_in_scale = (double)0.000244140625f; /* Q3.12 */
  const double act_out_scale = (double)0.000030517578125f; /* Q0.15 */
  qie_status st;
  for (int g = 0; g < 4; ++g) {
    const qie_tensor* wi = qie_in(ctx, op, L_W_IN + g);
    const qie_tensor* wr = qie_in(ctx, op, L_W_REC + g);
    q->w_in_zp[g] = wi->zero_points[0];
    q->w_rec_zp[g] = wr->zero_points[0];
    if ((st = multiplier(ctx, op, (double)x->scales[0] * (double)wi->scales[0] / gate_in_scale,
                         &q->in_mult[g], &q->in_shift[g])) ||
        (st = multiplier(ctx, op, (double)h->scales[0] * (double)wr->scales[0] / gate_in_scale,
                         &q->rec_mult[g], &q->rec_shift[g])))
      return st;
  }
  const double cs = (double)c->scales[0];
  if ((st = multiplier(ctx, op, act_out_scale * cs / cs, &q->fc_mult, &q->fc_shift)) ||
      (st = multiplier(ctx, op, act_out_scale * act_out_scale / cs, &q->ic_mult, &q->ic_shift)) ||
      (st = multiplier(ctx, op, act_out_scale * act_out_scale / (double)h->scales[0], &q->h_mult,
                       &q->h_shift)))
    return st;
  const float clip = op->fattr[QIE_LSTM_FATTR_CELL_CLIP];
  q->has_cell_clip = clip > 0.0f;
  double qc = (double)clip / cs;
  qc = qc < -32768.0 ? -32768.0 : (qc > 32767.0 ? 32767.0 : qc);
  q->cell_clip_q = q->has_cell_clip ? (int16_t)qc : 0;
  return QIE_OK;
}

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 1, L_COUNT, 1);
  if (st != QIE_OK) return st;
  if (op->n_in != L_COUNT) return bad(ctx, op, "expects TFLite's 24 inputs");
  if (!has(op, L_W_IN + QIE_LSTM_GATE_I) || !has(op, L_W_REC + QIE_LSTM_GATE_I) ||
      !has(op, L_BIAS + QIE_LSTM_GATE_I))
    return unsupported(ctx, op, "CIFG (no input gate)");
  for (int i = L_PEEP; i < L_BIAS; ++i)
    if (has(op, i)) return unsupported(ctx, op, "peephole");
  if (has(op, L_PROJ) || has(op, L_PROJ + 1)) return unsupported(ctx, op, "projection");
  for (int i = L_NORM; i < L_COUNT; ++i)
    if (has(op, i)) return unsupported(ctx, op, "layer norm");
  for (int i = 0; i < L_COUNT; ++i) {
    const bool required = i < L_PEEP || (i >= L_BIAS && i < L_PROJ) || i == L_HIDDEN || i == L_CELL;
    if (required && !has(op, i)) return bad(ctx, op, "a required input is absent");
  }
  const int act = op->iattr[QIE_LSTM_ACTIVATION];
  const int time_major = op->iattr[QIE_LSTM_TIME_MAJOR];
  const float clip = op->fattr[QIE_LSTM_FATTR_CELL_CLIP];
  if (act != 4 && act != 6) return unsupported(ctx, op, "a cell activation other than tanh or sigmoid");
  if (time_major != 0 && time_major != 1) return bad(ctx, op, "time_major must be 0 or 1");
  if (!(clip >= 0.0f) || !isfinite(clip)) return bad(ctx, op, "cell clip must be >= 0");

  const qie_tensor* x = qie_in(ctx, op, L_INPUT);
  const qie_tensor* h = qie_in(ctx, op, L_HIDDEN);
  const qie_tensor* c = qie_in(ctx, op, L_CELL);
  const qie_tensor* out = qie_out(ctx, op, 0);
  if (x->rank != 3) return bad(ctx, op, "input must be rank 3");
  const int32_t batch = time_major ? x->dims[1] : x->dims[0];
  const int32_t steps = time_major ? x->dims[0] : x->dims[1];
  const int32_t n_in = x->dims[2];
  if (h->rank != 2) return bad(ctx, op, "hidden state must be [batch, state]");
  const int32_t n_state = h->dims[1];
  if (batch < 1 || steps < 1 || n_in < 1 || n_state < 1) return bad(ctx, op, "empty dimension");
  for (int g = 0; g < 4; ++g) {
    if ((st = check_2d(ctx, op, qie_in(ctx, op, L_W_IN + g), n_state, n_in,
                       "input weights are not [state, input]")) ||
        (st = check_2d(ctx, op, qie_in(ctx, op, L_W_REC + g), n_state, n_state,
                       "recurrent weights are not [state, state]")))
      return st;
    const qie_tensor* b = qie_in(ctx, op, L_BIAS + g);
    if (b->rank != 1 || b->dims[0] != n_state) return bad(ctx, op, "gate bias is not [state]");
  }
  const uint64_t bs = (uint64_t)batch * (uint64_t)n_state;
  if (bs > SIZE_MAX / 16) return bad(ctx, op, "too large");
  if (h->dims[0] != batch || c->elems != (size_t)bs || (c->rank != 1 && c->rank != 2))
    return bad(ctx, op, "state tensors do not hold batch * state elements");
  if ((h->flags & (QIE_TF_VARIABLE | QIE_TF_CONST)) != QIE_TF_VARIABLE ||
      (c->flags & (QIE_TF_VARIABLE | QIE_TF_CONST)) != QIE_TF_VARIABLE)
    return bad(ctx, op, "hidden and cell state must be variable tensors");
  if (out->rank != 3 || out->dims[0] != x->dims[0] || out->dims[1] != x->dims[1] ||
      out->dims[2] != n_state)
    return bad(ctx, op, "output shape does not match input and state");

  lstm_data* d = qie_persist_alloc(ctx, sizeof(lstm_data));
  if (!d) return QIE_ERR_NO_MEMORY;
  qie_dtype act_t, w_t, b_t, cell_t;
  if (x->dtype == QIE_DT_FLOAT32) {
    act_t = w_t = b_t = cell_t = QIE_DT_FLOAT32;
  } else if (x->dtype == QIE_DT_INT8) {
    act_t = w_t = QIE_DT_INT8;
    b_t = QIE_DT_INT32;
    cell_t = QIE_DT_INT16;
  } else {
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "LSTM %s: input type %s", qie_op_label(op),
                    qie_dtype_name(x->dtype));
  }
  if ((st = qie_check_tensor(ctx, op, h, "hidden state", act_t, 2)) ||
      (st = qie_check_tensor(ctx, op, c, "cell state", cell_t, -1)) ||
      (st = qie_check_tensor(ctx, op, out, "output", act_t, 3)))
    return st;
  for (int g = 0; g < 4; ++g)
    if ((st = qie_check_tensor(ctx, op, qie_in(ctx, op, L_W_IN + g), "input weights", w_t, 2)) ||
        (st = qie_check_tensor(ctx, op, qie_in(ctx, op, L_W_REC + g), "recurrent weights", w_t, 2)) ||
        (st = qie_check_tensor(ctx, op, qie_in(ctx, op, L_BIAS + g), "gate bias", b_t, 1)))
      return st;

  if (x->dtype == QIE_DT_FLOAT32) {
    d->quantized = 0;
    d->f = (qie_lstm_f32_params){batch, steps, n_in, n_state, time_major, act, clip};
    op->scratch_bytes = 4 * (size_t)bs * sizeof(float);
    op->kernel = "f32_lstm__ref";
  } else {
    d->quantized = 1;
    d->q.batch = batch;
    d->q.time_steps = steps;
    d->q.input_size = n_in;
    d->q.state_size = n_state;
    d->q.time_major = time_major;
    d->q.cell_activation = act;
    if ((st = prepare_quantized(ctx, op, d))) return st;
    op->scratch_bytes = 4 * (size_t)bs * sizeof(int16_t);
    op->kernel = "qs8_lstm_s16cell__ref";
  }
  op->data = d;
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const lstm_data* d = op->data;
  const qie_tensor* x = qie_in(ctx, op, L_INPUT);
  qie_tensor* h = qie_in(ctx, op, L_HIDDEN);
  qie_tensor* c = qie_in(ctx, op, L_CELL);
  qie_tensor* out = qie_out(ctx, op, 0);
  if (d->quantized) {
    qie_lstm_q_weights w;
    for (int g = 0; g < 4; ++g) {
      w.w_in[g] = qie_in(ctx, op, L_W_IN + g)->data;
      w.w_rec[g] = qie_in(ctx, op, L_W_REC + g)->data;
      w.bias[g] = qie_in(ctx, op, L_BIAS + g)->data;
    }
    qie_lstm_s8_s16_ref(&d->q, &w, x->data, h->data, c->data, out->data, op->scratch);
  } else {
    qie_lstm_f32_weights w;
    for (int g = 0; g < 4; ++g) {
      w.w_in[g] = qie_in(ctx, op, L_W_IN + g)->data;
      w.w_rec[g] = qie_in(ctx, op, L_W_REC + g)->data;
      w.bias[g] = qie_in(ctx, op, L_BIAS + g)->data;
    }
    qie_lstm_f32_ref(&d->f, &w, x->data, h->data, c->data, out->data, op->scratch);
  }
  return QIE_OK;
}

const qie_op_impl qie_op_unidirectional_sequence_lstm = {
    QIE_OP_UNIDIRECTIONAL_SEQUENCE_LSTM, "UNIDIRECTIONAL_SEQUENCE_LSTM", prepare, eval};
