/* SVDF reference kernels: TFLite Micro's integer (int8 x int16 state) and float
 * evaluation order. Sums wrap as 32-bit two's complement (done on uint32 so an
 * adversarial model cannot reach signed-overflow UB). */
#include <math.h>
#include <stddef.h>

#include "../quant.h"
#include "../sequence.h"

static inline int32_t wrap_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* Drops the oldest entry of every filter's memory: a flat left shift by one. The
 * last slot of each filter is overwritten by the new feature column right after. */
#define QIE_SHIFT_STATE(state, total)                      \
  do {                                                     \
    for (size_t i_ = 0; i_ + 1 < (total); ++i_) (state)[i_] = (state)[i_ + 1]; \
  } while (0)

void qie_svdf_s8_s16_ref(const qie_svdf_q_params* p, const int8_t* input,
                         const int8_t* weights_feature, const int16_t* weights_time,
                         const int32_t* bias, int16_t* state, int32_t* scratch,
                         int32_t* scratch_out, int8_t* output) {
  const int nb = p->batch, ni = p->input_size, nf = p->num_filters, nm = p->memory_size;
  const int nu = nf / p->rank;
  const size_t total = (size_t)nb * nf * nm;
  QIE_SHIFT_STATE(state, total);

  /* feature projection into the newest column, requantized to the state's scale;
   * the zero point goes in before the clamp so the int16 store never wraps */
  for (int b = 0; b < nb; ++b) {
    const int8_t* x = input + (size_t)b * ni;
    for (int f = 0; f < nf; ++f) {
      const int8_t* w = weights_feature + (size_t)f * ni;
      int32_t acc = 0;
      for (int c = 0; c < ni; ++c) acc = wrap_add(acc, (int32_t)w[c] * ((int32_t)x[c] - p->input_zp));
      int64_t v = (int64_t)qie_mul_by_quantized_multiplier(acc, p->mult1, p->shift1) + p->state_zp;
      if (v < INT16_MIN) v = INT16_MIN;
      if (v > INT16_MAX) v = INT16_MAX;
      state[((size_t)b * nf + f) * nm + (nm - 1)] = (int16_t)v;
    }
  }

  /* time reduction per filter */
  for (int b = 0; b < nb; ++b) {
    const int16_t* s = state + (size_t)b * nf * nm;
    for (int f = 0; f < nf; ++f) {
      int32_t acc = 0;
      for (int m = 0; m < nm; ++m) {
        const int32_t sv = (int32_t)s[(size_t)f * nm + m] - p->state_zp;
        acc = wrap_add(acc, (int32_t)weights_time[(size_t)f * nm + m] * sv);
      }
      scratch[(size_t)b * nf + f] = acc;
    }
  }

  /* bias, then sum the rank filters of each unit */
  for (int b = 0; b < nb; ++b)
    for (int u = 0; u < nu; ++u) scratch_out[(size_t)b * nu + u] = bias ? bias[u] : 0;
  for (int b = 0; b < nb; ++b) {
    const int32_t* sc = scratch + (size_t)b * nf;
    int32_t* out = scratch_out + (size_t)b * nu;
    for (int u = 0; u < nu; ++u)
      for (int r = 0; r < p->rank; ++r) out[u] = wrap_add(out[u], sc[(size_t)u * p->rank + r]);
  }

  /* integer SVDF applies no fused activation: only the int8 range clamp */
  for (size_t i = 0; i < (size_t)nb * nu; ++i) {
    int64_t v = (int64_t)qie_mul_by_quantized_multiplier(scratch_out[i], p->mult2, p->shift2) +
                p->output_zp;
    if (v < -128) v = -128;
    if (v > 127) v = 127;
    output[i] = (int8_t)v;
  }
}

/* std::max / std::min semantics (they matter for NaN) */
static inline float fmax_std(float x, float y) { return x < y ? y : x; }
static inline float fmin_std(float x, float y) { return y < x ? y : x; }

static float activate(int act, float a) {
  switch (act) {
    case 1: return fmax_std(0.0f, a);
    case 2: return fmax_std(-1.0f, fmin_std(a, 1.0f));
    case 3: return fmax_std(0.0f, fmin_std(a, 6.0f));
    case 4: return tanhf(a);
    case 5: return signbit(a) ? 1.0f : 0.0f;
    case 6: return 1.0f / (1.0f + expf(-a));
    default: return a;
  }
}

void qie_svdf_f32_ref(const qie_svdf_f_params* p, const float* input,
                      const float* weights_feature, const float* weights_time,
                      const float* bias, float* state, float* scratch, float* output) {
  const int nb = p->batch, ni = p->input_size, nf = p->num_filters, nm = p->memory_size;
  const int nu = nf / p->rank;
  const size_t total = (size_t)nb * nf * nm;
  QIE_SHIFT_STATE(state, total);

  for (int b = 0; b < nb; ++b) {
    const float* x = input + (size_t)b * ni;
    for (int f = 0; f < nf; ++f) {
      const float* w = weights_feature + (size_t)f * ni;
      float acc = 0.0f;
      for (int c = 0; c < ni; ++c) acc += w[c] * x[c];
      state[((size_t)b * nf + f) * nm + (nm - 1)] = acc;
    }
  }
  for (int b = 0; b < nb; ++b) {
    const float* s = state + (size_t)b * nf * nm;
    for (int f = 0; f < nf; ++f) {
      float acc = 0.0f;
      for (int m = 0; m < nm; ++m) acc += weights_time[(size_t)f * nm + m] * s[(size_t)f * nm + m];
      scratch[(size_t)b * nf + f] = acc;
    }
  }
  for (int b = 0; b < nb; ++b)
    for (int u = 0; u < nu; ++u) output[(size_t)b * nu + u] = bias ? bias[u] : 0.0f;
  for (int b = 0; b < nb; ++b) {
    const float* sc = scratch + (size_t)b * nf;
    float* out = output + (size_t)b * nu;
    for (int u = 0; u < nu; ++u)
      for (int r = 0; r < p->rank; ++r) out[u] += sc[(size_t)u * p->rank + r];
  }
  for (size_t i = 0; i < (size_t)nb * nu; ++i) output[i] = activate(p->activation, output[i]);
}
