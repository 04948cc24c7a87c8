/* gemmlowp-style fixed-point primitives: hand-derived values and accuracy bounds. */
#include <math.h>

#include "../kernels/fixedpoint.h"
#include "check.h"

static double q_to_double(int32_t raw, int integer_bits) { return raw / (double)(1LL << (31 - integer_bits)); }

int main(void) {
  /* SRDHM rounds half up: 3 * 2^30 * 2 / 2^31 = 1.5 -> 2, -1.5 -> -1 */
  CHECK_EQ_INT(qie_fp_mul(3, 1 << 30), 2);
  CHECK_EQ_INT(qie_fp_mul(-3, 1 << 30), -1);
  CHECK_EQ_INT(qie_fp_mul(INT32_MIN, INT32_MIN), INT32_MAX);

  /* (a + b) / 2 rounded away from zero */
  CHECK_EQ_INT(qie_fp_rounding_half_sum(1, 2), 2);
  CHECK_EQ_INT(qie_fp_rounding_half_sum(-1, -2), -2);
  CHECK_EQ_INT(qie_fp_rounding_half_sum(0, INT32_MAX), 1 << 30);
  CHECK_EQ_INT(qie_fp_rounding_half_sum(INT32_MAX, INT32_MAX), INT32_MAX);

  /* saturating left shift: bounds are +-(2^(31-e) - 1); -2^(31-e) saturates too */
  CHECK_EQ_INT(qie_fp_sat_mul_pot(3, 2), 12);
  CHECK_EQ_INT(qie_fp_sat_mul_pot((1 << 29) - 1, 2), ((1 << 29) - 1) * 4);
  CHECK_EQ_INT(qie_fp_sat_mul_pot(1 << 29, 2), INT32_MAX);
  CHECK_EQ_INT(qie_fp_sat_mul_pot(-(1 << 29), 2), INT32_MIN);
  CHECK_EQ_INT(qie_fp_sat_mul_pot(-(1 << 29) + 1, 2), (-(1 << 29) + 1) * 4);
  /* rounding right shift: 5/4 = 1.25 -> 1, 6/4 = 1.5 -> 2, -6/4 -> -2 (away from zero) */
  CHECK_EQ_INT(qie_fp_sat_mul_pot(5, -2), 1);
  CHECK_EQ_INT(qie_fp_sat_mul_pot(6, -2), 2);
  CHECK_EQ_INT(qie_fp_sat_mul_pot(-6, -2), -2);
  CHECK_EQ_INT(qie_fp_sat_mul_pot(-5, -2), -1);

  /* exp(0) is exactly One (INT32_MAX in Q0) for any input format */
  for (int ib = 0; ib <= 5; ++ib) CHECK_EQ_INT(qie_fp_exp_on_negative_values(0, ib), INT32_MAX);
  /* exp over [-1/4, 0): the polynomial at -1/8 (x = 0) is exactly the constant term */
  CHECK_EQ_INT(qie_fp_exp_on_interval_between_negative_one_quarter_and_0_excl(-(1 << 28)), 1895147668);
  /* accuracy of exp on Q5.26 inputs down to -31 (gemmlowp stays within ~1e-6 here) */
  double worst = 0.0;
  for (int32_t a = 0; a > -(31 << 26); a -= 1234567) {
    const double got = q_to_double(qie_fp_exp_on_negative_values(a, 5), 0);
    const double err = fabs(got - exp(q_to_double(a, 5)));
    if (err > worst) worst = err;
  }
  CHECK(worst < 2e-6);
  /* below -32 in Q5 the table zeroes everything: exp(-31.99) is tiny */
  CHECK(qie_fp_exp_on_negative_values(INT32_MIN + 1, 5) >= 0);
  CHECK(qie_fp_exp_on_negative_values(INT32_MIN + 1, 5) < 8);

  /* 1/(1+x): x = 0 gives ~1, x -> 1 gives ~1/2 */
  CHECK(abs(qie_fp_one_over_one_plus_x_for_x_in_0_1(0) - INT32_MAX) < 64);
  CHECK(abs(qie_fp_one_over_one_plus_x_for_x_in_0_1(INT32_MAX) - (1 << 30)) < 64);
  worst = 0.0;
  for (int32_t a = 0; a < INT32_MAX - 9999999; a += 9999991) {
    const double got = q_to_double(qie_fp_one_over_one_plus_x_for_x_in_0_1(a), 0);
    const double err = fabs(got - 1.0 / (1.0 + q_to_double(a, 0)));
    if (err > worst) worst = err;
  }
  CHECK(worst < 1e-7);

  /* reciprocal of 2^21 in Q12 (= 4): normalized sum is exactly 1, 2 bits over unit */
  int bits = -1;
  const int32_t r = qie_fp_reciprocal(1 << 21, 12, &bits);
  CHECK_EQ_INT(bits, 2);
  CHECK(r > INT32_MAX - 64);
  /* 3.0 in Q12 (3 * 2^19): normalized 1.5, 1 bit over unit, result ~ 1/1.5 */
  const int32_t r3 = qie_fp_reciprocal(3 << 19, 12, &bits);
  CHECK_EQ_INT(bits, 1);
  CHECK(fabs(q_to_double(r3, 0) - 2.0 / 3.0) < 1e-8);

  /* logistic(0) = 1/2 exactly, tanh(0) = 0 exactly; odd/complementary symmetry */
  CHECK_EQ_INT(qie_fp_logistic(0, 4), 1 << 30);
  CHECK_EQ_INT(qie_fp_tanh(0, 4), 0);
  for (int32_t a = 1; a < (8 << 27); a += 7654321) {
    CHECK_EQ_INT(qie_fp_logistic(-a, 4), INT32_MAX - qie_fp_logistic(a, 4));
    CHECK_EQ_INT(qie_fp_tanh(-a, 4), -qie_fp_tanh(a, 4));
  }
  worst = 0.0;
  double worst_tanh = 0.0;
  for (int32_t a = INT32_MIN + 1; a < INT32_MAX - 4000000; a += 3333331) {
    const double x = q_to_double(a, 4);
    const double el = fabs(q_to_double(qie_fp_logistic(a, 4), 0) - 1.0 / (1.0 + exp(-x)));
    const double et = fabs(q_to_double(qie_fp_tanh(a, 4), 0) - tanh(x));
    if (el > worst) worst = el;
    if (et > worst_tanh) worst_tanh = et;
  }
  CHECK(worst < 1e-6);
  CHECK(worst_tanh < 1e-6);

  CHECK_EQ_INT(qie_fp_count_leading_zeros(0), 32);
  CHECK_EQ_INT(qie_fp_count_leading_zeros(1), 31);
  CHECK_EQ_INT(qie_fp_count_leading_zeros(0x80000000u), 0);
  return CHECK_DONE("test_fixedpoint");
}
