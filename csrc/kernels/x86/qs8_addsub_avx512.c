/* int8 ADD/SUB (TFLite's integer scheme, as qie_addsub_s8_ref) on 16 lanes with
 * AVX-512: rows whose inputs are both contiguous; any other walk, and parameters
 * outside what the vector arithmetic covers, go to the reference. */
#if defined(__x86_64__)
#include "../dispatch.h"
#include "requant_avx512.h"
#include "qs8_addsub_params.h"

typedef struct {
  __m512i a_off, b_off, lshift, am, al, ar, bm, bl, br, om, ol, or_, zp, lo, hi;
} consts;

static inline QIE_AVX512 __m512i left_of(int s) { return _mm512_set1_epi32(s > 0 ? s : 0); }
static inline QIE_AVX512 __m512i right_of(int s) { return _mm512_set1_epi32(s > 0 ? 0 : -s); }

static inline QIE_AVX512 __m128i lane16(const consts* k, int subtract, __m128i xa, __m128i xb) {
  const __m512i sx = _mm512_sllv_epi32(_mm512_add_epi32(_mm512_cvtepi8_epi32(xa), k->a_off), k->lshift);
  const __m512i sy = _mm512_sllv_epi32(_mm512_add_epi32(_mm512_cvtepi8_epi32(xb), k->b_off), k->lshift);
  const __m512i x = qie_mbqm512(sx, k->am, k->al, k->ar);
  const __m512i y = qie_mbqm512(sy, k->bm, k->bl, k->br);
  const __m512i raw = subtract ? _mm512_sub_epi32(x, y) : _mm512_add_epi32(x, y);
  __m512i v = _mm512_add_epi32(qie_mbqm512(raw, k->om, k->ol, k->or_), k->zp);
  v = _mm512_min_epi32(_mm512_max_epi32(v, k->lo), k->hi);
  return _mm512_cvtsepi32_epi8(v);
}

static QIE_AVX512 void addsub_run(const qie_addsub_q_params* p, const qie_bcast* bc, const int8_t* a,
                           const int8_t* b, int8_t* out) {
  const size_t ia = bc->sa[QIE_BCAST_RANK - 1], ib = bc->sb[QIE_BCAST_RANK - 1];
  if (ia != 1 || ib != 1 || !qie_x86_addsub_params_ok(p)) {
    qie_addsub_s8_ref(p, bc, a, b, out);
    return;
  }
  consts k;
  k.a_off = _mm512_set1_epi32(p->a_offset);
  k.b_off = _mm512_set1_epi32(p->b_offset);
  k.lshift = _mm512_set1_epi32(p->left_shift);
  k.am = _mm512_set1_epi32(p->a_multiplier), k.al = left_of(p->a_shift), k.ar = right_of(p->a_shift);
  k.bm = _mm512_set1_epi32(p->b_multiplier), k.bl = left_of(p->b_shift), k.br = right_of(p->b_shift);
  k.om = _mm512_set1_epi32(p->out_multiplier), k.ol = left_of(p->out_shift);
  k.or_ = right_of(p->out_shift);
  k.zp = _mm512_set1_epi32(p->out_offset);
  k.lo = _mm512_set1_epi32(p->act_min);
  k.hi = _mm512_set1_epi32(p->act_max);
  const int sub = p->subtract;
  QIE_BCAST_FOR_ROWS(bc, {
    (void)ia, (void)ib; /* both 1 here */
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
      _mm_storeu_si128((__m128i*)(out + oo + i),
                       lane16(&k, sub, _mm_loadu_si128((const __m128i*)(a + oa + i)),
                              _mm_loadu_si128((const __m128i*)(b + ob + i))));
    if (i < n) {
      const __mmask16 m = qie_tail_mask16((int32_t)(n - i));
      _mm_mask_storeu_epi8(out + oo + i, m,
                           lane16(&k, sub, _mm_maskz_loadu_epi8(m, a + oa + i),
                                  _mm_maskz_loadu_epi8(m, b + ob + i)));
    }
  });
}

const qie_qs8_addsub_kernel qie_qs8_addsub_16__avx512 = {"qs8_addsub_16__avx512", addsub_run};
#endif
