/* MUL reference kernels (TFLite reference_integer_ops::Mul arithmetic). */
#include "../elementwise.h"
#include "../quant.h"

static inline int32_t mul_q_one(const qie_mul_q_params* p, int32_t x, int32_t y) {
  /* |product| <= 2^16 for int8 and 2^30 for zero-point-free int16: no overflow */
  const int32_t prod = (p->a_offset + x) * (p->b_offset + y);
  const int32_t out = p->out_offset + qie_mul_by_quantized_multiplier(prod, p->multiplier, p->shift);
  return qie_clamp_i32(out, p->act_min, p->act_max);
}

void qie_mul_s8_ref(const qie_mul_q_params* p, const qie_bcast* bc, const int8_t* a,
                    const int8_t* b, int8_t* out) {
  QIE_BCAST_FOR_ROWS(bc, {
    for (size_t i = 0; i < n; ++i) out[oo + i] = (int8_t)mul_q_one(p, a[oa + i * ia], b[ob + i * ib]);
  });
}

void qie_mul_s16_ref(const qie_mul_q_params* p, const qie_bcast* bc, const int16_t* a,
                     const int16_t* b, int16_t* out) {
  QIE_BCAST_FOR_ROWS(bc, {
    for (size_t i = 0; i < n; ++i) out[oo + i] = (int16_t)mul_q_one(p, a[oa + i * ia], b[ob + i * ib]);
  });
}

void qie_mul_f32_ref(float act_min, float act_max, const qie_bcast* bc, const float* a,
                     const float* b, float* out) {
  QIE_BCAST_FOR_ROWS(bc, {
    for (size_t i = 0; i < n; ++i) {
      float v = a[oa + i * ia] * b[ob + i * ib];
      v = v < act_min ? act_min : v;
      out[oo + i] = v > act_max ? act_max : v;
    }
  });
}

void qie_mul_s32_ref(int32_t act_min, int32_t act_max, const qie_bcast* bc, const int32_t* a,
                     const int32_t* b, int32_t* out) {
  QIE_BCAST_FOR_ROWS(bc, {
    for (size_t i = 0; i < n; ++i) {
      /* wraps like the hardware multiply; the low 32 bits do not depend on signedness */
      const uint32_t v = (uint32_t)a[oa + i * ia] * (uint32_t)b[ob + i * ib];
      out[oo + i] = qie_clamp_i32((int32_t)v, act_min, act_max);
    }
  });
}
