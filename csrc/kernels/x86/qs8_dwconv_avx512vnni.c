/* int8 depthwise conv (depth multiplier 1), 16 channels per zmm, one vpdpwssd
 * per tap (AVX-512 VNNI). A work item is one output row. Each output pixel first
 * resolves its taps to input pixels, or to the zero-point row for padding. */
#if defined(__x86_64__)
#include "qs8_dw_pack.h"
#include "requant_avx512.h"

/* Four channel blocks at once, so four independent vpdpwssd chains hide its
 * latency; the remaining blocks one at a time with two chains (even/odd taps). */
static inline __attribute__((always_inline)) QIE_AVX512 void pixel(
    const int8_t* const* tap, int taps, const int32_t* w, int32_t np, int32_t C,
    const qie_rq_arrays* rqa, const qie_rq512* rqk, int8_t* out) {
  int32_t c0 = 0;
  for (; c0 + 64 <= C; c0 += 64) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int t = 0; t < taps; ++t) {
      const int8_t* x = tap[t] + c0;
      const int32_t* wt = w + (size_t)t * np + c0;
      a0 = _mm512_dpwssd_epi32(a0, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)x)),
                               _mm512_loadu_si512(wt));
      a1 = _mm512_dpwssd_epi32(a1, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(x + 16))),
                               _mm512_loadu_si512(wt + 16));
      a2 = _mm512_dpwssd_epi32(a2, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(x + 32))),
                               _mm512_loadu_si512(wt + 32));
      a3 = _mm512_dpwssd_epi32(a3, _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)(x + 48))),
                               _mm512_loadu_si512(wt + 48));
    }
    _mm_storeu_si128((__m128i*)(out + c0), qie_rq512_apply(a0, rqa, c0, rqk));
    _mm_storeu_si128((__m128i*)(out + c0 + 16), qie_rq512_apply(a1, rqa, c0 + 16, rqk));
    _mm_storeu_si128((__m128i*)(out + c0 + 32), qie_rq512_apply(a2, rqa, c0 + 32, rqk));
    _mm_storeu_si128((__m128i*)(out + c0 + 48), qie_rq512_apply(a3, rqa, c0 + 48, rqk));
  }
  for (; c0 < C; c0 += 16) {
    const __mmask16 m = qie_tail_mask16(C - c0);
    __m512i even = _mm512_setzero_si512(), odd = even;
    int t = 0;
    for (; t + 1 < taps; t += 2) {
      even = _mm512_dpwssd_epi32(even, _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, tap[t] + c0)),
                                 _mm512_loadu_si512(w + (size_t)t * np + c0));
      odd = _mm512_dpwssd_epi32(odd, _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, tap[t + 1] + c0)),
                                _mm512_loadu_si512(w + (size_t)(t + 1) * np + c0));
    }
    if (t < taps)
      even = _mm512_dpwssd_epi32(even, _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, tap[t] + c0)),
                                 _mm512_loadu_si512(w + (size_t)t * np + c0));
    /* wrapping int32 sums: the split changes no bit of the total */
    _mm_mask_storeu_epi8(out + c0, m, qie_rq512_apply(_mm512_add_epi32(even, odd), rqa, c0, rqk));
  }
}

static QIE_AVX512 void pixel9(const int8_t* const* tap, const int32_t* w, int32_t np, int32_t C,
                              const qie_rq_arrays* rqa, const qie_rq512* rqk, int8_t* out) {
  pixel(tap, 9, w, np, C, rqa, rqk, out);
}

static QIE_AVX512 void pixel_n(const int8_t* const* tap, int taps, const int32_t* w, int32_t np,
                               int32_t C, const qie_rq_arrays* rqa, const qie_rq512* rqk,
                               int8_t* out) {
  pixel(tap, taps, w, np, C, rqa, rqk, out);
}

/* One input channel fanned out to every output channel (depth multiplier = out_c):
 * each tap is one input byte, broadcast. */
