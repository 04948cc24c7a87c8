/* LSTM reference kernels in TFLite Micro's step order: gates forget, input, cell
 * (each FC(input)+bias plus FC(hidden), then the nonlinearity), cell update,
 * output gate, hidden = tanh(cell) * output gate, copied to the output row.
 * Integer sums wrap as 32-bit two's complement (on uint32, never UB). */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../quant.h"
#include "../sequence.h"

/* sigmoid(i / 24) in unsigned Q0.16 (saturated at 65535): TFLite's shared LUT for
 * its 16-bit logistic and tanh; the values are part of the bit-exact contract. */
static const uint16_t k_sigmoid_lut[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794,
    41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443,
    48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374,
    54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544,
    58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279,
    61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990,
    63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030,
    64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652,
    64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019,
    65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234,
    65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476,
    65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
    65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
    65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529,
    65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532,
    65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534,
    65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535};

/* Input Q3.12 scaled by 3 so the 256-entry table spans about [-10.7, 10.7]. */
int16_t qie_lstm_sigmoid_s16(int16_t x) {
  const int32_t v = (int32_t)x * 3;
  const uint32_t a = (uint32_t)(v < 0 ? -v : v);
  const uint32_t idx = a >> 9;
  uint32_t r;
  if (idx >= 255) {
    r = 0x7FFFu << 10;
  } else {
    const uint32_t lo = k_sigmoid_lut[idx], hi = k_sigmoid_lut[idx + 1];
    r = (lo << 9) + (a & 0x1FFu) * (hi - lo);
  }
  /* mirror for negative inputs: sigmoid(-x) = 1 - sigmoid(x) */
  r = v >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
  return (int16_t)(r >> 10);
}

/* tanh(x) = 2 sigmoid(2x) - 1 on the same table; multiplier/right_shift rescale the
 * input as TFLite does (multiplier 0 never reaches here). */
int16_t qie_lstm_tanh_s16(int16_t x, int32_t multiplier, int right_shift) {
  const int32_t round = right_shift > 0 ? (1 << (right_shift - 1)) : 0;
  const int32_t v = ((int32_t)x * multiplier + round) >> right_shift;
  const uint32_t a = (uint32_t)(v < 0 ? -v : v);
  const uint32_t idx = a >> 8;
  int32_t r;
  if (idx >= 255) {
    r = 0xFFFF << 8;
  } else {
    const uint32_t lo = k_sigmoid_lut[idx], hi = k_sigmoid_lut[idx + 1];
    r = (int32_t)((lo << 8) + (a & 0xFFu) * (hi - lo));
  }
  r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
  /* arithmetic shift of a possibly negative value, spelled out as floor division */
  const int32_t q = r >= 0 ? r >> 8 : -(int32_t)(((uint32_t)(-r) + 255u) >> 8);
  return (int16_t)q;
}

float qie_lstm_sigmoid_f32(float x) {
  if (x > 16.619047164916992188f) return 1.0f;
  if (x < -9.0f) return expf(x);
  return 1.0f / (1.0f + expf(-x));
}

/* ---- float ---- */

/* TFLite's float FC/Mul clamp to the finite float range (activation NONE). */
static inline float clamp_finite(float v) {
  v = v < -FLT_MAX ? -FLT_MAX : v;
  return FLT_MAX < v ? FLT_MAX : v;
}

static void fc_f32(const float* x, const float* w, const float* bias, int rows, int depth, int units,
                   float* out) {
  for (int b = 0; b < rows; ++b)
    for (int u = 0; u < units; ++u) {
      float acc = 0.0f;
      for (int d = 0; d < depth; ++d) acc += x[(size_t)b * depth + d] * w[(size_t)u * depth + d];
      out[(size_t)b * units + u] = clamp_finite(acc + (bias ? bias[u] : 0.0f));
    }
}

static void gate_f32(const qie_lstm_f32_params* p, const qie_lstm_f32_weights* w, int g, int act,
                     const float* x, const float* h, int rows, float* gate, float* tmp) {
  const size_t n = (size_t)rows * p->state_size;
  fc_f32(x, w->w_in[g], w->bias[g], rows, p->input_size, p->state_size, gate);
  fc_f32(h, w->w_rec[g], NULL, rows, p->state_size, p->state_size, tmp);
  for (size_t i = 0; i < n; ++i) gate[i] = gate[i] + tmp[i];
  for (size_t i = 0; i < n; ++i) gate[i] = act == 4 ? tanhf(gate[i]) : qie_lstm_sigmoid_f32(gate[i]);
}

