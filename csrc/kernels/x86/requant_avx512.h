/* The requantization epilogue for 16 int32 accumulators (AVX-512), both modes,
 * bit-exact to qie_requant_channel (conv.h). Included by the avx512vnni kernels. */
#ifndef QIE_X86_REQUANT_AVX512_H
#define QIE_X86_REQUANT_AVX512_H

#include <immintrin.h>

#include "qs8_gemm.h"

#define QIE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

/* qie_mul_by_quantized_multiplier on 16 lanes, for multipliers >= 0 (so the
 * doubling high multiply never saturates) and right shifts in [0, 31]. */
static inline QIE_AVX512 __m512i qie_mbqm512(__m512i acc, __m512i m, __m512i left, __m512i rs) {
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i x = _mm512_sllv_epi32(acc, left);
  /* rounding doubling high multiply: (x * m + 2^30) >> 31, per 64-bit product */
  const __m512i half = _mm512_set1_epi64((int64_t)1 << 30);
  const __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(x, m), half);
  const __m512i po =
      _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(m, 32)), half);
  __m512i v = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 31), _mm512_slli_epi64(po, 1));
  /* rounding right shift, ties away from zero */
  const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, rs), one);
  const __m512i rem = _mm512_and_si512(v, mask);
  const __m512i thr = _mm512_add_epi32(_mm512_srai_epi32(mask, 1), _mm512_srli_epi32(v, 31));
  v = _mm512_srav_epi32(v, rs);
  return _mm512_mask_add_epi32(v, _mm512_cmpgt_epi32_mask(rem, thr), v, one);
}

typedef struct {
  __m512i zp, lo, hi; /* lo/hi: the activation bounds minus the zero point */
  __m512i amin, amax; /* the activation bounds themselves */
  __m512i zp2p1;      /* 1 + 2 zp in each 64-bit lane */
  __m512 flo, fhi;
  int float_mode;
  /* a bound at the int8 limit needs no clamp: the saturating narrowing does it */
  int clamp_min, clamp_max;
} qie_rq512;

static inline QIE_AVX512 qie_rq512 qie_rq512_make(const qie_qs8_requant* rq) {
  qie_rq512 k;
  k.zp = _mm512_set1_epi32(rq->output_zp);
  k.lo = _mm512_set1_epi32(rq->act_min - rq->output_zp);
  k.hi = _mm512_set1_epi32(rq->act_max - rq->output_zp);
  k.flo = _mm512_set1_ps((float)(rq->act_min - rq->output_zp));
  k.fhi = _mm512_set1_ps((float)(rq->act_max - rq->output_zp));
  k.amin = _mm512_set1_epi32(rq->act_min);
  k.amax = _mm512_set1_epi32(rq->act_max);
  k.zp2p1 = _mm512_set1_epi64(1 + 2 * (int64_t)rq->output_zp);
  k.float_mode = rq->mode == QIE_RQ_FLOAT;
  k.clamp_min = rq->act_min > -128;
  k.clamp_max = rq->act_max < 127;
  return k;
}

/* One 16-channel block's epilogue constants, loaded once and applied to many
 * accumulators (the rows of a tile, the pixels of a row).
 *
 * Fixed mode in one rounding step per 64-bit product P = x * m: the reference's
 * two roundings, v = floor((P + 2^30) / 2^31) then v / 2^r rounded half away
 * from zero (r >= 1), equal floor((P + 2^30 + 2^(30+r) - [P < -2^30] 2^31) /
 * 2^(31+r)), since floor((floor(a / b) + h) / c) = floor((a + h b) / (b c)) for
 * an integer h and v < 0 exactly when P < -2^30. Even and odd lanes each get the
 * constants of their own channel as 64-bit values.
 *
 * When every right shift of the block is in [1, QIE_RQ512_ZP_FOLD_MAX_R], the
 * output zero point rides in the same addition as zp * 2^(31+r) (floor(a / b) +
 * zp = floor((a + zp b) / b)): |P| <= 2^62 and |zp 2^(31+r)| <= 2^58 keep the sum
 * inside int64, and r >= 1 keeps |v| <= 2^30 + 1, so v + zp (the reference adds
 * in int64) still fits the 32-bit lane. */
#define QIE_RQ512_ZP_FOLD_MAX_R 20
typedef struct {
  __m512i bias, mult, mult_odd, left;
  __m512i add_e, add_o, corr_e, corr_o, shift_e, shift_o;
  __m512i rm1; /* r - 1 per 32-bit lane (folded blocks) */
  int any_left, zp_folded;
} qie_rq512_ch;

