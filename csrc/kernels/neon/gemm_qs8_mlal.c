/* qs8 GEMM micro-kernel, 4x8 tile, widening multiply-accumulate by lane (SMLAL):
 * aarch64 NEON and armv7 NEON. Activations arrive as int8 rows and are widened to
 * int16 with the input zero point removed; weights are prepacked as int16
 * (w - filter_zp). Each product fits int32 exactly and the sum wraps like the
 * reference's, so any zero points are exact. */
#include "neon_common.h"

#if defined(QIE_NEON_ENABLED)

#if defined(__arm__)
/* armv7 has 16 q registers and the tile needs 14: scheduling before register
 * allocation hoists the weight loads and spills accumulators to the stack. */
#pragma GCC optimize("no-schedule-insns")
#endif

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

/* acc{r}l/h += weights bv (8 channels) * depth `lane` (0..7) of row r's x{r}.
 * aarch64 indexes the 8-lane register and uses SMLAL2 for the high channels;
 * armv7 takes the lane from the matching 64-bit half. */
#if defined(__aarch64__)
#define MAC(r, bv, lane)                                                    \
  acc##r##l = vmlal_laneq_s16(acc##r##l, vget_low_s16(bv), x##r, lane);     \
  acc##r##h = vmlal_high_laneq_s16(acc##r##h, bv, x##r, lane)
#else
#define MAC(r, bv, lane)                                                                      \
  acc##r##l = vmlal_lane_s16(acc##r##l, vget_low_s16(bv),                                     \
                             (lane) < 4 ? vget_low_s16(x##r) : vget_high_s16(x##r), (lane) & 3); \
  acc##r##h = vmlal_lane_s16(acc##r##h, vget_high_s16(bv),                                    \
                             (lane) < 4 ? vget_low_s16(x##r) : vget_high_s16(x##r), (lane) & 3)
#endif

/* Depth kk + lane for every row: one weight row loaded, then used MR times, so
 * only one weight register is live (armv7 has 16: 8 accumulators, 4 rows). */
#define DEPTH(lane)                             \
  {                                             \
    const int16x8_t bv = vld1q_s16(b + 8 * (lane)); \
    MAC(0, bv, lane);                           \
    if (MR > 1) {                               \
      MAC(1, bv, lane);                         \
      MAC(2, bv, lane);                         \
      MAC(3, bv, lane);                         \
    }                                           \
  }

/* Row r's next eight depths, widened, input zero point removed. */
#define WIDEN(r) vsubl_s8(vld1_s8(a##r + kk), izp)

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
  const int8x8_t izp = vdup_n_s8((int8_t)rq->input_zp); /* x - izp widens exactly */
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
      const int16x8_t x0 = WIDEN(0);
      const int16x8_t x1 = MR > 1 ? WIDEN(1) : x0, x2 = MR > 1 ? WIDEN(2) : x0;
      const int16x8_t x3 = MR > 1 ? WIDEN(3) : x0;
      DEPTH(0);
      DEPTH(1);
      DEPTH(2);
      DEPTH(3);
      DEPTH(4);
      DEPTH(5);
      DEPTH(6);
      DEPTH(7);
      b += 64;
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