static void step_f32(const qie_lstm_f32_params* p, const qie_lstm_f32_weights* w, const float* x,
                     float* h, float* c, float* out, int rows, float* scratch) {
  const size_t n = (size_t)rows * p->state_size;
  float *b0 = scratch, *b1 = scratch + n, *b2 = scratch + 2 * n, *b3 = scratch + 3 * n;
  gate_f32(p, w, QIE_LSTM_GATE_F, 6, x, h, rows, b0, b3);
  gate_f32(p, w, QIE_LSTM_GATE_I, 6, x, h, rows, b1, b3);
  gate_f32(p, w, QIE_LSTM_GATE_C, p->cell_activation, x, h, rows, b2, b3);
  for (size_t i = 0; i < n; ++i) c[i] = clamp_finite(b0[i] * c[i]);
  for (size_t i = 0; i < n; ++i) b1[i] = clamp_finite(b1[i] * b2[i]);
  for (size_t i = 0; i < n; ++i) c[i] = c[i] + b1[i];
  if (p->cell_clip > 0.0f)
    for (size_t i = 0; i < n; ++i) {
      const float lo = c[i] < p->cell_clip ? c[i] : p->cell_clip;
      c[i] = lo < -p->cell_clip ? -p->cell_clip : lo;
    }
  gate_f32(p, w, QIE_LSTM_GATE_O, 6, x, h, rows, b1, b3);
  for (size_t i = 0; i < n; ++i) b0[i] = tanhf(c[i]);
  for (size_t i = 0; i < n; ++i) h[i] = clamp_finite(b0[i] * b1[i]);
  memcpy(out, h, n * sizeof(float));
}

/* Time major runs all batches per step; batch major runs each sequence alone
 * with its own state row. Rows are independent, so both orders match TFLite. */
#define QIE_LSTM_LOOP(STEP, X, H, C, OUT)                                                   \
  do {                                                                                      \
    const size_t I_ = (size_t)p->input_size, S_ = (size_t)p->state_size;                    \
    if (p->time_major) {                                                                    \
      const size_t B_ = (size_t)p->batch;                                                   \
      for (int t_ = 0; t_ < p->time_steps; ++t_)                                            \
        STEP(p, w, (X) + (size_t)t_ * B_ * I_, (H), (C), (OUT) + (size_t)t_ * B_ * S_,      \
             p->batch, scratch);                                                            \
    } else {                                                                                \
      for (int b_ = 0; b_ < p->batch; ++b_)                                                 \
        for (int t_ = 0; t_ < p->time_steps; ++t_) {                                        \
          const size_t r_ = (size_t)b_ * p->time_steps + t_;                                \
          STEP(p, w, (X) + r_ * I_, (H) + b_ * S_, (C) + b_ * S_, (OUT) + r_ * S_, 1, scratch); \
        }                                                                                   \
    }                                                                                       \
  } while (0)

void qie_lstm_f32_ref(const qie_lstm_f32_params* p, const qie_lstm_f32_weights* w,
                      const float* input, float* hidden, float* cell, float* output,
                      float* scratch) {
  QIE_LSTM_LOOP(step_f32, input, hidden, cell, output);
}

/* ---- int8 activations, int16 cell ---- */

static inline int32_t wrap_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

static inline int16_t sat16(int32_t v) {
  return (int16_t)(v < INT16_MIN ? INT16_MIN : (v > INT16_MAX ? INT16_MAX : v));
}

/* int8 x int8 FC to the int16 Q3.12 gate pre-activation (output zero point 0). */
static void fc_s8(const int8_t* x, int32_t x_zp, const int8_t* w, int32_t w_zp, const int32_t* bias,
                  int32_t mult, int shift, int rows, int depth, int units, int16_t* out) {
  for (int b = 0; b < rows; ++b)
    for (int u = 0; u < units; ++u) {
      int32_t acc = 0;
      for (int d = 0; d < depth; ++d) {
        const int32_t xv = (int32_t)x[(size_t)b * depth + d] - x_zp;
        const int32_t wv = (int32_t)w[(size_t)u * depth + d] - w_zp;
        acc = wrap_add(acc, xv * wv);
      }
      if (bias) acc = wrap_add(acc, bias[u]);
      out[(size_t)b * units + u] = sat16(qie_mul_by_quantized_multiplier(acc, mult, shift));
    }
}

