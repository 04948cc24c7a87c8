#include "quant.h"

#include <math.h>

void qie_quantize_multiplier(double m, int32_t* multiplier, int* shift) {
  if (m == 0.0 || !isfinite(m)) {
    *multiplier = 0;
    *shift = 0;
    return;
  }
  int exp = 0;
  const double q = frexp(m, &exp);
  int64_t q_fixed = (int64_t)qie_round_d(q * (double)(1LL << 31));
  if (q_fixed == (1LL << 31)) {
    q_fixed /= 2;
    ++exp;
  }
  if (exp < -31) { /* every bit would shift out: flush to zero */
    exp = 0;
    q_fixed = 0;
  }
  *multiplier = (int32_t)q_fixed;
  *shift = exp;
}

int32_t qie_mul_by_quantized_multiplier_64(int64_t x, int32_t multiplier, int shift) {
  /* Round to nearest, ties up, on a 64-bit product reduced to the Q31 multiplier's
   * top 16 bits (TFLite's int16 path). */
  const int32_t reduced = multiplier < 0x7FFF0000 ? (int32_t)((multiplier + (1 << 15)) >> 16) : 0x7FFF;
  const int total_shift = 15 - shift;
  const int64_t round = (int64_t)1 << (total_shift - 1);
  int64_t result = x * (int64_t)reduced + round;
  result = result >> total_shift;
  if (result > INT32_MAX) result = INT32_MAX;
  if (result < INT32_MIN) result = INT32_MIN;
  return (int32_t)result;
}

float qie_round_f(float v) { return roundf(v); }
double qie_round_d(double v) { return round(v); }

int32_t qie_quantize_value(float x, float scale, int32_t zero_point, int32_t qmin, int32_t qmax) {
  const float r = qie_round_f(x / scale);
  /* compare in float before converting: out-of-range floats are undefined as ints */
  int32_t q;
  if (!(r == r)) q = 0;
  else if (r >= 2147483520.0f) q = INT32_MAX;
  else if (r <= -2147483648.0f) q = INT32_MIN;
  else q = (int32_t)r;
  int64_t v = (int64_t)q + zero_point;
  if (v < qmin) v = qmin;
  if (v > qmax) v = qmax;
  return (int32_t)v;
}

int qie_activation_range_quantized(int activation, float scale, int32_t zero_point, int32_t qmin,
                                   int32_t qmax, int32_t* act_min, int32_t* act_max) {
  int32_t lo = qmin, hi = qmax;
  /* quantize a real bound the way TFLite's CalculateActivationRangeQuantized does,
   * saturating where a tiny scale would overflow int32 */
#define QIE_Q(x) qie_quantize_value((x), scale, zero_point, INT32_MIN, INT32_MAX)
  switch (activation) {
    case 0:
      break;
    case 1: { /* RELU */
      int32_t z = QIE_Q(0.0f);
      lo = z > qmin ? z : qmin;
      break;
    }
    case 3: { /* RELU6 */
      int32_t z = QIE_Q(0.0f), s = QIE_Q(6.0f);
      lo = z > qmin ? z : qmin;
      hi = s < qmax ? s : qmax;
      break;
    }
    case 2: { /* RELU_N1_TO_1 */
      int32_t a = QIE_Q(-1.0f), b = QIE_Q(1.0f);
      lo = a > qmin ? a : qmin;
      hi = b < qmax ? b : qmax;
      break;
    }
    default:
      return -1;
  }
#undef QIE_Q
  *act_min = lo;
  *act_max = hi;
  return 0;
}

int qie_activation_range_float(int activation, float* act_min, float* act_max) {
  switch (activation) {
    case 0:
      *act_min = -INFINITY;
      *act_max = INFINITY;
      return 0;
    case 1:
      *act_min = 0.0f;
      *act_max = INFINITY;
      return 0;
    case 2:
      *act_min = -1.0f;
      *act_max = 1.0f;
      return 0;
    case 3:
      *act_min = 0.0f;
      *act_max = 6.0f;
      return 0;
    default:
      return -1;
  }
}
