/* SOFTMAX reference kernels: TFLite reference_ops::Softmax (float, and the
 * gemmlowp fixed-point version for int8 input). */
#include <math.h>

#include "../fixedpoint.h"
#include "../softmax.h"

enum { SCALED_DIFF_BITS = 5, ACCUM_BITS = 12 };

/* exp(beta * s * diff) in Q0 for a diff >= diff_min (diff <= 0). */
static inline int32_t exp_of_diff(const qie_softmax_q_params* p, int32_t diff) {
  /* diff >= diff_min keeps diff * 2^shift inside int32 */
  const int32_t rescaled =
      qie_srdhm((int32_t)((int64_t)diff * ((int64_t)1 << p->input_left_shift)), p->input_multiplier);
  return qie_fp_exp_on_negative_values(rescaled, SCALED_DIFF_BITS);
}

/* One row; out_bits is 8 or 16 and selects the output type. */
static void softmax_row(const qie_softmax_q_params* p, size_t depth, const int8_t* in,
                        int8_t* out8, int16_t* out16, int out_bits) {
  int32_t max = -128;
  for (size_t c = 0; c < depth; ++c)
    if (in[c] > max) max = in[c];

  int32_t sum = 0; /* Q12.19 */
  for (size_t c = 0; c < depth; ++c) {
    const int32_t diff = (int32_t)in[c] - max;
    if (diff >= p->diff_min)
      sum = qie_fp_add(sum, qie_fp_rescale(exp_of_diff(p, diff), 0, ACCUM_BITS));
  }

  int bits_over_unit = 0;
  const int32_t shifted_scale = qie_fp_reciprocal(sum, ACCUM_BITS, &bits_over_unit);
  /* in [0, 31] whenever 1 <= sum < 4096, which depth <= 4095 guarantees */
  const int exponent = bits_over_unit + 31 - out_bits;
  const int32_t out_min = out_bits == 8 ? -128 : -32768;
  const int32_t out_max = out_bits == 8 ? 127 : 32767;

  for (size_t c = 0; c < depth; ++c) {
    const int32_t diff = (int32_t)in[c] - max;
    int32_t v = out_min;
    if (diff >= p->diff_min) {
      const int32_t prob = qie_fp_mul(shifted_scale, exp_of_diff(p, diff));
      v = qie_clamp_i32(qie_rounding_divide_by_pot(prob, exponent) + out_min, out_min, out_max);
    }
    if (out_bits == 8) out8[c] = (int8_t)v;
    else out16[c] = (int16_t)v;
  }
}

void qie_softmax_s8_ref(const qie_softmax_q_params* p, size_t rows, size_t depth, const int8_t* in,
                        int8_t* out) {
  for (size_t r = 0; r < rows; ++r) softmax_row(p, depth, in + r * depth, out + r * depth, NULL, 8);
}

void qie_softmax_s8_s16_ref(const qie_softmax_q_params* p, size_t rows, size_t depth,
                            const int8_t* in, int16_t* out) {
  for (size_t r = 0; r < rows; ++r) softmax_row(p, depth, in + r * depth, NULL, out + r * depth, 16);
}

void qie_softmax_f32_ref(float beta, size_t rows, size_t depth, const float* in, float* out) {
  for (size_t r = 0; r < rows; ++r) {
    const float* x = in + r * depth;
    float* y = out + r * depth;
    float max = -3.40282347e38f; /* lowest float, as TFLite starts from */
    for (size_t c = 0; c < depth; ++c) max = x[c] > max ? x[c] : max;
    float sum = 0.0f;
    for (size_t c = 0; c < depth; ++c) {
      const float e = expf((x[c] - max) * beta);
      y[c] = e;
      sum += e;
    }
    for (size_t c = 0; c < depth; ++c) y[c] = y[c] / sum;
  }
}
