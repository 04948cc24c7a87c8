/* qs8 GEMM micro-kernel, 4x16 tiles (4x8 for an odd last block), 4-deep signed
 * dot products (SDOT): aarch64 cores with the dot product extension only. This
 * file alone is compiled for armv8.2-a+dotprod (a pragma, not a global -march),
 * and dispatch runs it only where HWCAP reports ASIMDDP, so the same binary
 * still runs on a Cortex-A72.
 *
 * Activations and weights stay raw int8; the zero points are corrected for as
 * qie_neon_fold_zero_points (neon_common.h) describes. */
#include "neon_common.h"

#if defined(QIE_NEON_ENABLED) && defined(__aarch64__)

#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")

size_t qie_neondot_packed_bytes(int32_t n, int32_t k) {
  const int32_t np = qie_neon_round_up(n, QIE_NEON_NR);
  return qie_neon_requant_bytes(np) + (size_t)np * (size_t)qie_neon_round_up(k, 4);
}

/* Weights: block of 8 channels after block; within one, groups of 4 depths, each
 * 8 channels x 4 bytes (channels 0-3 then 4-7: one 16-byte register each). */
void qie_neondot_pack(const qie_qs8_requant* rq, int32_t n, int32_t k, const int8_t* w,
                      const int32_t* bias, void* packed) {
  const int32_t np = qie_neon_round_up(n, QIE_NEON_NR);
  const int32_t k4 = qie_neon_round_up(k, 4);
  qie_neon_pack_requant(rq, bias, n, np, packed);
  const qie_neon_packed v = qie_neon_packed_view(packed, np);
  int8_t* dst = (int8_t*)v.weights;
  for (int32_t nb = 0; nb < np; nb += QIE_NEON_NR)
    for (int32_t g = 0; g < k4; g += 4)
      for (int32_t j = 0; j < QIE_NEON_NR; ++j)
        for (int32_t d = 0; d < 4; ++d) {
          const int32_t oc = nb + j, kk = g + d;
          *dst++ = (oc < n && kk < k) ? w[(size_t)oc * k + kk] : 0;
        }
  qie_neon_fold_zero_points(rq, n, k, w, v.bias);
}

/* Row r, depth group g, against one block (acc*l/h, weights b03/b47) and, when
 * PAIR, the next block too (acc*L/H, B03/B47): a 4x16 tile reuses each row load
 * twice, with 16 accumulators of the 32 registers. */
#define DOT_ROW(r, g)                                         \
  acc##r##l = vdotq_laneq_s32(acc##r##l, b03, x##r, g);       \
  acc##r##h = vdotq_laneq_s32(acc##r##h, b47, x##r, g);       \
  if (PAIR) {                                                 \
    acc##r##L = vdotq_laneq_s32(acc##r##L, B03, x##r, g);     \
    acc##r##H = vdotq_laneq_s32(acc##r##H, B47, x##r, g);     \
  }

#define DOT_GROUP(g)                                                  \
  {                                                                   \
    const int8x16_t b03 = vld1q_s8(b), b47 = vld1q_s8(b + 16);        \
    b += 32;                                                          \
    int8x16_t B03 = b03, B47 = b47;                                   \
    if (PAIR) {                                                       \
      B03 = vld1q_s8(bn), B47 = vld1q_s8(bn + 16);                    \
      bn += 32;                                                       \
    }                                                                 \
    DOT_ROW(0, g);                                                    \
    if (MR > 1) {                                                     \
      DOT_ROW(1, g);                                                  \
      DOT_ROW(2, g);                                                  \
      DOT_ROW(3, g);                                                  \
    }                                                                 \
  }

