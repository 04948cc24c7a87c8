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
  __m512 flo, fhi;
  int float_mode;
} qie_rq512;

static inline QIE_AVX512 qie_rq512 qie_rq512_make(const qie_qs8_requant* rq) {
  qie_rq512 k;
  k.zp = _mm512_set1_epi32(rq->output_zp);
  k.lo = _mm512_set1_epi32(rq->act_min - rq->output_zp);
  k.hi = _mm512_set1_epi32(rq->act_max - rq->output_zp);
  k.flo = _mm512_set1_ps((float)(rq->act_min - rq->output_zp));
  k.fhi = _mm512_set1_ps((float)(rq->act_max - rq->output_zp));
  k.float_mode = rq->mode == QIE_RQ_FLOAT;
  return k;
}

/* One 16-channel block's epilogue constants, loaded once and applied to many
 * accumulators (the rows of a tile, the pixels of a row). */
typedef struct {
  __m512i bias, mult, mult_odd, left, right, mask, half_mask;
  int any_left;
} qie_rq512_ch;

static inline QIE_AVX512 qie_rq512_ch qie_rq512_channels(const qie_rq_arrays* a, int32_t c0,
                                                        const qie_rq512* k) {
  qie_rq512_ch ch;
  const __m512i one = _mm512_set1_epi32(1);
  ch.bias = _mm512_loadu_si512(a->bias + c0);
  ch.mult = _mm512_loadu_si512(a->mult + c0);
  ch.mult_odd = _mm512_srli_epi64(ch.mult, 32);
  ch.left = k->float_mode ? _mm512_setzero_si512() : _mm512_loadu_si512(a->left + c0);
  ch.right = k->float_mode ? _mm512_setzero_si512() : _mm512_loadu_si512(a->right + c0);
  ch.mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, ch.right), one);
  ch.half_mask = _mm512_srai_epi32(ch.mask, 1);
  ch.any_left = _mm512_test_epi32_mask(ch.left, ch.left) != 0;
  return ch;
}

/* Channels c0..c0+15 of acc (bias not yet added) to int8, with the block's
 * constants already in registers. */
static inline QIE_AVX512 __m128i qie_rq512_apply_ch(__m512i acc, const qie_rq512_ch* ch,
                                                    const qie_rq512* k) {
  acc = _mm512_add_epi32(acc, ch->bias);
  __m512i v;
  if (k->float_mode) {
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_castsi512_ps(ch->mult));
    f = _mm512_min_ps(_mm512_max_ps(f, k->flo), k->fhi);
    v = _mm512_cvt_roundps_epi32(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  } else {
    const __m512i x = ch->any_left ? _mm512_sllv_epi32(acc, ch->left) : acc;
    const __m512i half = _mm512_set1_epi64((int64_t)1 << 30);
    const __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(x, ch->mult), half);
    const __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), ch->mult_odd), half);
    v = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 31), _mm512_slli_epi64(po, 1));
    const __m512i rem = _mm512_and_si512(v, ch->mask);
    const __m512i thr = _mm512_add_epi32(ch->half_mask, _mm512_srli_epi32(v, 31));
    v = _mm512_srav_epi32(v, ch->right);
    v = _mm512_mask_add_epi32(v, _mm512_cmpgt_epi32_mask(rem, thr), v, _mm512_set1_epi32(1));
    v = _mm512_min_epi32(_mm512_max_epi32(v, k->lo), k->hi);
  }
  return _mm512_cvtsepi32_epi8(_mm512_add_epi32(v, k->zp));
}

static inline QIE_AVX512 __mmask16 qie_tail_mask16(int32_t n) {
  return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

#endif