static inline QIE_AVX512 void qie_rq512_lane_consts(__m512i r64, __m512i* add, __m512i* corr,
                                                   __m512i* shift) {
  const __mmask8 rounds = _mm512_cmpgt_epi64_mask(r64, _mm512_setzero_si512());
  const __m512i thirty = _mm512_set1_epi64(30);
  *add = _mm512_add_epi64(_mm512_set1_epi64((int64_t)1 << 30),
                          _mm512_maskz_sllv_epi64(rounds, _mm512_set1_epi64(1),
                                                  _mm512_add_epi64(r64, thirty)));
  *corr = _mm512_maskz_mov_epi64(rounds, _mm512_set1_epi64((int64_t)1 << 31));
  *shift = _mm512_add_epi64(r64, _mm512_set1_epi64(31));
}

/* Whether a block's zero point folds (see above). Lanes with a zero multiplier
 * (padding channels) give v = 0 for any r >= 0. */
static inline QIE_AVX512 int qie_rq512_block_folds(__m512i mult, __m512i right, const qie_rq512* k) {
  const __mmask16 live = _mm512_test_epi32_mask(mult, mult);
  return !k->float_mode &&
         (_mm512_cmpgt_epi32_mask(right, _mm512_set1_epi32(QIE_RQ512_ZP_FOLD_MAX_R)) |
          _mm512_mask_cmplt_epi32_mask(live, right, _mm512_set1_epi32(1))) == 0;
}

/* Whether every block of channels [0, np) folds. */
static inline QIE_AVX512 int qie_rq512_all_fold(const qie_rq_arrays* a, int32_t np, const qie_rq512* k) {
  if (k->float_mode) return 0;
  for (int32_t c0 = 0; c0 < np; c0 += 16)
    if (!qie_rq512_block_folds(_mm512_loadu_si512(a->mult + c0), _mm512_loadu_si512(a->right + c0), k))
      return 0;
  return 1;
}

static inline QIE_AVX512 qie_rq512_ch qie_rq512_channels(const qie_rq_arrays* a, int32_t c0,
                                                        const qie_rq512* k) {
  qie_rq512_ch ch;
  ch.bias = _mm512_loadu_si512(a->bias + c0);
  ch.mult = _mm512_loadu_si512(a->mult + c0);
  ch.mult_odd = _mm512_srli_epi64(ch.mult, 32);
  ch.left = k->float_mode ? _mm512_setzero_si512() : _mm512_loadu_si512(a->left + c0);
  __m512i right = k->float_mode ? _mm512_setzero_si512() : _mm512_loadu_si512(a->right + c0);
  ch.any_left = _mm512_test_epi32_mask(ch.left, ch.left) != 0;
  ch.zp_folded = qie_rq512_block_folds(ch.mult, right, k);
  if (ch.zp_folded) {
    /* the dead lanes take r = 1 as well, so every lane shifts by 32 or more;
     * add = 2^30 + 2^(30+r) + zp 2^(31+r) = 2^30 + (1 + 2 zp) 2^(30+r) */
    right = _mm512_max_epi32(right, _mm512_set1_epi32(1));
    ch.rm1 = _mm512_sub_epi32(right, _mm512_set1_epi32(1));
    const __m512i thirty = _mm512_set1_epi64(30), half = _mm512_set1_epi64((int64_t)1 << 30);
    const __m512i se = _mm512_add_epi64(_mm512_and_si512(right, _mm512_set1_epi64(0xFFFFFFFF)), thirty);
    const __m512i so = _mm512_add_epi64(_mm512_srli_epi64(right, 32), thirty);
    ch.add_e = _mm512_add_epi64(half, _mm512_sllv_epi64(k->zp2p1, se));
    ch.add_o = _mm512_add_epi64(half, _mm512_sllv_epi64(k->zp2p1, so));
    /* unused when folded (qie_rq512_folded32 has its own) */
    ch.corr_e = ch.corr_o = ch.shift_e = ch.shift_o = _mm512_setzero_si512();
    return ch;
  }
  ch.rm1 = _mm512_setzero_si512();
  qie_rq512_lane_consts(_mm512_and_si512(right, _mm512_set1_epi64(0xFFFFFFFF)), &ch.add_e,
                        &ch.corr_e, &ch.shift_e);
  qie_rq512_lane_consts(_mm512_srli_epi64(right, 32), &ch.add_o, &ch.corr_o, &ch.shift_o);
  return ch;
}

/* One 64-bit product per lane to its requantized value (low 32 bits). */
static inline QIE_AVX512 __m512i qie_rq512_round64(__m512i p, __m512i add, __m512i corr,
                                                   __m512i shift) {
  const __mmask8 neg = _mm512_cmplt_epi64_mask(p, _mm512_set1_epi64(-((int64_t)1 << 30)));
  __m512i t = _mm512_add_epi64(p, add);
  t = _mm512_mask_sub_epi64(t, neg, t, corr);
  return _mm512_srav_epi64(t, shift);
}

