/* qs8 GEMM micro-kernel, 4x8 tile, widening multiply-accumulate by lane (SMLAL):
 * aarch64 NEON and armv7 NEON. Activations arrive as int8 rows and are widened to
 * int16 with the input zero point removed; weights are prepacked as int16
 * (w - filter_zp). Each product fits int32 exactly and the sum wraps like the
 * reference's, so any zero points are exact. */
#include "neon_common.h"

#if defined(QIE_NEON_ENABLED)

size_t qie_neon_mlal_packed_bytes(int32_t n, int32_t k) {
  const int32_t np = qie_neon_round_up(n, QIE_NEON_NR);
  return qie_neon_requant_bytes(np) + (size_t)np * (size_t)k * sizeof(int16_t);
}

/* Weights: block of 8 channels after block, each as k rows of 8 int16. */
void qie_neon_mlal_pack(const qie_qs8_requant* rq, int32_t n, int32_t k, const int8_t* w,
                        const int32_t* bias, void* packed) {
  const int32_t np = qie_neon_round_up(n, QIE_NEON_NR);
  qie_neon_pack_requant(rq, bias, n, np, packed);
  int16_t* dst = (int16_t*)qie_neon_packed_view(packed, np).weights;
  for (int32_t nb = 0; nb < np; nb += QIE_NEON_NR)
    for (int32_t kk = 0; kk < k; ++kk)
      for (int32_t j = 0; j < QIE_NEON_NR; ++j) {
        const int32_t oc = nb + j;
        *dst++ = (int16_t)(oc < n ? w[(size_t)oc * k + kk] - rq->filter_zp : 0);
      }
}

#define MAC_LANE(r, xv, bv, lane)                                        \
  acc##r##l = vmlal_lane_s16(acc##r##l, vget_low_s16(bv), xv, lane);     \
  acc##r##h = vmlal_lane_s16(acc##r##h, vget_high_s16(bv), xv, lane)

/* One 8-deep step of row r against weight rows b0..b7. */
#define ROW_STEP8(r)                                                                  \
  {                                                                                   \
    const int16x8_t x = vsubq_s16(vmovl_s8(vld1_s8(a##r + kk)), izp);                  \
    const int16x4_t xl = vget_low_s16(x), xh = vget_high_s16(x);                      \
    MAC_LANE(r, xl, b0, 0); MAC_LANE(r, xl, b1, 1); MAC_LANE(r, xl, b2, 2);           \
    MAC_LANE(r, xl, b3, 3); MAC_LANE(r, xh, b4, 0); MAC_LANE(r, xh, b5, 1);           \
    MAC_LANE(r, xh, b6, 2); MAC_LANE(r, xh, b7, 3);                                   \
  }

#define ROW_STEP1(r)                                                                   \
  {                                                                                    \
    const int16_t x = (int16_t)(a##r[kk] - rq->input_zp);                               \
    acc##r##l = vmlal_n_s16(acc##r##l, vget_low_s16(bt), x);                            \
    acc##r##h = vmlal_n_s16(acc##r##h, vget_high_s16(bt), x);                           \
  }

#define ROW_STORE(r)                                                                   \
  if (r < mr) qie_neon_store_i8(out[r] + c, qie_neon_requant8(acc##r##l, acc##r##h, &e, c), nc)

/* MR is 4 or 1, a constant after inlining, so the unused rows vanish. */
static inline __attribute__((always_inline)) void gemm_tile(
    const int32_t MR, int32_t mr, int32_t k, const int8_t* const a[QIE_NEON_MR], const void* packed,
    int32_t n, int32_t nb_begin, int32_t nb_end, const qie_qs8_requant* rq,
    int8_t* const out[QIE_NEON_MR]) {
  const int32_t np = qie_neon_round_up(n, QIE_NEON_NR);
  const qie_neon_packed pk = qie_neon_packed_view(packed, np);
  const qie_neon_epilogue e = qie_neon_epilogue_init(rq, &pk);
  const int16x8_t izp = vdupq_n_s16((int16_t)rq->input_zp);
  const int8_t* a0 = a[0];
  const int8_t* a1 = MR > 1 ? a[1] : a0;
  const int8_t* a2 = MR > 1 ? a[2] : a0;
  const int8_t* a3 = MR > 1 ? a[3] : a0;
  for (int32_t blk = nb_begin; blk < nb_end; ++blk) {
    const int32_t c = blk * QIE_NEON_NR;
    const int32_t nc = n - c < QIE_NEON_NR ? n - c : QIE_NEON_NR;
    const int16_t* b = (const int16_t*)pk.weights + (size_t)c * k;
    int32x4_t acc0l = vld1q_s32(pk.bias + c), acc0h = vld1q_s32(pk.bias + c + 4);
    int32x4_t acc1l = acc0l, acc1h = acc0h, acc2l = acc0l, acc2h = acc0h;
    int32x4_t acc3l = acc0l, acc3h = acc0h;
    int32_t kk = 0;
    for (; kk + 8 <= k; kk += 8) {
      const int16x8_t b0 = vld1q_s16(b), b1 = vld1q_s16(b + 8), b2 = vld1q_s16(b + 16);
      const int16x8_t b3 = vld1q_s16(b + 24), b4 = vld1q_s16(b + 32), b5 = vld1q_s16(b + 40);
      const int16x8_t b6 = vld1q_s16(b + 48), b7 = vld1q_s16(b + 56);
      b += 64;
      ROW_STEP8(0);
      if (MR > 1) {
        ROW_STEP8(1);
        ROW_STEP8(2);
        ROW_STEP8(3);
      }
    }
    for (; kk < k; ++kk) {
      const int16x8_t bt = vld1q_s16(b);
      b += 8;
      ROW_STEP1(0);
      if (MR > 1) {
        ROW_STEP1(1);
        ROW_STEP1(2);
        ROW_STEP1(3);
      }
    }
    ROW_STORE(0);
    if (MR > 1) {
      ROW_STORE(1);
      ROW_STORE(2);
      ROW_STORE(3);
    }
  }
}

void qie_neon_mlal_gemm(int32_t mr, int32_t k, const int8_t* const a[QIE_NEON_MR],
                        const void* packed, int32_t n, int32_t nb_begin, int32_t nb_end,
                        const qie_qs8_requant* rq, int8_t* const out[QIE_NEON_MR]) {
  if (mr == 1)
    gemm_tile(1, 1, k, a, packed, n, nb_begin, nb_end, rq, out);
  else
    gemm_tile(QIE_NEON_MR, mr, k, a, packed, n, nb_begin, nb_end, rq, out);
}

#endif