static void gate_s8(const qie_lstm_q_params* p, const qie_lstm_q_weights* w, int g, int act,
                    const int8_t* x, const int8_t* h, int rows, int16_t* gate, int16_t* tmp) {
  const size_t n = (size_t)rows * p->state_size;
  fc_s8(x, p->input_zp, w->w_in[g], p->w_in_zp[g], w->bias[g], p->in_mult[g], p->in_shift[g], rows,
        p->input_size, p->state_size, gate);
  fc_s8(h, p->hidden_zp, w->w_rec[g], p->w_rec_zp[g], NULL, p->rec_mult[g], p->rec_shift[g], rows,
        p->state_size, p->state_size, tmp);
  for (size_t i = 0; i < n; ++i) gate[i] = sat16((int32_t)gate[i] + tmp[i]);
  /* gate inputs are Q3.12: tanh sees multiplier 3 and no shift */
  for (size_t i = 0; i < n; ++i)
    gate[i] = act == 4 ? qie_lstm_tanh_s16(gate[i], 3, 0) : qie_lstm_sigmoid_s16(gate[i]);
}

static inline int32_t mul_q(int16_t a, int16_t b, int32_t mult, int shift) {
  return qie_mul_by_quantized_multiplier((int32_t)a * b, mult, shift);
}

static void step_s8(const qie_lstm_q_params* p, const qie_lstm_q_weights* w, const int8_t* x,
                    int8_t* h, int16_t* c, int8_t* out, int rows, int16_t* scratch) {
  const size_t n = (size_t)rows * p->state_size;
  int16_t *b0 = scratch, *b1 = scratch + n, *b2 = scratch + 2 * n, *b3 = scratch + 3 * n;
  gate_s8(p, w, QIE_LSTM_GATE_F, 6, x, h, rows, b0, b3);
  gate_s8(p, w, QIE_LSTM_GATE_I, 6, x, h, rows, b1, b3);
  gate_s8(p, w, QIE_LSTM_GATE_C, p->cell_activation, x, h, rows, b2, b3);
  for (size_t i = 0; i < n; ++i) c[i] = sat16(mul_q(b0[i], c[i], p->fc_mult, p->fc_shift));
  for (size_t i = 0; i < n; ++i) b1[i] = sat16(mul_q(b1[i], b2[i], p->ic_mult, p->ic_shift));
  for (size_t i = 0; i < n; ++i) c[i] = sat16((int32_t)c[i] + b1[i]);
  if (p->has_cell_clip)
    for (size_t i = 0; i < n; ++i) {
      const int16_t lo = c[i] < p->cell_clip_q ? c[i] : p->cell_clip_q;
      const int16_t neg = (int16_t)-p->cell_clip_q;
      c[i] = lo < neg ? neg : lo;
    }
  gate_s8(p, w, QIE_LSTM_GATE_O, 6, x, h, rows, b1, b3);
  /* tanh of the cell: its Q(15+power) input is rescaled to tanh's Q3.12 * 3 domain */
  const int left = 15 + p->cell_scale_power - 3;
  const int32_t tm = left >= 0 ? (3 << left) : 3;
  const int ts = left >= 0 ? 0 : -left;
  for (size_t i = 0; i < n; ++i) b0[i] = qie_lstm_tanh_s16(c[i], tm, ts);
  for (size_t i = 0; i < n; ++i) {
    int64_t v = (int64_t)mul_q(b0[i], b1[i], p->h_mult, p->h_shift) + p->hidden_zp;
    v = v < -128 ? -128 : (v > 127 ? 127 : v);
    h[i] = (int8_t)v;
  }
  memcpy(out, h, n);
}

void qie_lstm_s8_s16_ref(const qie_lstm_q_params* p, const qie_lstm_q_weights* w,
                         const int8_t* input, int8_t* hidden, int16_t* cell, int8_t* output,
                         int16_t* scratch) {
  QIE_LSTM_LOOP(step_s8, input, hidden, cell, output);
}
