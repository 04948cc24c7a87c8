/* qs8 GEMM micro-kernel for cores without the dot product (Cortex-A72, and any
 * armv7 NEON core): 2x8 tiles on aarch64, 1x8 on armv7 (16 registers), over
 * 8-deep groups ("c8"). Eight int8 x int8 products are formed
 * per SMULL, a second eight added by SMLAL into the same int16 lanes, and the
 * pairs accumulated into int32 by SADALP: 16 multiply-adds per three
 * instructions, twice the by-lane SMLAL kernel's rate on the A72's one multiply
 * pipe.
 *
 * Exactness: an int8 x int8 product lies in [-16256, 16384]; two of them fit
 * int16 unless both are 16384 (-128 x -128). So a block of eight channels whose
 * weights avoid -128 takes SMULL + SMLAL; a block holding a -128 weight (flagged
 * at pack time) widens every product on its own. Weights and activations stay
 * raw int8; the zero points are corrected for as qie_neon_fold_zero_points
 * (neon_common.h) describes. */
#include "neon_common.h"

#if defined(QIE_NEON_ENABLED)

#if defined(__aarch64__)
#define C8_ROWS 2
#else
#define C8_ROWS 1
/* as in gemm_qs8_mlal.c: keep the scheduler from hoisting loads into spills */
#pragma GCC optimize("no-schedule-insns")
#endif

#define C8_DEPTH 16 /* depths per step: two 8-deep groups, one SMULL + one SMLAL */

static int32_t padded_depth(int32_t k) { return qie_neon_round_up(k, C8_DEPTH); }

size_t qie_neon_c8_packed_bytes(int32_t n, int32_t k) {
  const int32_t np = qie_neon_round_up(n, QIE_NEON_NR);
  return qie_neon_requant_bytes(np) + (size_t)np * (size_t)padded_depth(k) + (size_t)np / 8;
}

/* Weights: per block of 8 channels, per 16 depths, each channel's 16 bytes; then
 * one flag byte per block (1: holds -128). */
void qie_neon_c8_pack(const qie_qs8_requant* rq, int32_t n, int32_t k, const int8_t* w,
                      const int32_t* bias, void* packed) {
  const int32_t np = qie_neon_round_up(n, QIE_NEON_NR), kp = padded_depth(k);
  qie_neon_pack_requant(rq, bias, n, np, packed);
  const qie_neon_packed v = qie_neon_packed_view(packed, np);
  int8_t* dst = (int8_t*)v.weights;
  uint8_t* flags = (uint8_t*)v.weights + (size_t)np * kp;
  for (int32_t nb = 0; nb < np; nb += QIE_NEON_NR) {
    uint8_t has_min = 0;
    for (int32_t g = 0; g < kp; g += C8_DEPTH)
      for (int32_t j = 0; j < QIE_NEON_NR; ++j)
        for (int32_t d = 0; d < C8_DEPTH; ++d) {
          const int32_t oc = nb + j, kk = g + d;
          const int8_t val = (oc < n && kk < k) ? w[(size_t)oc * k + kk] : 0;
          has_min |= val == INT8_MIN;
          *dst++ = val;
        }
    flags[nb / QIE_NEON_NR] = has_min;
  }
  qie_neon_fold_zero_points(rq, n, k, w, v.bias);
}

/* Channel j of the block against rows 0 and 1 (x0l/x0h, x1l/x1h: 16 depths). */
#define C8_FAST(j)                                                  \
  {                                                                 \
    const int8x16_t bj = vld1q_s8(b + 16 * (j));                     \
    int16x8_t p0 = vmull_s8(vget_low_s8(bj), x0l);                   \
    p0 = vmlal_s8(p0, vget_high_s8(bj), x0h);                        \
    acc0_##j = vpadalq_s16(acc0_##j, p0);                            \
    if (ROWS > 1) {                                                  \
      int16x8_t p1 = vmull_s8(vget_low_s8(bj), x1l);                 \
      p1 = vmlal_s8(p1, vget_high_s8(bj), x1h);                      \
      acc1_##j = vpadalq_s16(acc1_##j, p1);                          \
    }                                                                \
  }