static QIE_AVX512 void pixel_fanout(const int8_t* const* tap, int taps, const int32_t* w,
                                    int32_t np, int32_t C, const qie_rq_arrays* rqa,
                                    const qie_rq512* rqk, int8_t* out) {
  __m512i x[QIE_DW_MAX_TAPS];
  for (int t = 0; t < taps; ++t) x[t] = _mm512_set1_epi32(*tap[t]);
  for (int32_t c0 = 0; c0 < C; c0 += 16) {
    const __mmask16 m = qie_tail_mask16(C - c0);
    __m512i even = _mm512_setzero_si512(), odd = even;
    int t = 0;
    for (; t + 1 < taps; t += 2) {
      even = _mm512_dpwssd_epi32(even, x[t], _mm512_loadu_si512(w + (size_t)t * np + c0));
      odd = _mm512_dpwssd_epi32(odd, x[t + 1], _mm512_loadu_si512(w + (size_t)(t + 1) * np + c0));
    }
    if (t < taps) even = _mm512_dpwssd_epi32(even, x[t], _mm512_loadu_si512(w + (size_t)t * np + c0));
    _mm_mask_storeu_epi8(out + c0, m, qie_rq512_apply(_mm512_add_epi32(even, odd), rqa, c0, rqk));
  }
}

static bool supports(const qie_qs8_conv_params* p) { return qie_dw_supported(p); }
static size_t packed_bytes(const qie_qs8_conv_params* p) {
  return qie_dw_packed_bytes(qie_dw_layout_of(p, 16));
}
static void pack(const qie_qs8_conv_params* p, const void* f, const void* b, void* o) {
  qie_dw_pack(p, qie_dw_layout_of(p, 16), f, b, o);
}
static int32_t items(const qie_qs8_conv_params* p) { return p->g.batches * p->g.out_h; }

static QIE_AVX512 void run(const qie_qs8_conv_params* p, const qie_kernel_args* a, int32_t begin,
                           int32_t end, void* scratch) {
  const qie_conv_geom* g = &p->g;
  const qie_dw_layout l = qie_dw_layout_of(p, 16);
  const qie_rq_arrays rqa = qie_rq_arrays_at((void*)a->packed, l.np);
  const int32_t* w = qie_dw_weights(a->packed, l);
  const int8_t* zp_row = qie_dw_zp_row(a->packed, l);
  const qie_rq512 rqk = qie_rq512_make(&p->rq);
  const int8_t* input = a->input;
  int8_t* output = a->output;
  const int8_t* tap[QIE_DW_MAX_TAPS];
  for (int32_t row = begin; row < end; ++row) {
    const int32_t b = row / g->out_h, oy = row % g->out_h;
    const int32_t y0 = oy * g->stride_h - g->pad_top;
    const int8_t* image = input + (size_t)b * g->in_h * g->in_w * g->in_c;
    int8_t* out = output + (size_t)row * g->out_w * g->out_c;
    for (int32_t ox = 0; ox < g->out_w; ++ox, out += g->out_c) {
      const int32_t x0 = ox * g->stride_w - g->pad_left;
      int t = 0;
      for (int32_t ky = 0; ky < g->k_h; ++ky) {
        const int32_t iy = y0 + ky * g->dilation_h;
        for (int32_t kx = 0; kx < g->k_w; ++kx, ++t) {
          const int32_t ix = x0 + kx * g->dilation_w;
          tap[t] = (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w)
                       ? zp_row
                       : image + ((size_t)iy * g->in_w + ix) * g->in_c;
        }
      }
      if (g->in_c == 1) pixel_fanout(tap, t, w, l.np, g->out_c, &rqa, &rqk, out);
      else if (t == 9) pixel9(tap, w, l.np, g->out_c, &rqa, &rqk, out);
      else pixel_n(tap, t, w, l.np, g->out_c, &rqa, &rqk, out);
    }
  }
}

const qie_qs8_conv_kernel qie_qs8_dwconv_nhwc_16c__avx512vnni = {
    "qs8_dwconv_nhwc_16c__avx512vnni", supports, packed_bytes, pack, NULL, items, run};
#endif
