/* Q-format fixed-point primitives on int32 raw values, bit-exact with gemmlowp's
 * scalar reference (fixedpoint/fixedpoint.h), which TFLite's integer softmax,
 * logistic and tanh are written in. A value in format Q<ib> has ib integer bits
 * and 31 - ib fractional bits. Plain adds wrap (gemmlowp leaves overflow to the
 * hardware); they go through uint32 so C never sees signed overflow. */
#ifndef QIE_FIXEDPOINT_H
#define QIE_FIXEDPOINT_H

#include <stdint.h>

#include "quant.h"

static inline int32_t qie_fp_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t qie_fp_sub(int32_t a, int32_t b) { return (int32_t)((uint32_t)a - (uint32_t)b); }
static inline int32_t qie_fp_neg(int32_t a) { return (int32_t)(0u - (uint32_t)a); }

/* Q<a> * Q<b> -> Q<a+b>. */
static inline int32_t qie_fp_mul(int32_t a, int32_t b) { return qie_srdhm(a, b); }

/* (a + b) / 2 rounded half away from zero, computed without overflow. */
static inline int32_t qie_fp_rounding_half_sum(int32_t a, int32_t b) {
  const int64_t sum = (int64_t)a + (int64_t)b;
  return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* x * 2^exponent: saturating for exponent > 0, rounding for exponent < 0.
 * The saturation bounds are symmetric (+-(2^(31-e) - 1)), as gemmlowp's are. */
static inline int32_t qie_fp_sat_mul_pot(int32_t x, int exponent) {
  if (exponent == 0) return x;
  if (exponent < 0) return qie_rounding_divide_by_pot(x, -exponent);
  const int32_t threshold = (int32_t)((((int64_t)1) << (31 - exponent)) - 1);
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return (int32_t)((int64_t)x * ((int64_t)1 << exponent));
}

/* Changes a value's format from Q<src_bits> to Q<dst_bits>. */
static inline int32_t qie_fp_rescale(int32_t x, int src_bits, int dst_bits) {
  return qie_fp_sat_mul_pot(x, src_bits - dst_bits);
}

/* exp(a) for a in [-1/4, 0), Q0 in and out: a 4th-order Taylor expansion around -1/8. */
static inline int32_t qie_fp_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
  const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0 */
  const int32_t one_third = 715827883;
  const int32_t x = qie_fp_add(a, 1 << 28); /* a + 1/8 */
  const int32_t x2 = qie_fp_mul(x, x);
  const int32_t x3 = qie_fp_mul(x2, x);
  const int32_t x4 = qie_fp_mul(x2, x2);
  const int32_t x4_over_4 = qie_fp_sat_mul_pot(x4, -2);
  const int32_t poly =
      qie_fp_sat_mul_pot(qie_fp_add(qie_fp_mul(qie_fp_add(x4_over_4, x3), one_third), x2), -1);
  return qie_fp_add(exp_minus_one_eighth, qie_fp_mul(exp_minus_one_eighth, qie_fp_add(x, poly)));
}

/* exp(a) for a <= 0 given in Q<integer_bits> (0..5); result in Q0. Splits a into
 * its remainder modulo 1/4 (polynomial) and multiples of powers of two (table). */
static inline int32_t qie_fp_exp_on_negative_values(int32_t a, int integer_bits) {
  const int frac_bits = 31 - integer_bits;
  const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
  const int32_t mask = one_quarter - 1;
  const int32_t a_mod_quarter_minus_quarter = qie_fp_sub(a & mask, one_quarter);
  int32_t result = qie_fp_exp_on_interval_between_negative_one_quarter_and_0_excl(
      qie_fp_rescale(a_mod_quarter_minus_quarter, integer_bits, 0));
  const int32_t remainder = qie_fp_sub(a_mod_quarter_minus_quarter, a);
  /* exp(-2^k) in Q0 for k = -2..4 */
  static const int32_t exp_neg_pot[7] = {1672461947, 1302514674, 790015084, 290630308,
                                         39332535,   720401,     242};
  for (int k = -2; k <= 4; ++k) {
    if (integer_bits > k) {
      const int shift = frac_bits + k;
      if (remainder & ((int32_t)1 << shift)) result = qie_fp_mul(result, exp_neg_pot[k + 2]);
    }
  }
  if (integer_bits > 5) { /* below -32 the result is 0 */
    const int32_t clamp = -((int32_t)1 << (36 - integer_bits));
    if (a < clamp) result = 0;
  }
  if (a == 0) result = INT32_MAX;
  return result;
}

