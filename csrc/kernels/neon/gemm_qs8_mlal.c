/* qs8 GEMM micro-kernel, widening multiply-accumulate by lane (SMLAL): 4x16
 * tiles on aarch64 (32 registers), 4x8 on armv7 (16 registers); the neon family
 * uses it for layers under 16 deep, where the c8 kernel's padding would cost more.
 * Activations arrive as int8 rows and are widened to int16 with the input zero
 * point removed; weights are prepacked as int16 (w - filter_zp). Each product
 * fits int32 exactly and the sum wraps like the reference's. */
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

/* acc{r}{l,h} += weights bv (8 channels) * depth `lane` (0..7) of row r's x{r}
 * (acc{r}{L,H} with bw: the next block). aarch64 indexes the 8-lane register and
 * uses SMLAL2 for the high channels; armv7 takes the lane from the matching half. */
#if defined(__aarch64__)
#define MAC(accl, acch, bv, xv, lane)                          \
  accl = vmlal_laneq_s16(accl, vget_low_s16(bv), xv, lane);    \
  acch = vmlal_high_laneq_s16(acch, bv, xv, lane)
#else
#define MAC(accl, acch, bv, xv, lane)                                                       \
  accl = vmlal_lane_s16(accl, vget_low_s16(bv),                                             \
                        (lane) < 4 ? vget_low_s16(xv) : vget_high_s16(xv), (lane) & 3);     \
  acch = vmlal_lane_s16(acch, vget_high_s16(bv),                                            \
                        (lane) < 4 ? vget_low_s16(xv) : vget_high_s16(xv), (lane) & 3)
#endif

#define MAC_ROW(r, lane)                              \
  MAC(acc##r##l, acc##r##h, bv, x##r, lane);          \
  if (PAIR) {                                         \
    MAC(acc##r##L, acc##r##H, bw, x##r, lane);        \
  }

/* Depth kk + lane for every row: the weight row is loaded once and used MR
 * times, so only one (two with PAIR) weight register is live: armv7's 16 q
 * registers hold 8 accumulators, 4 rows and the weights. */
#define DEPTH(lane)                                        \
  {                                                        \
    const int16x8_t bv = vld1q_s16(b + 8 * (lane));        \
    int16x8_t bw = bv;                                     \
    if (PAIR) bw = vld1q_s16(bn + 8 * (lane));             \
    MAC_ROW(0, lane);                                      \
    if (MR > 1) {                                          \
      MAC_ROW(1, lane);                                    \
      MAC_ROW(2, lane);                                    \
      MAC_ROW(3, lane);                                    \
    }                                                      \
  }

/* Row r's next eight depths, widened, input zero point removed. */
#define WIDEN(r) vsubl_s8(vld1_s8(a##r + kk), izp)

/* Depth kk alone (the last k % 8). */
#define TAIL_ROW(r)                                                 \
  {                                                                 \
    const int16_t xs = (int16_t)(a##r[kk] - input_zp);              \
    acc##r##l = vmlal_n_s16(acc##r##l, vget_low_s16(bv), xs);       \
    acc##r##h = vmlal_n_s16(acc##r##h, vget_high_s16(bv), xs);      \
    if (PAIR) {                                                     \
      acc##r##L = vmlal_n_s16(acc##r##L, vget_low_s16(bw), xs);     \
      acc##r##H = vmlal_n_s16(acc##r##H, vget_high_s16(bw), xs);    \
    }                                                               \
  }

#define ROW_STORE(r)                                                                          \
  if (r < mr) {                                                                               \
    qie_neon_store_i8(out[r] + c, qie_neon_requant8(acc##r##l, acc##r##h, e, c), nc);         \
    if (PAIR)                                                                                 \
      qie_neon_store_i8(out[r] + c + QIE_NEON_NR,                                             \
                        qie_neon_requant8(acc##r##L, acc##r##H, e, c + QIE_NEON_NR), nc2);    \
  }

/* Block blk (and blk + 1 when PAIR: a 4x16 tile, aarch64 only) for MR (4 or 1)
 * rows, mr of them stored; MR and PAIR are constants after inlining. */
static inline __attribute__((always_inline)) void mlal_blocks(
    const int32_t MR, const int32_t PAIR, int32_t mr, int32_t k, const int8_t* const a[QIE_NEON_MR],
    int32_t blk, int32_t n, int32_t input_zp, const qie_neon_packed* pk,
    const qie_neon_epilogue* e, int8_t* const out[QIE_NEON_MR]) {
  const int32_t c = blk * QIE_NEON_NR;
  const int32_t nc = n - c < QIE_NEON_NR ? n - c : QIE_NEON_NR;
  const int32_t nc2 = n - c - QIE_NEON_NR < QIE_NEON_NR ? n - c - QIE_NEON_NR : QIE_NEON_NR;
  const int16_t* b = (const int16_t*)pk->weights + (size_t)c * k;
  const int16_t* bn = b + (size_t)QIE_NEON_NR * k;
  const int8x8_t izp = vdup_n_s8((int8_t)input_zp); /* x - izp widens exactly */
  const int8_t *a0 = a[0], *a1 = a[MR > 1 ? 1 : 0], *a2 = a[MR > 1 ? 2 : 0];
  const int8_t* a3 = a[MR > 1 ? 3 : 0];
  int32x4_t acc0l = vld1q_s32(pk->bias + c), acc0h = vld1q_s32(pk->bias + c + 4);
  int32x4_t acc1l = acc0l, acc1h = acc0h, acc2l = acc0l, acc2h = acc0h;
  int32x4_t acc3l = acc0l, acc3h = acc0h;
  int32x4_t acc0L = acc0l, acc0H = acc0h;
  if (PAIR) acc0L = vld1q_s32(pk->bias + c + 8), acc0H = vld1q_s32(pk->bias + c + 12);
  int32x4_t acc1L = acc0L, acc1H = acc0H, acc2L = acc0L, acc2H = acc0H;
  int32x4_t acc3L = acc0L, acc3H = acc0H;
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
    if (PAIR) bn += 64;
  }
  for (; kk < k; ++kk) {
    const int16x8_t bv = vld1q_s16(b);
    int16x8_t bw = bv;
    if (PAIR) bw = vld1q_s16(bn), bn += 8;
    b += 8;
    TAIL_ROW(0);
    if (MR > 1) {
      TAIL_ROW(1);
      TAIL_ROW(2);
      TAIL_ROW(3);
    }
  }
  ROW_STORE(0);
  if (MR > 1) {
    ROW_STORE(1);
    ROW_STORE(2);
    ROW_STORE(3);
  }
}

static inline __attribute__((always_inline)) void gemm_tile(
    const int32_t MR, int32_t mr, int32_t k, const int8_t* const a[QIE_NEON_MR], const void* packed,
    int32_t n, int32_t nb_begin, int32_t nb_end, const qie_qs8_requant* rq,
    int8_t* const out[QIE_NEON_MR]) {
  const int32_t np = qie_neon_round_up(n, QIE_NEON_NR);
  const qie_neon_packed pk = qie_neon_packed_view(packed, np);
  const qie_neon_epilogue e = qie_neon_epilogue_init(rq, &pk);
  int32_t blk = nb_begin;
#if defined(__aarch64__)
  for (; blk + 1 < nb_end; blk += 2)
    mlal_blocks(MR, 1, mr, k, a, blk, n, rq->input_zp, &pk, &e, out);
#endif
  for (; blk < nb_end; ++blk) mlal_blocks(MR, 0, mr, k, a, blk, n, rq->input_zp, &pk, &e, out);
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
