/* Reference fully connected: out[b][u] = sum_d in[b][d] * w[u][d] (+ bias[u]),
 * summed in d order as TFLite's reference does. */
#include "../conv.h"

void qie_qs8_fc__ref_full(const qie_qs8_fc_params* p, const int8_t* input, const int8_t* weights,
                     const int32_t* bias, int8_t* output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const int8_t* x = input + (size_t)b * p->depth;
    int8_t* out = output + (size_t)b * p->units;
    for (int32_t u = 0; u < p->units; ++u) {
      const int8_t* w = weights + (size_t)u * p->depth;
      uint32_t acc = 0; /* wraps rather than overflowing on absurd plans */
      for (int32_t d = 0; d < p->depth; ++d)
        acc += (uint32_t)((x[d] - p->rq.input_zp) * (w[d] - p->rq.filter_zp));
      if (bias) acc += (uint32_t)bias[u];
      out[u] = qie_requant_channel(&p->rq, (int32_t)acc, u);
    }
  }
}

void qie_f32_fc__ref_full(const qie_f32_fc_params* p, const float* input, const float* weights,
                     const float* bias, float* output) {
  for (int32_t b = 0; b < p->batches; ++b) {
    const float* x = input + (size_t)b * p->depth;
    float* out = output + (size_t)b * p->units;
    for (int32_t u = 0; u < p->units; ++u) {
      const float* w = weights + (size_t)u * p->depth;
      float total = 0.0f;
      for (int32_t d = 0; d < p->depth; ++d) total += x[d] * w[d];
      const float bv = bias ? bias[u] : 0.0f;
      out[u] = qie_clamp_f32(total + bv, p->act_min, p->act_max);
    }
  }
}