/* Newton-Raphson reciprocal shared by the two functions below: returns x ~
 * 1/half_denominator in Q2. */
static inline int32_t qie_fp_newton_reciprocal_q2(int32_t half_denominator) {
  const int32_t c48_over_17 = 1515870810;      /* Q2 */
  const int32_t c_neg32_over_17 = -1010580540; /* Q2 */
  const int32_t one_q2 = (int32_t)1 << 29;
  int32_t x = qie_fp_add(c48_over_17, qie_fp_mul(half_denominator, c_neg32_over_17));
  for (int i = 0; i < 3; ++i) {
    const int32_t half_denominator_times_x = qie_fp_mul(half_denominator, x);
    const int32_t one_minus = qie_fp_sub(one_q2, half_denominator_times_x);
    x = qie_fp_add(x, qie_fp_rescale(qie_fp_mul(x, one_minus), 4, 2));
  }
  return x;
}

/* 1 / (1 + a) for a in [0, 1), Q0 in and out. */
static inline int32_t qie_fp_one_over_one_plus_x_for_x_in_0_1(int32_t a) {
  const int32_t x = qie_fp_newton_reciprocal_q2(qie_fp_rounding_half_sum(a, INT32_MAX));
  return qie_fp_rescale(x, 1, 0); /* x/2 in Q1 is the same raw value */
}

/* (1 - a) / (1 + a) for a in [0, 1), Q0 in and out. */
static inline int32_t qie_fp_one_minus_x_over_one_plus_x_for_x_in_0_1(int32_t a) {
  const int32_t x = qie_fp_newton_reciprocal_q2(qie_fp_rounding_half_sum(a, INT32_MAX));
  return qie_fp_rescale(qie_fp_sub(x, (int32_t)1 << 29), 2, 0);
}

/* tanh(a) for a in Q<integer_bits> (0..4); result in Q0. */
static inline int32_t qie_fp_tanh(int32_t a, int integer_bits) {
  if (a == 0) return 0;
  const int32_t n = a < 0 ? a : qie_fp_neg(a);
  /* doubling n is free: same raw value read with one more integer bit */
  const int32_t t =
      qie_fp_one_minus_x_over_one_plus_x_for_x_in_0_1(qie_fp_exp_on_negative_values(n, integer_bits + 1));
  return a < 0 ? qie_fp_neg(t) : t;
}

/* logistic(a) = 1 / (1 + exp(-a)) for a in Q<integer_bits> (0..5); result in Q0. */
static inline int32_t qie_fp_logistic(int32_t a, int integer_bits) {
  if (a == 0) return (int32_t)1 << 30;
  const int32_t abs_a = a > 0 ? a : qie_fp_neg(a);
  const int32_t positive =
      qie_fp_one_over_one_plus_x_for_x_in_0_1(qie_fp_exp_on_negative_values(qie_fp_neg(abs_a), integer_bits));
  return a > 0 ? positive : qie_fp_sub(INT32_MAX, positive);
}

static inline int qie_fp_count_leading_zeros(uint32_t x) {
  if (x == 0) return 32;
  int n = 0;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    ++n;
  }
  return n;
}

/* 1/x for x > 0 in Q<x_integer_digits>, as TFLite's GetReciprocal: returns the
 * reciprocal of x normalized into [1, 2) as Q0 (so really 1/(2 * norm)), and the
 * number of bits x had above 1.0. */
static inline int32_t qie_fp_reciprocal(int32_t x, int x_integer_digits, int* num_bits_over_unit) {
  const int headroom_plus_one = qie_fp_count_leading_zeros((uint32_t)x);
  *num_bits_over_unit = x_integer_digits - headroom_plus_one;
  const uint32_t normalized = headroom_plus_one >= 32 ? 0u : ((uint32_t)x << headroom_plus_one);
  const int32_t shifted_minus_one = (int32_t)(normalized - 0x80000000u);
  return qie_fp_one_over_one_plus_x_for_x_in_0_1(shifted_minus_one);
}

#endif