/* The folded epilogue up to the int32 result with the zero point added, before
 * the clamps and the narrowing (qie_rq512_folded). */
static inline __attribute__((always_inline)) QIE_AVX512 __m512i qie_rq512_folded32(
    __m512i acc, const qie_rq512_ch* ch) {
  const __m512i x = ch->any_left ? _mm512_sllv_epi32(acc, ch->left) : acc;
  const __m512i thr = _mm512_set1_epi64(-((int64_t)1 << 30));
  const __m512i corr = _mm512_set1_epi64((int64_t)1 << 31);
  const __m512i pe = _mm512_mul_epi32(x, ch->mult);
  const __m512i po = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), ch->mult_odd);
  __m512i te = _mm512_add_epi64(pe, ch->add_e), to = _mm512_add_epi64(po, ch->add_o);
  te = _mm512_mask_sub_epi64(te, _mm512_cmplt_epi64_mask(pe, thr), te, corr);
  to = _mm512_mask_sub_epi64(to, _mm512_cmplt_epi64_mask(po, thr), to, corr);
  /* the shift 31 + r >= 32 as the high half of each 64-bit sum, then r - 1 on
   * all 16 lanes at once: floor(floor(t / 2^32) / 2^(r-1)) = floor(t / 2^(31+r)) */
  return _mm512_srav_epi32(_mm512_mask_shuffle_epi32(to, 0x5555, te, _MM_PERM_CDAB), ch->rm1);
}

/* Channels c0..c0+15 of acc (bias already added) to int8, with the block's
 * constants already in registers. */
static inline QIE_AVX512 __m128i qie_rq512_finish_ch(__m512i acc, const qie_rq512_ch* ch,
                                                     const qie_rq512* k) {
  __m512i v;
  if (k->float_mode) {
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_castsi512_ps(ch->mult));
    f = _mm512_min_ps(_mm512_max_ps(f, k->flo), k->fhi);
    v = _mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  } else {
    if (ch->zp_folded) {
      v = qie_rq512_folded32(acc, ch);
      if (k->clamp_min) v = _mm512_max_epi32(v, k->amin);
      if (k->clamp_max) v = _mm512_min_epi32(v, k->amax);
      return _mm512_cvtsepi32_epi8(v);
    }
    const __m512i x = ch->any_left ? _mm512_sllv_epi32(acc, ch->left) : acc;
    const __m512i re = qie_rq512_round64(_mm512_mul_epi32(x, ch->mult), ch->add_e, ch->corr_e, ch->shift_e);
    const __m512i ro = qie_rq512_round64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), ch->mult_odd),
                                         ch->add_o, ch->corr_o, ch->shift_o);
    /* odd results from the low half of their 64-bit lane into the high half */
    v = _mm512_mask_shuffle_epi32(re, 0xAAAA, ro, _MM_PERM_CDAB);
    v = _mm512_min_epi32(_mm512_max_epi32(v, k->lo), k->hi);
  }
  return _mm512_cvtsepi32_epi8(_mm512_add_epi32(v, k->zp));
}

/* The same for acc without the bias. */
static inline QIE_AVX512 __m128i qie_rq512_apply_ch(__m512i acc, const qie_rq512_ch* ch,
                                                    const qie_rq512* k) {
  return qie_rq512_finish_ch(_mm512_add_epi32(acc, ch->bias), ch, k);
}

/* Four int32 vectors a, b, c, d to 64 int8 in that order, saturating (as
 * vpmovsdb would, but cheaper: two narrowing packs and one permute for four). */
static inline QIE_AVX512 __m512i qie_narrow4_512(__m512i a, __m512i b, __m512i c, __m512i d) {
  const __m512i bytes = _mm512_packs_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
  /* each 128-bit lane L holds dwords a[L], b[L], c[L], d[L] (four bytes each) */
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_epi32(order, bytes);
}

/* qie_rq512_finish_ch for a block with the zero point folded in (fixed mode),
 * the clamps chosen at compile time: the form the hot loops inline. Every live
 * lane has r >= 1, so its correction is 2^31; a lane with multiplier 0 has P = 0
 * and never takes it. */
static inline __attribute__((always_inline)) QIE_AVX512 __m128i qie_rq512_folded(
    __m512i acc, const qie_rq512_ch* ch, const qie_rq512* k, int CMIN, int CMAX) {
  __m512i v = qie_rq512_folded32(acc, ch);
  if (CMIN) v = _mm512_max_epi32(v, k->amin);
  if (CMAX) v = _mm512_min_epi32(v, k->amax);
  return _mm512_cvtsepi32_epi8(v);
}

static inline QIE_AVX512 __mmask16 qie_tail_mask16(int32_t n) {
  return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

#endif