#define C8_SAFE(j)                                                          \
  {                                                                         \
    const int8x16_t bj = vld1q_s8(b + 16 * (j));                             \
    acc0_##j = vpadalq_s16(acc0_##j, vmull_s8(vget_low_s8(bj), x0l));        \
    acc0_##j = vpadalq_s16(acc0_##j, vmull_s8(vget_high_s8(bj), x0h));       \
    if (ROWS > 1) {                                                          \
      acc1_##j = vpadalq_s16(acc1_##j, vmull_s8(vget_low_s8(bj), x1l));      \
      acc1_##j = vpadalq_s16(acc1_##j, vmull_s8(vget_high_s8(bj), x1h));     \
    }                                                                        \
  }

#define C8_STEP(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)

/* Four channels' partial sums (four lanes each) to one lane per channel. */
static inline int32x4_t reduce4(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
#if defined(__aarch64__)
  return vpaddq_s32(vpaddq_s32(a, b), vpaddq_s32(c, d));
#else
  const int32x2_t ab = vpadd_s32(vpadd_s32(vget_low_s32(a), vget_high_s32(a)),
                                 vpadd_s32(vget_low_s32(b), vget_high_s32(b)));
  const int32x2_t cd = vpadd_s32(vpadd_s32(vget_low_s32(c), vget_high_s32(c)),
                                 vpadd_s32(vget_low_s32(d), vget_high_s32(d)));
  return vcombine_s32(ab, cd);
#endif
}

#define C8_REDUCE(r)                                                               \
  const int32x4_t sum##r##l = reduce4(acc##r##_0, acc##r##_1, acc##r##_2, acc##r##_3); \
  const int32x4_t sum##r##h = reduce4(acc##r##_4, acc##r##_5, acc##r##_6, acc##r##_7)

/* Rows a0 (and a1 when ROWS is 2) against block blk; SAFE: the block holds -128. */
static inline __attribute__((always_inline)) void c8_block(
    const int32_t ROWS, const int32_t SAFE, const int8_t* a0, const int8_t* a1,
    const int8_t (*tail)[C8_DEPTH], int32_t kmain, bool has_tail, const int8_t* b, int32_t c,
    int32_t nc, const qie_neon_packed* pk, const qie_neon_epilogue* e, int32x4_t corr0,
    int32x4_t corr1, int8_t* out0, int8_t* out1) {
  const int32x4_t z = vdupq_n_s32(0);
  int32x4_t acc0_0 = z, acc0_1 = z, acc0_2 = z, acc0_3 = z, acc0_4 = z, acc0_5 = z, acc0_6 = z,
            acc0_7 = z;
  int32x4_t acc1_0 = z, acc1_1 = z, acc1_2 = z, acc1_3 = z, acc1_4 = z, acc1_5 = z, acc1_6 = z,
            acc1_7 = z;
  for (int32_t kk = 0; kk < kmain; kk += C8_DEPTH, b += C8_DEPTH * QIE_NEON_NR) {
    const int8x8_t x0l = vld1_s8(a0 + kk), x0h = vld1_s8(a0 + kk + 8);
    const int8x8_t x1l = ROWS > 1 ? vld1_s8(a1 + kk) : x0l;
    const int8x8_t x1h = ROWS > 1 ? vld1_s8(a1 + kk + 8) : x0h;
    if (SAFE) {
      C8_STEP(C8_SAFE)
    } else {
      C8_STEP(C8_FAST)
    }
  }
  if (has_tail) {
    const int8x8_t x0l = vld1_s8(tail[0]), x0h = vld1_s8(tail[0] + 8);
    const int8x8_t x1l = vld1_s8(tail[1]), x1h = vld1_s8(tail[1] + 8);
    if (SAFE) {
      C8_STEP(C8_SAFE)
    } else {
      C8_STEP(C8_FAST)
    }
  }
  const int32x4_t bias_l = vld1q_s32(pk->bias + c), bias_h = vld1q_s32(pk->bias + c + 4);
  C8_REDUCE(0);
  qie_neon_store_i8(out0 + c,
                    qie_neon_requant8(vaddq_s32(vaddq_s32(sum0l, bias_l), corr0),
                                      vaddq_s32(vaddq_s32(sum0h, bias_h), corr0), e, c),
                    nc);
  if (ROWS > 1) {
    C8_REDUCE(1);
    qie_neon_store_i8(out1 + c,
                      qie_neon_requant8(vaddq_s32(vaddq_s32(sum1l, bias_l), corr1),
                                        vaddq_s32(vaddq_s32(sum1h, bias_h), corr1), e, c),
                      nc);
  }
}

