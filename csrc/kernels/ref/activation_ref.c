/* Activation reference kernels, following TFLite's reference kernels. */
#include <math.h>

#include "../activation.h"
#include "../fixedpoint.h"
#include "../quant.h"

/* ---- RELU family ---- */

static inline int32_t relu_q_one(const qie_relu_q_params* p, int32_t x) {
  const int32_t v = p->out_zp + qie_mul_by_quantized_multiplier(x - p->in_zp, p->multiplier, p->shift);
  return qie_clamp_i32(v, p->act_min, p->act_max);
}

void qie_relu_s8_ref(const qie_relu_q_params* p, size_t n, const int8_t* in, int8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = (int8_t)relu_q_one(p, in[i]);
}

void qie_relu_s16_ref(const qie_relu_q_params* p, size_t n, const int16_t* in, int16_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = (int16_t)relu_q_one(p, in[i]);
}

void qie_relu_f32_ref(float lo, float hi, size_t n, const float* in, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const float v = in[i];
    out[i] = v > hi ? hi : (v < lo ? lo : v);
  }
}

/* ---- LEAKY_RELU ---- */

static inline int32_t leaky_q_one(const qie_leaky_relu_q_params* p, int32_t x, int32_t lo, int32_t hi) {
  const int32_t v = x - p->in_zp;
  const int32_t scaled = v >= 0 ? qie_mul_by_quantized_multiplier(v, p->mult_identity, p->shift_identity)
                                : qie_mul_by_quantized_multiplier(v, p->mult_alpha, p->shift_alpha);
  return qie_clamp_i32(p->out_zp + scaled, lo, hi);
}

void qie_leaky_relu_s8_ref(const qie_leaky_relu_q_params* p, size_t n, const int8_t* in, int8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = (int8_t)leaky_q_one(p, in[i], -128, 127);
}

void qie_leaky_relu_s16_ref(const qie_leaky_relu_q_params* p, size_t n, const int16_t* in,
                            int16_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = (int16_t)leaky_q_one(p, in[i], -32768, 32767);
}

void qie_leaky_relu_f32_ref(float alpha, size_t n, const float* in, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = in[i] > 0.0f ? in[i] : in[i] * alpha;
}

/* ---- HARD_SWISH: int16 fixed point with gemmlowp's int16 semantics ---- */

static inline int16_t srdhm16(int16_t a, int16_t b) {
  if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
  const int32_t ab = (int32_t)a * (int32_t)b;
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return (int16_t)((ab + nudge) / (1 << 15));
}

/* Truncating variant: cancels the bias of the rounding one above. */
static inline int16_t sdhm16(int16_t a, int16_t b) {
  if (a == INT16_MIN && b == INT16_MIN) return INT16_MAX;
  return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

/* gemmlowp's RoundingDivideByPOT on int16 lanes (mask and sums wrap to int16). */
static inline int16_t rdbp16(int16_t x, int exponent) {
  const int16_t mask = (int16_t)((1LL << exponent) - 1);
  const int16_t remainder = (int16_t)(x & mask);
  const int16_t threshold = (int16_t)((mask >> 1) + (x < 0 ? 1 : 0));
  return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

static inline int16_t sat_left_shift16(int16_t x, int amount) {
  int64_t v = (int64_t)x * ((int64_t)1 << amount);
  if (v > INT16_MAX) v = INT16_MAX;
  if (v < INT16_MIN) v = INT16_MIN;
  return (int16_t)v;
}

void qie_hard_swish_s8_ref(const qie_hard_swish_q_params* p, size_t n, const int8_t* in, int8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const int16_t x = (int16_t)(in[i] - p->in_zp);
    const int16_t hires = (int16_t)(x * (1 << 7)); /* |x| <= 255: fits */
    const int16_t on_out_scale = srdhm16(hires, p->output_multiplier);
    /* relu-ish factor: x/3 clamped to [-1, 1], then mapped to [0, 1] */
    int16_t r = hires;
    if (p->reluish_exponent > 0) r = sat_left_shift16(r, p->reluish_exponent - 1);
    r = srdhm16(r, p->reluish_multiplier);
    if (p->reluish_exponent > 0) r = sat_left_shift16(r, 1); /* saturation only counts here */
    if (p->reluish_exponent < 0) r = rdbp16(r, -p->reluish_exponent);
    r = (int16_t)((r + (1 << 15)) >> 1);
    const int16_t pre = sdhm16(r, on_out_scale);
    int16_t v = rdbp16(pre, -p->output_exponent);
    v = (int16_t)(v + p->out_zp);
    out[i] = (int8_t)(v > 127 ? 127 : (v < -128 ? -128 : v));
  }
}

void qie_hard_swish_f32_ref(size_t n, const float* in, float* out) {
  for (size_t i = 0; i < n; ++i) {
    const float x = in[i];
    float r = x + 3.0f;
    r = 0.0f < r ? r : 0.0f;
    r = r < 6.0f ? r : 6.0f;
    out[i] = x * r / 6.0f;
  }
}

/* ---- LOGISTIC / TANH ---- */

void qie_logistic_s8_ref(const qie_sigmoid_q_params* p, size_t n, const int8_t* in, int8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const int32_t x = (int32_t)in[i] - p->in_zp;
    if (x <= -p->range_radius) {
      out[i] = -128;
    } else if (x >= p->range_radius) {
      out[i] = 127;
    } else {
      const int32_t q4 = qie_mul_by_quantized_multiplier(x, p->multiplier, p->left_shift);
      const int32_t q0 = qie_fp_logistic(q4, 4);
      /* Q0 -> 1/256 steps, then the -128 zero point */
      const int32_t v = qie_rounding_divide_by_pot(q0, 31 - 8) - 128;
      out[i] = (int8_t)qie_clamp_i32(v, -128, 127);
    }
  }
}

void qie_tanh_s8_ref(const qie_sigmoid_q_params* p, size_t n, const int8_t* in, int8_t* out) {
  for (size_t i = 0; i < n; ++i) {
    const int32_t x = (int32_t)in[i] - p->in_zp;
    if (x <= -p->range_radius) {
      out[i] = -128;
    } else if (x >= p->range_radius) {
      out[i] = 127;
    } else {
      const int32_t q4 = qie_mul_by_quantized_multiplier(x, p->multiplier, p->left_shift);
      const int32_t q0 = qie_fp_tanh(q4, 4);
      const int32_t v = qie_rounding_divide_by_pot(q0, 31 - 7); /* 1/128 steps */
      out[i] = (int8_t)qie_clamp_i32(v, -128, 127);
    }
  }
}

void qie_logistic_f32_ref(size_t n, const float* in, float* out) {
  /* TFLite's reference cutoffs: 1 above ~16.6, exp(x) below -9 */
  const float upper = 16.619047164916992188f, lower = -9.0f;
  for (size_t i = 0; i < n; ++i) {
    const float x = in[i];
    out[i] = x > upper ? 1.0f : (x < lower ? expf(x) : 1.0f / (1.0f + expf(-x)));
  }
}

void qie_tanh_f32_ref(size_t n, const float* in, float* out) {
  for (size_t i = 0; i < n; ++i) out[i] = tanhf(in[i]);
}
