/* Quantization arithmetic in one place: the definition every kernel follows.
 * Requantization is TFLite's int8 spec with its default (double) rounding:
 * a saturating rounding doubling high multiply by a Q31 multiplier, then a
 * rounding right shift. */
#ifndef QIE_QUANT_H
#define QIE_QUANT_H

#include <stdint.h>

/* m = q * 2^shift with q in [0.5, 1) as Q31; tiny multipliers flush to 0. */
void qie_quantize_multiplier(double m, int32_t* multiplier, int* shift);

/* (a * b * 2) >> 31 rounded to nearest, saturating the single overflow case. */
static inline int32_t qie_srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * (int64_t)b;
  int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  /* division truncating toward zero, as C99 defines it */
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero. exponent in [0, 31]. */
static inline int32_t qie_rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = (int32_t)((((int64_t)1) << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^shift with double rounding (shift may be positive). */
static inline int32_t qie_mul_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
  const int left = shift > 0 ? shift : 0;
  const int right = shift > 0 ? 0 : -shift;
  /* the shift is done on uint32 so an (invalid) overflow wraps instead of being UB */
  int32_t shifted = (int32_t)((uint32_t)x << left);
  return qie_rounding_divide_by_pot(qie_srdhm(shifted, multiplier), right);
}

/* The int64-input variant TFLite uses for 16-bit activations (single rounding). */
int32_t qie_mul_by_quantized_multiplier_64(int64_t x, int32_t multiplier, int shift);

static inline int32_t qie_clamp_i32(int32_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* Round half away from zero, as TFLite's TfLiteRound (std::round). */
float qie_round_f(float v);
double qie_round_d(double v);

/* Integer bounds of a fused activation on a quantized output. Returns 0, or -1
 * for an activation with no integer bounds (TANH, SIGN_BIT). */
int qie_activation_range_quantized(int activation, float scale, int32_t zero_point, int32_t qmin,
                                   int32_t qmax, int32_t* act_min, int32_t* act_max);
/* Float bounds of a fused activation. Returns 0, or -1 when unsupported. */
int qie_activation_range_float(int activation, float* act_min, float* act_max);

/* Float to quantized, TFLite's way: zp + round(x / scale), saturated to [qmin, qmax]. */
int32_t qie_quantize_value(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax);

#endif
