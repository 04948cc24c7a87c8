/* float32 GEMM micro-kernel, 4x8 tile, aarch64 only: each output is summed in
 * depth order with a separate multiply and add (never a fused multiply-add),
 * then the bias is added and the clamp applied: the reference's operations in
 * the reference's order, lane by lane, so the bytes are the same. (armv7 NEON
 * flushes subnormals to zero, so it keeps the reference kernels for float.) */
#include "f32_neon.h"

#if defined(QIE_NEON_F32_ENABLED)

size_t qie_neon_f32_packed_bytes(int32_t n, int32_t k) {
  const int32_t np = qie_neon_round_up(n, QIE_NEON_NR);
  return (size_t)np * sizeof(float) + (size_t)np * (size_t)k * sizeof(float);
}

/* Bias (zeros without one), then blocks of 8 channels, each k rows of 8. */
void qie_neon_f32_pack(int32_t n, int32_t k, const float* w, const float* bias, void* packed) {
  const int32_t np = qie_neon_round_up(n, QIE_NEON_NR);
  float* dst = (float*)packed;
  for (int32_t c = 0; c < np; ++c) *dst++ = (bias && c < n) ? bias[c] : 0.0f;
  for (int32_t nb = 0; nb < np; nb += QIE_NEON_NR)
    for (int32_t kk = 0; kk < k; ++kk)
      for (int32_t j = 0; j < QIE_NEON_NR; ++j) {
        const int32_t oc = nb + j;
        *dst++ = oc < n ? w[(size_t)oc * k + kk] : 0.0f;
      }
}

/* The reference's clamp: lower bound if v < lo, then upper bound if hi < v;
 * compare-and-select keeps NaN and signed zeros exactly as it does. */
static inline float32x4_t clamp4(float32x4_t v, float32x4_t lo, float32x4_t hi) {
  v = vbslq_f32(vcltq_f32(v, lo), lo, v);
  return vbslq_f32(vcltq_f32(hi, v), hi, v);
}

static inline void store_f32(float* dst, float32x4_t lo, float32x4_t hi, int32_t n) {
  if (n == 8) {
    vst1q_f32(dst, lo);
    vst1q_f32(dst + 4, hi);
  } else {
    float tmp[8];
    vst1q_f32(tmp, lo);
    vst1q_f32(tmp + 4, hi);
    memcpy(dst, tmp, (size_t)n * sizeof(float));
  }
}

#define FMAC(r, lane)                                                  \
  acc##r##l = vaddq_f32(acc##r##l, vmulq_laneq_f32(bl, x##r, lane));   \
  acc##r##h = vaddq_f32(acc##r##h, vmulq_laneq_f32(bh, x##r, lane))

#define FDEPTH(lane)                                                 \
  {                                                                  \
    const float32x4_t bl = vld1q_f32(b + 8 * (lane));                \
    const float32x4_t bh = vld1q_f32(b + 8 * (lane) + 4);            \
    FMAC(0, lane);                                                   \
    if (MR > 1) {                                                    \
      FMAC(1, lane);                                                 \
      FMAC(2, lane);                                                 \
      FMAC(3, lane);                                                 \
    }                                                                \
  }

#define FTAIL(r)                                                       \
  acc##r##l = vaddq_f32(acc##r##l, vmulq_n_f32(bl, a##r[kk]));          \
  acc##r##h = vaddq_f32(acc##r##h, vmulq_n_f32(bh, a##r[kk]))

#define FSTORE(r)                                                                        \
  if (r < mr)                                                                            \
  store_f32(out[r] + c, clamp4(vaddq_f32(acc##r##l, bias_l), lo, hi),                    \
            clamp4(vaddq_f32(acc##r##h, bias_h), lo, hi), nc)

static inline __attribute__((always_inline)) void gemm_tile(
    const int32_t MR, int32_t mr, int32_t k, const float* const a[QIE_NEON_MR], const void* packed,
    int32_t n, int32_t nb_begin, int32_t nb_end, float act_min, float act_max,
    float* const out[QIE_NEON_MR]) {
  const int32_t np = qie_neon_round_up(n, QIE_NEON_NR);
  const float* bias = (const float*)packed;
  const float* weights = bias + np;
  const float32x4_t lo = vdupq_n_f32(act_min), hi = vdupq_n_f32(act_max);
  const float *a0 = a[0], *a1 = a[MR > 1 ? 1 : 0], *a2 = a[MR > 1 ? 2 : 0];
  const float* a3 = a[MR > 1 ? 3 : 0];
  for (int32_t blk = nb_begin; blk < nb_end; ++blk) {
    const int32_t c = blk * QIE_NEON_NR;
    const int32_t nc = n - c < QIE_NEON_NR ? n - c : QIE_NEON_NR;
    const float* b = weights + (size_t)c * k;
    const float32x4_t zero = vdupq_n_f32(0.0f);
    float32x4_t acc0l = zero, acc0h = zero, acc1l = zero, acc1h = zero;
    float32x4_t acc2l = zero, acc2h = zero, acc3l = zero, acc3h = zero;
    int32_t kk = 0;
    for (; kk + 4 <= k; kk += 4) {
      const float32x4_t x0 = vld1q_f32(a0 + kk);
      const float32x4_t x1 = MR > 1 ? vld1q_f32(a1 + kk) : x0;
      const float32x4_t x2 = MR > 1 ? vld1q_f32(a2 + kk) : x0;
      const float32x4_t x3 = MR > 1 ? vld1q_f32(a3 + kk) : x0;
      FDEPTH(0);
      FDEPTH(1);
      FDEPTH(2);
      FDEPTH(3);
      b += 32;
    }
    for (; kk < k; ++kk) {
      const float32x4_t bl = vld1q_f32(b), bh = vld1q_f32(b + 4);
      b += 8;
      FTAIL(0);
      if (MR > 1) {
        FTAIL(1);
        FTAIL(2);
        FTAIL(3);
      }
    }
    const float32x4_t bias_l = vld1q_f32(bias + c), bias_h = vld1q_f32(bias + c + 4);
    FSTORE(0);
    if (MR > 1) {
      FSTORE(1);
      FSTORE(2);
      FSTORE(3);
    }
  }
}

void qie_neon_f32_gemm(int32_t mr, int32_t k, const float* const a[QIE_NEON_MR], const void* packed,
                       int32_t n, int32_t nb_begin, int32_t nb_end, float act_min, float act_max,
                       float* const out[QIE_NEON_MR]) {
  if (mr == 1)
    gemm_tile(1, 1, k, a, packed, n, nb_begin, nb_end, act_min, act_max, out);
  else
    gemm_tile(QIE_NEON_MR, mr, k, a, packed, n, nb_begin, nb_end, act_min, act_max, out);
}

#endif
