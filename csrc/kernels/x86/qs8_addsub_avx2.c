/* int8 ADD/SUB (TFLite's integer scheme, as qie_addsub_s8_ref) on 8 lanes with
 * AVX2: rows whose inputs are both contiguous; any other walk, and parameters
 * outside what the vector arithmetic covers, go to the reference. */
#if defined(__x86_64__)
#include "../dispatch.h"
#include "requant_avx2.h"
#include "qs8_addsub_params.h"

typedef struct {
  __m256i a_off, b_off, lshift, am, al, ar, bm, bl, br, om, ol, or_, zp, lo, hi;
} consts;

static inline QIE_AVX2 __m256i left_of(int s) { return _mm256_set1_epi32(s > 0 ? s : 0); }
static inline QIE_AVX2 __m256i right_of(int s) { return _mm256_set1_epi32(s > 0 ? 0 : -s); }

/* 8 int8 pairs (low 64 bits of xa, xb) to 8 int8 results in the low 64 bits. */
static inline QIE_AVX2 __m128i lane8(const consts* k, int subtract, __m128i xa, __m128i xb) {
  const __m256i sx = _mm256_sllv_epi32(_mm256_add_epi32(_mm256_cvtepi8_epi32(xa), k->a_off), k->lshift);
  const __m256i sy = _mm256_sllv_epi32(_mm256_add_epi32(_mm256_cvtepi8_epi32(xb), k->b_off), k->lshift);
  const __m256i x = qie_mbqm256(sx, k->am, k->al, k->ar);
  const __m256i y = qie_mbqm256(sy, k->bm, k->bl, k->br);
  const __m256i raw = subtract ? _mm256_sub_epi32(x, y) : _mm256_add_epi32(x, y);
  __m256i v = _mm256_add_epi32(qie_mbqm256(raw, k->om, k->ol, k->or_), k->zp);
  v = _mm256_min_epi32(_mm256_max_epi32(v, k->lo), k->hi);
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_packs_epi16(w, w);
}

static QIE_AVX2 void addsub_run(const qie_addsub_q_params* p, const qie_bcast* bc, const int8_t* a,
                                const int8_t* b, int8_t* out) {
  const size_t ia = bc->sa[QIE_BCAST_RANK - 1], ib = bc->sb[QIE_BCAST_RANK - 1];
  if (ia != 1 || ib != 1 || !qie_x86_addsub_params_ok(p)) {
    qie_addsub_s8_ref(p, bc, a, b, out);
    return;
  }
  consts k;
  k.a_off = _mm256_set1_epi32(p->a_offset);
  k.b_off = _mm256_set1_epi32(p->b_offset);
  k.lshift = _mm256_set1_epi32(p->left_shift);
  k.am = _mm256_set1_epi32(p->a_multiplier), k.al = left_of(p->a_shift), k.ar = right_of(p->a_shift);
  k.bm = _mm256_set1_epi32(p->b_multiplier), k.bl = left_of(p->b_shift), k.br = right_of(p->b_shift);
  k.om = _mm256_set1_epi32(p->out_multiplier), k.ol = left_of(p->out_shift);
  k.or_ = right_of(p->out_shift);
  k.zp = _mm256_set1_epi32(p->out_offset);
  k.lo = _mm256_set1_epi32(p->act_min);
  k.hi = _mm256_set1_epi32(p->act_max);
  const int sub = p->subtract;
  QIE_BCAST_FOR_ROWS(bc, {
    (void)ia, (void)ib; /* both 1 here */
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
      _mm_storel_epi64((__m128i*)(out + oo + i),
                       lane8(&k, sub, _mm_loadl_epi64((const __m128i*)(a + oa + i)),
                             _mm_loadl_epi64((const __m128i*)(b + ob + i))));
    if (i < n) {
      int8_t ta[8] = {0}, tb[8] = {0};
      memcpy(ta, a + oa + i, n - i);
      memcpy(tb, b + ob + i, n - i);
      qie_store8(out + oo + i,
                 lane8(&k, sub, _mm_loadl_epi64((const __m128i*)ta), _mm_loadl_epi64((const __m128i*)tb)),
                 (int32_t)(n - i));
    }
  });
}

const qie_qs8_addsub_kernel qie_qs8_addsub_8__avx2 = {"qs8_addsub_8__avx2", addsub_run};
#endif
