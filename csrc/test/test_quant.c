/* The quantization math every kernel relies on. */
#include <math.h>
#include <stdint.h>

#include "../kernels/quant.h"
#include "check.h"

static void test_quantize_multiplier(void) {
  int32_t m;
  int s;
  qie_quantize_multiplier(0.5, &m, &s); /* 0.5 = 0.5 * 2^0 */
  CHECK_EQ_INT(m, 1 << 30);
  CHECK_EQ_INT(s, 0);
  qie_quantize_multiplier(1.0, &m, &s); /* 1 = 0.5 * 2^1 */
  CHECK_EQ_INT(m, 1 << 30);
  CHECK_EQ_INT(s, 1);
  qie_quantize_multiplier(0.75, &m, &s);
  CHECK_EQ_INT(m, 1610612736); /* 0.75 * 2^31 */
  CHECK_EQ_INT(s, 0);
  /* a real conv multiplier from person_detect-like scales:
   * 0.0078431377 * 0.0034 / 0.0235 = 0.00113475...; frexp gives 0.5810... * 2^-9 */
  double real = (double)0.0078431377f * (double)0.0034f / (double)0.0235f;
  qie_quantize_multiplier(real, &m, &s);
  CHECK_EQ_INT(s, -9);
  CHECK(fabs((double)m / 2147483648.0 * pow(2, s) - real) < 1e-12);
  /* a significand that rounds up to 2^31 moves into the exponent */
  qie_quantize_multiplier(1.0 - 1e-12, &m, &s);
  CHECK_EQ_INT(m, 1 << 30);
  CHECK_EQ_INT(s, 1);
  /* below 2^-32 everything shifts out: flushed to zero */
  qie_quantize_multiplier(1e-12, &m, &s);
  CHECK_EQ_INT(m, 0);
  CHECK_EQ_INT(s, 0);
  qie_quantize_multiplier(0.0, &m, &s);
  CHECK_EQ_INT(m, 0);
}

static void test_srdhm(void) {
  CHECK_EQ_INT(qie_srdhm(INT32_MIN, INT32_MIN), INT32_MAX); /* the one overflow saturates */
  CHECK_EQ_INT(qie_srdhm(1 << 30, 1 << 30), 1 << 29);
  CHECK_EQ_INT(qie_srdhm(1, 1 << 30), 1);   /* +0.5 rounds up */
  CHECK_EQ_INT(qie_srdhm(-1, 1 << 30), 0);  /* -0.5 rounds up too (toward +inf) */
  CHECK_EQ_INT(qie_srdhm(-3, 1 << 30), -1); /* -1.5 -> -1 */
  CHECK_EQ_INT(qie_srdhm(INT32_MAX, INT32_MAX), INT32_MAX - 1);
  CHECK_EQ_INT(qie_srdhm(INT32_MIN, INT32_MAX), INT32_MIN + 1);
}

static void test_rounding_divide(void) {
  /* ties go away from zero */
  CHECK_EQ_INT(qie_rounding_divide_by_pot(5, 1), 3);
  CHECK_EQ_INT(qie_rounding_divide_by_pot(-5, 1), -3);
  CHECK_EQ_INT(qie_rounding_divide_by_pot(3, 1), 2);
  CHECK_EQ_INT(qie_rounding_divide_by_pot(-3, 1), -2);
  CHECK_EQ_INT(qie_rounding_divide_by_pot(4, 1), 2);
  CHECK_EQ_INT(qie_rounding_divide_by_pot(-4, 2), -1);
  CHECK_EQ_INT(qie_rounding_divide_by_pot(-6, 2), -2); /* -1.5 -> -2 */
  CHECK_EQ_INT(qie_rounding_divide_by_pot(6, 2), 2);   /* 1.5 -> 2 */
  CHECK_EQ_INT(qie_rounding_divide_by_pot(7, 0), 7);
  CHECK_EQ_INT(qie_rounding_divide_by_pot(INT32_MAX, 31), 1);
  CHECK_EQ_INT(qie_rounding_divide_by_pot(INT32_MIN, 31), -1);
}