#define ROW_STORE(r)                                                                          \
  if (r < mr) {                                                                               \
    qie_neon_store_i8(out[r] + c, qie_neon_requant8(acc##r##l, acc##r##h, e, c), nc);         \
    if (PAIR)                                                                                 \
      qie_neon_store_i8(out[r] + c + QIE_NEON_NR,                                             \
                        qie_neon_requant8(acc##r##L, acc##r##H, e, c + QIE_NEON_NR), nc2);    \
  }

/* The rows of one call; tail[r] holds row r's last k % 16 depths, zero-padded. */
typedef struct {
  const int8_t* a[QIE_NEON_MR];
  int8_t tail[QIE_NEON_MR][16];
  int32_t corr[QIE_NEON_MR]; /* -filter_zp * sum of the row */
  int32_t k, k4, kmain, rest_groups, n;
} dot_rows;

/* Block blk (and blk + 1 when PAIR) for MR (4 or 1) rows, mr of them stored. */
static inline __attribute__((always_inline)) void dot_blocks(
    const int32_t MR, const int32_t PAIR, int32_t mr, const dot_rows* rows, int32_t blk,
    const qie_neon_packed* pk, const qie_neon_epilogue* e, int8_t* const out[QIE_NEON_MR]) {
  const int32_t c = blk * QIE_NEON_NR, n = rows->n;
  const int32_t nc = n - c < QIE_NEON_NR ? n - c : QIE_NEON_NR;
  const int32_t nc2 = n - c - QIE_NEON_NR < QIE_NEON_NR ? n - c - QIE_NEON_NR : QIE_NEON_NR;
  const int8_t* b = (const int8_t*)pk->weights + (size_t)c * rows->k4;
  const int8_t* bn = b + (size_t)QIE_NEON_NR * rows->k4;
  const int8_t *a0 = rows->a[0], *a1 = rows->a[1], *a2 = rows->a[2], *a3 = rows->a[3];
  const int32x4_t bl = vld1q_s32(pk->bias + c), bh = vld1q_s32(pk->bias + c + 4);
  const int32x4_t c0 = vdupq_n_s32(rows->corr[0]), c1 = vdupq_n_s32(rows->corr[1]);
  const int32x4_t c2 = vdupq_n_s32(rows->corr[2]), c3 = vdupq_n_s32(rows->corr[3]);
  int32x4_t acc0l = vaddq_s32(bl, c0), acc0h = vaddq_s32(bh, c0);
  int32x4_t acc1l = vaddq_s32(bl, c1), acc1h = vaddq_s32(bh, c1);
  int32x4_t acc2l = vaddq_s32(bl, c2), acc2h = vaddq_s32(bh, c2);
  int32x4_t acc3l = vaddq_s32(bl, c3), acc3h = vaddq_s32(bh, c3);
  int32x4_t acc0L = acc0l, acc0H = acc0h, acc1L = acc1l, acc1H = acc1h;
  int32x4_t acc2L = acc2l, acc2H = acc2h, acc3L = acc3l, acc3H = acc3h;
  if (PAIR) {
    const int32x4_t bL = vld1q_s32(pk->bias + c + 8), bH = vld1q_s32(pk->bias + c + 12);
    acc0L = vaddq_s32(bL, c0), acc0H = vaddq_s32(bH, c0);
    acc1L = vaddq_s32(bL, c1), acc1H = vaddq_s32(bH, c1);
    acc2L = vaddq_s32(bL, c2), acc2H = vaddq_s32(bH, c2);
    acc3L = vaddq_s32(bL, c3), acc3H = vaddq_s32(bH, c3);
  }
  for (int32_t kk = 0; kk < rows->kmain; kk += 16) {
    const int8x16_t x0 = vld1q_s8(a0 + kk);
    const int8x16_t x1 = vld1q_s8(a1 + kk), x2 = vld1q_s8(a2 + kk), x3 = vld1q_s8(a3 + kk);
    DOT_GROUP(0);
    DOT_GROUP(1);
    DOT_GROUP(2);
    DOT_GROUP(3);
  }
  if (rows->rest_groups) {
    const int8x16_t x0 = vld1q_s8(rows->tail[0]);
    const int8x16_t x1 = vld1q_s8(rows->tail[1]), x2 = vld1q_s8(rows->tail[2]);
    const int8x16_t x3 = vld1q_s8(rows->tail[3]);
    DOT_GROUP(0);
    if (rows->rest_groups > 1) DOT_GROUP(1);
    if (rows->rest_groups > 2) DOT_GROUP(2);
    if (rows->rest_groups > 3) DOT_GROUP(3);
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
  dot_rows rows;
  rows.k = k, rows.k4 = qie_neon_round_up(k, 4), rows.kmain = k & ~15, rows.n = n;
  const int32_t rest = k - rows.kmain;
  rows.rest_groups = (rest + 3) / 4;
  memset(rows.tail, 0, sizeof rows.tail);
  for (int32_t r = 0; r < QIE_NEON_MR; ++r) {
    rows.a[r] = MR > 1 ? a[r] : a[0];
    memcpy(rows.tail[r], rows.a[r] + rows.kmain, (size_t)rest);
    rows.corr[r] = qie_neon_row_correction(rows.a[r], k, rq->filter_zp);
  }
  int32_t blk = nb_begin;
  for (; blk + 1 < nb_end; blk += 2) dot_blocks(MR, 1, mr, &rows, blk, &pk, &e, out);
  if (blk < nb_end) dot_blocks(MR, 0, mr, &rows, blk, &pk, &e, out);
}

void qie_neondot_gemm(int32_t mr, int32_t k, const int8_t* const a[QIE_NEON_MR],
                      const void* packed, int32_t n, int32_t nb_begin, int32_t nb_end,
                      const qie_qs8_requant* rq, int8_t* const out[QIE_NEON_MR]) {
  if (mr == 1)
    gemm_tile(1, 1, k, a, packed, n, nb_begin, nb_end, rq, out);
  else
    gemm_tile(QIE_NEON_MR, mr, k, a, packed, n, nb_begin, nb_end, rq, out);
}

#pragma GCC pop_options

#endif
