/* ADD / SUB reference kernels (TFLite reference_integer_ops::Add and
 * reference_ops::Sub arithmetic). */
#include "../elementwise.h"
#include "../quant.h"

static inline int32_t addsub_q_one(const qie_addsub_q_params* p, int32_t x, int32_t y) {
  const int32_t sx = (p->a_offset + x) * (1 << p->left_shift);
  const int32_t sy = (p->b_offset + y) * (1 << p->left_shift);
  const int32_t scaled_x = qie_mul_by_quantized_multiplier(sx, p->a_multiplier, p->a_shift);
  const int32_t scaled_y = qie_mul_by_quantized_multiplier(sy, p->b_multiplier, p->b_shift);
  /* rounding makes M(-v) != -M(v) on ties: subtract after scaling, as TFLite does */
  const int32_t raw = p->subtract ? scaled_x - scaled_y : scaled_x + scaled_y;
  const int32_t out =
      qie_mul_by_quantized_multiplier(raw, p->out_multiplier, p->out_shift) + p->out_offset;
  return qie_clamp_i32(out, p->act_min, p->act_max);
}

void qie_addsub_s8_ref(const qie_addsub_q_params* p, const qie_bcast* bc, const int8_t* a,
                       const int8_t* b, int8_t* out) {
  QIE_BCAST_FOR_ROWS(bc, {
    for (size_t i = 0; i < n; ++i) out[oo + i] = (int8_t)addsub_q_one(p, a[oa + i * ia], b[ob + i * ib]);
  });
}

void qie_addsub_s16_ref(const qie_addsub_q_params* p, const qie_bcast* bc, const int16_t* a,
                        const int16_t* b, int16_t* out) {
  QIE_BCAST_FOR_ROWS(bc, {
    for (size_t i = 0; i < n; ++i) out[oo + i] = (int16_t)addsub_q_one(p, a[oa + i * ia], b[ob + i * ib]);
  });
}

void qie_addsub_f32_ref(bool subtract, float act_min, float act_max, const qie_bcast* bc,
                        const float* a, const float* b, float* out) {
  QIE_BCAST_FOR_ROWS(bc, {
    for (size_t i = 0; i < n; ++i) {
      float v = subtract ? a[oa + i * ia] - b[ob + i * ib] : a[oa + i * ia] + b[ob + i * ib];
      /* TFLite's ActivationFunctionWithMinMax: min(max(v, lo), hi) */
      v = v < act_min ? act_min : v;
      out[oo + i] = v > act_max ? act_max : v;
    }
  });
}

void qie_addsub_s32_ref(bool subtract, int32_t act_min, int32_t act_max, const qie_bcast* bc,
                        const int32_t* a, const int32_t* b, int32_t* out) {
  QIE_BCAST_FOR_ROWS(bc, {
    for (size_t i = 0; i < n; ++i) {
      const uint32_t x = (uint32_t)a[oa + i * ia], y = (uint32_t)b[ob + i * ib];
      out[oo + i] = qie_clamp_i32((int32_t)(subtract ? x - y : x + y), act_min, act_max);
    }
  });
}
