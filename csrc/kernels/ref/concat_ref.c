/* Concatenation (and pack): interleave contiguous chunks of each input. */
#include <string.h>

#include "../shape_ops.h"

void qie_concat_ref(const qie_concat_params* p, const void* const* inputs, void* out) {
  uint8_t* dst = (uint8_t*)out;
  for (size_t o = 0; o < p->outer; ++o) {
    for (int i = 0; i < p->n_inputs; ++i) {
      const size_t n = p->chunk_bytes[i];
      if (!n) continue;
      memcpy(dst, (const uint8_t*)inputs[i] + o * n, n);
      dst += n;
    }
  }
}

void qie_clamp_f32_ref(float* data, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; ++i) {
    float v = data[i];
    v = v < lo ? lo : v;
    data[i] = v > hi ? hi : v;
  }
}