static void test_requantize(void) {
  int32_t m;
  int s;
  qie_quantize_multiplier(0.5, &m, &s);
  /* 0.5 * 3 = 1.5 -> 2 (srdhm rounds 1.5 up) */
  CHECK_EQ_INT(qie_mul_by_quantized_multiplier(3, m, s), 2);
  CHECK_EQ_INT(qie_mul_by_quantized_multiplier(-3, m, s), -1); /* -1.5 -> -1 in srdhm */
  qie_quantize_multiplier(0.25, &m, &s); /* = 2^30 with shift -1: the rounding shift decides */
  CHECK_EQ_INT(qie_mul_by_quantized_multiplier(6, m, s), 2);   /* 1.5: srdhm 3, then 3/2 -> 2 */
  CHECK_EQ_INT(qie_mul_by_quantized_multiplier(-6, m, s), -2); /* srdhm -3, then -1.5 -> -2 */
  /* double rounding: 0.375 * 3 = 1.125 -> srdhm(3, 0.75) = 2.25 -> 2, then 2/2 = 1 */
  qie_quantize_multiplier(0.375, &m, &s);
  CHECK_EQ_INT(qie_mul_by_quantized_multiplier(3, m, s), 1);
  /* multiplier above one: left shift first */
  qie_quantize_multiplier(3.0, &m, &s);
  CHECK_EQ_INT(qie_mul_by_quantized_multiplier(1000, m, s), 3000);
  /* at the int32 limits: the high multiply cannot overflow for multipliers below one */
  CHECK_EQ_INT(qie_mul_by_quantized_multiplier(INT32_MAX, INT32_MAX, 0), INT32_MAX - 1);
  CHECK_EQ_INT(qie_mul_by_quantized_multiplier(INT32_MIN, INT32_MAX, 0), INT32_MIN + 1);
  CHECK_EQ_INT(qie_mul_by_quantized_multiplier(INT32_MIN, 1 << 30, -31), -1);
  /* int8 saturation is the caller's clamp */
  CHECK_EQ_INT(qie_clamp_i32(300, -128, 127), 127);
  CHECK_EQ_INT(qie_clamp_i32(-300, -128, 127), -128);
  CHECK_EQ_INT(qie_clamp_i32(5, -128, 127), 5);
}

static void test_quantize_value(void) {
  CHECK_EQ_INT(qie_quantize_value(0.5f, 1.0f, 0, -128, 127), 1); /* ties away from zero */
  CHECK_EQ_INT(qie_quantize_value(-0.5f, 1.0f, 0, -128, 127), -1);
  CHECK_EQ_INT(qie_quantize_value(2.5f, 1.0f, 0, -128, 127), 3);
  CHECK_EQ_INT(qie_quantize_value(1000.0f, 1.0f, 0, -128, 127), 127);
  CHECK_EQ_INT(qie_quantize_value(-1e30f, 1.0f, 5, -128, 127), -128);
  CHECK_EQ_INT(qie_quantize_value(1e30f, 1e-30f, 0, -32768, 32767), 32767);
  CHECK_EQ_INT(qie_quantize_value(NAN, 1.0f, 3, -128, 127), 3);
  CHECK_EQ_INT(qie_quantize_value(0.1f, 0.1f, -128, -128, 127), -127);
}

static void test_activation_ranges(void) {
  int32_t lo, hi;
  CHECK_EQ_INT(qie_activation_range_quantized(3, 6.0f / 255.0f, -128, -128, 127, &lo, &hi), 0);
  CHECK_EQ_INT(lo, -128);
  CHECK_EQ_INT(hi, 127);
  CHECK_EQ_INT(qie_activation_range_quantized(3, 0.1f, 0, -128, 127, &lo, &hi), 0);
  CHECK_EQ_INT(lo, 0);
  CHECK_EQ_INT(hi, 60);
  CHECK_EQ_INT(qie_activation_range_quantized(1, 0.1f, -10, -128, 127, &lo, &hi), 0);
  CHECK_EQ_INT(lo, -10);
  CHECK_EQ_INT(hi, 127);
  CHECK_EQ_INT(qie_activation_range_quantized(2, 0.01f, 0, -128, 127, &lo, &hi), 0);
  CHECK_EQ_INT(lo, -100);
  CHECK_EQ_INT(hi, 100);
  CHECK_EQ_INT(qie_activation_range_quantized(4, 0.01f, 0, -128, 127, &lo, &hi), -1);
  float flo, fhi;
  CHECK_EQ_INT(qie_activation_range_float(3, &flo, &fhi), 0);
  CHECK(flo == 0.0f && fhi == 6.0f);
}

int main(void) {
  test_quantize_multiplier();
  test_srdhm();
  test_rounding_divide();
  test_requantize();
  test_quantize_value();
  test_activation_ranges();
  return CHECK_DONE("test_quant");
}
