/* The requantization epilogue for 8 int32 accumulators (AVX2), both modes,
 * bit-exact to qie_requant_channel (conv.h). Included by the avx2 kernels. */
#ifndef QIE_X86_REQUANT_AVX2_H
#define QIE_X86_REQUANT_AVX2_H

#include <immintrin.h>
#include <string.h>

#include "qs8_gemm.h"

#define QIE_AVX2 __attribute__((target("avx2,fma")))

/* qie_mul_by_quantized_multiplier on 8 lanes, for multipliers >= 0 and right
 * shifts in [0, 31] (see qie_x86_requant_ok). */
static inline QIE_AVX2 __m256i qie_mbqm256(__m256i acc, __m256i m, __m256i left, __m256i rs) {
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i x = _mm256_sllv_epi32(acc, left);
  /* rounding doubling high multiply: (x * m + 2^30) >> 31, per 64-bit product */
  const __m256i half = _mm256_set1_epi64x((int64_t)1 << 30);
  const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, m), half);
  const __m256i po =
      _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32)), half);
  __m256i v = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(po, 1), 0xAA);
  /* rounding right shift, ties away from zero */
  const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, rs), one);
  const __m256i rem = _mm256_and_si256(v, mask);
  const __m256i thr = _mm256_add_epi32(_mm256_srai_epi32(mask, 1), _mm256_srli_epi32(v, 31));
  v = _mm256_srav_epi32(v, rs);
  return _mm256_sub_epi32(v, _mm256_cmpgt_epi32(rem, thr)); /* true is -1 */
}

typedef struct {
  __m256i zp, lo, hi; /* lo/hi: the activation bounds minus the zero point */
  __m256i amin, amax; /* the activation bounds (fused epilogue) */
  int clamp_min, clamp_max; /* whether they are inside int8 (fused epilogue) */
  __m256 flo, fhi;
  int float_mode;
} qie_rq256;

static inline QIE_AVX2 qie_rq256 qie_rq256_make(const qie_qs8_requant* rq) {
  qie_rq256 k;
  k.zp = _mm256_set1_epi32(rq->output_zp);
  k.lo = _mm256_set1_epi32(rq->act_min - rq->output_zp);
  k.hi = _mm256_set1_epi32(rq->act_max - rq->output_zp);
  k.amin = _mm256_set1_epi32(rq->act_min);
  k.amax = _mm256_set1_epi32(rq->act_max);
  k.clamp_min = rq->act_min > -128;
  k.clamp_max = rq->act_max < 127;
  k.flo = _mm256_set1_ps((float)(rq->act_min - rq->output_zp));
  k.fhi = _mm256_set1_ps((float)(rq->act_max - rq->output_zp));
  k.float_mode = rq->mode == QIE_RQ_FLOAT;
  return k;
}

/* 8 int32 lanes (already in int8 range or to be saturated) to 8 int8 in the low 64 bits. */
static inline QIE_AVX2 __m128i qie_narrow8(__m256i v) {
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_packs_epi16(w, w);
}

/* Two blocks of 8 to 16 int8 in order (saturating), three shuffles for both. */
static inline QIE_AVX2 __m128i qie_narrow16(__m256i a, __m256i b) {
  /* dwords of the packed bytes: a[0..3] b[0..3] a[0..3] b[0..3] | a[4..7] b[4..7] ... */
  const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_setzero_si256());
  return _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 0, 0, 0, 0)));
}

/* Four blocks of 8 to 32 int8 in order (saturating), four shuffles for all. */
static inline QIE_AVX2 __m256i qie_narrow32(__m256i a, __m256i b, __m256i c, __m256i d) {
  /* dwords: a[0..3] b[0..3] c[0..3] d[0..3] | a[4..7] b[4..7] c[4..7] d[4..7] */
  const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
  return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Channels c0..c0+7 of acc (bias added) to int32 outputs: zero point added,
 * clamped to the activation bounds. */
static inline QIE_AVX2 __m256i qie_rq256_value(__m256i acc, const qie_rq_arrays* a, int32_t c0,
                                              const qie_rq256* k) {
  __m256i v;
  if (k->float_mode) {
    __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc),
                             _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i*)(a->mult + c0))));
    f = _mm256_min_ps(_mm256_max_ps(f, k->flo), k->fhi); /* integer bounds: clamp, then round */
    v = _mm256_cvttps_epi32(_mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  } else {
    v = qie_mbqm256(acc, _mm256_loadu_si256((const __m256i*)(a->mult + c0)),
                    _mm256_loadu_si256((const __m256i*)(a->left + c0)),
                    _mm256_loadu_si256((const __m256i*)(a->right + c0)));
    v = _mm256_min_epi32(_mm256_max_epi32(v, k->lo), k->hi);
  }
  return _mm256_add_epi32(v, k->zp);
}

/* Fixed mode in one rounding per 64-bit product (the proof and the constants:
 * qie_rq_fused_fill, qs8_gemm_pack.c): channels of block b from acc (bias added)
 * to int32 outputs with the zero point added and the activation clamp applied
 * (a bound at the int8 limit is left to the narrowing's saturation). 10 vector
 * operations before the clamp, against 21 for the two-step form. */
static inline __attribute__((always_inline)) QIE_AVX2 __m256i qie_rq256_fused32(
    __m256i acc, const qie_rq_fused8* b, const qie_rq256* k) {
#define QIE_LD(f) _mm256_loadu_si256((const __m256i*)b->f)
#define QIE_SEL_NEG(x, y, p)                                                            \
  _mm256_castpd_si256(_mm256_blendv_pd(_mm256_castsi256_pd(x), _mm256_castsi256_pd(y),   \
                                       _mm256_castsi256_pd(p)))
  const __m256i x = acc;
  const __m256i pe = _mm256_mul_epi32(x, QIE_LD(mult));
  const __m256i po = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), QIE_LD(mult_odd));
  /* the addend with or without the negative-product correction, chosen by the
   * sign bit of each product, then one add */
  const __m256i te = _mm256_add_epi64(pe, QIE_SEL_NEG(QIE_LD(add_e), QIE_LD(addneg_e), pe));
  const __m256i to = _mm256_add_epi64(po, QIE_SEL_NEG(QIE_LD(add_o), QIE_LD(addneg_o), po));
  /* high halves: the even sums' moved down into their own lane, the odd sums'
   * already in place; then r - 1 on all 8 lanes */
  __m256i v = _mm256_blend_epi32(_mm256_srli_epi64(te, 32), to, 0xAA);
  v = _mm256_srav_epi32(v, QIE_LD(rm1));
#undef QIE_SEL_NEG
#undef QIE_LD
  if (k->clamp_min) v = _mm256_max_epi32(v, k->amin);
  if (k->clamp_max) v = _mm256_min_epi32(v, k->amax);
  return v;
}

/* Stores the low n (<= 8) bytes of q. */
static inline QIE_AVX2 void qie_store8(int8_t* dst, __m128i q, int32_t n) {
  if (n >= 8) {
    _mm_storel_epi64((__m128i*)dst, q);
  } else {
    int8_t tmp[16];
    _mm_storeu_si128((__m128i*)tmp, q);
    memcpy(dst, tmp, (size_t)n);
  }
}

#endif