/* Rows r0 and r0 + 1 (ROWS of them) over blocks [nb_begin, nb_end). */
static inline __attribute__((always_inline)) void c8_rows(
    const int32_t ROWS, const int8_t* a0, const int8_t* a1, int32_t k, const void* packed,
    int32_t n, int32_t nb_begin, int32_t nb_end, const qie_qs8_requant* rq, int8_t* out0,
    int8_t* out1) {
  const int32_t np = qie_neon_round_up(n, QIE_NEON_NR), kp = padded_depth(k);
  const qie_neon_packed pk = qie_neon_packed_view(packed, np);
  const qie_neon_epilogue e = qie_neon_epilogue_init(rq, &pk);
  const uint8_t* flags = (const uint8_t*)pk.weights + (size_t)np * kp;
  const int32_t kmain = k & ~(C8_DEPTH - 1), rest = k - kmain;
  int8_t tail[2][C8_DEPTH];
  memset(tail, 0, sizeof tail);
  memcpy(tail[0], a0 + kmain, (size_t)rest);
  memcpy(tail[1], a1 + kmain, (size_t)rest);
  const int32x4_t corr0 = vdupq_n_s32(qie_neon_row_correction(a0, k, rq->filter_zp));
  const int32x4_t corr1 =
      ROWS > 1 ? vdupq_n_s32(qie_neon_row_correction(a1, k, rq->filter_zp)) : corr0;
  for (int32_t blk = nb_begin; blk < nb_end; ++blk) {
    const int32_t c = blk * QIE_NEON_NR;
    const int32_t nc = n - c < QIE_NEON_NR ? n - c : QIE_NEON_NR;
    const int8_t* b = (const int8_t*)pk.weights + (size_t)c * kp;
    if (flags[blk])
      c8_block(ROWS, 1, a0, a1, (const int8_t(*)[C8_DEPTH])tail, kmain, rest > 0, b, c, nc, &pk,
               &e, corr0, corr1, out0, out1);
    else
      c8_block(ROWS, 0, a0, a1, (const int8_t(*)[C8_DEPTH])tail, kmain, rest > 0, b, c, nc, &pk,
               &e, corr0, corr1, out0, out1);
  }
}

void qie_neon_c8_gemm(int32_t mr, int32_t k, const int8_t* const a[QIE_NEON_MR],
                      const void* packed, int32_t n, int32_t nb_begin, int32_t nb_end,
                      const qie_qs8_requant* rq, int8_t* const out[QIE_NEON_MR]) {
  for (int32_t r = 0; r < mr; r += C8_ROWS) {
    if (C8_ROWS > 1 && r + 1 < mr)
      c8_rows(2, a[r], a[r + 1], k, packed, n, nb_begin, nb_end, rq, out[r], out[r + 1]);
    else
      c8_rows(1, a[r], a[r], k, packed, n, nb_begin, nb_end, rq, out[r], out[r]);
  }
}

#endif
