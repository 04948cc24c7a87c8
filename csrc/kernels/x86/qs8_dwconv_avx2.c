/* int8 depthwise conv (depth multiplier 1, or one input channel fanned out),
 * 8 channels per ymm, one vpmaddwd per tap (AVX2): each int32 lane pairs the
 * sign-extended input with (w, 0). A work item is one output row. */
#if defined(__x86_64__)
#include "qs8_dw_pack.h"
#include "requant_avx2.h"

/* 8 input bytes at x (n of them valid) sign-extended to int32 lanes. */
static inline QIE_AVX2 __m256i load8(const int8_t* x, int32_t n) {
  if (n >= 8) return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)x));
  int8_t tmp[8] = {0};
  memcpy(tmp, x, (size_t)n);
  return _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)tmp));
}

/* Channels c0..c0+7 of acc to int8: the fused epilogue when the layer has it. */
static inline __attribute__((always_inline)) QIE_AVX2 __m128i requant8(
    __m256i acc, const qie_rq_arrays* rqa, const qie_rq_fused* fz, int32_t c0, const qie_rq256* rqk) {
  return fz->fused ? qie_narrow8(qie_rq256_fused32(acc, &fz->block[c0 / 8], rqk))
                   : qie_rq256_apply(acc, rqa, c0, rqk);
}

static inline QIE_AVX2 __m256i mac(__m256i acc, __m256i x, const int32_t* w) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(x, _mm256_loadu_si256((const __m256i*)w)));
}

/* Four channel blocks at once (independent chains), then one block at a time. */
static QIE_AVX2 void pixel(const int8_t* const* tap, int taps, const int32_t* w, int32_t np,
                           int32_t C, const qie_rq_arrays* rqa, const qie_rq_fused* fz,
                           const qie_rq256* rqk, int8_t* out) {
  int32_t c0 = 0;
  for (; c0 + 32 <= C; c0 += 32) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (int t = 0; t < taps; ++t) {
      const int8_t* x = tap[t] + c0;
      const int32_t* wt = w + (size_t)t * np + c0;
      a0 = mac(a0, load8(x, 8), wt);
      a1 = mac(a1, load8(x + 8, 8), wt + 8);
      a2 = mac(a2, load8(x + 16, 8), wt + 16);
      a3 = mac(a3, load8(x + 24, 8), wt + 24);
    }
    qie_store8(out + c0, requant8(a0, rqa, fz, c0, rqk), 8);
    qie_store8(out + c0 + 8, requant8(a1, rqa, fz, c0 + 8, rqk), 8);
    qie_store8(out + c0 + 16, requant8(a2, rqa, fz, c0 + 16, rqk), 8);
    qie_store8(out + c0 + 24, requant8(a3, rqa, fz, c0 + 24, rqk), 8);
  }
  for (; c0 < C; c0 += 8) {
    const int32_t n = C - c0;
    __m256i acc = _mm256_setzero_si256();
    for (int t = 0; t < taps; ++t) acc = mac(acc, load8(tap[t] + c0, n), w + (size_t)t * np + c0);
    qie_store8(out + c0, requant8(acc, rqa, fz, c0, rqk), n);
  }
}

/* One input channel fanned out to every output channel: each tap is one byte. */
static QIE_AVX2 void pixel_fanout(const int8_t* const* tap, int taps, const int32_t* w, int32_t np,
                                  int32_t C, const qie_rq_arrays* rqa, const qie_rq_fused* fz,
                                  const qie_rq256* rqk, int8_t* out) {
  for (int32_t c0 = 0; c0 < C; c0 += 8) {
    __m256i acc = _mm256_setzero_si256();
    for (int t = 0; t < taps; ++t) acc = mac(acc, _mm256_set1_epi32(*tap[t]), w + (size_t)t * np + c0);
    qie_store8(out + c0, requant8(acc, rqa, fz, c0, rqk), C - c0);
  }
}

static bool supports(const qie_qs8_conv_params* p) { return qie_dw_supported(p); }
/* Packed: the shared depthwise layout (qs8_dw_pack.h), then the fused epilogue
 * blocks (qs8_gemm.h), built from the final bias. */
static size_t packed_bytes(const qie_qs8_conv_params* p) {
  const qie_dw_layout l = qie_dw_layout_of(p, 8);
  return qie_dw_packed_bytes(l) + qie_rq_fused_bytes(l.np);
}
static void pack(const qie_qs8_conv_params* p, const void* f, const void* b, void* o) {
  const qie_dw_layout l = qie_dw_layout_of(p, 8);
  qie_dw_pack(p, l, f, b, o);
  qie_rq_fused_fill(qie_rq_arrays_at(o, l.np), &p->rq, p->g.out_c, l.np,
                    (qie_rq_fused*)((char*)o + qie_dw_packed_bytes(l)));
}
static int32_t items(const qie_qs8_conv_params* p) { return p->g.batches * p->g.out_h; }

static QIE_AVX2 void run(const qie_qs8_conv_params* p, const qie_kernel_args* a, int32_t begin,
                         int32_t end, void* scratch) {
  const qie_conv_geom* g = &p->g;
  const qie_dw_layout l = qie_dw_layout_of(p, 8);
  const qie_rq_arrays rqa = qie_rq_arrays_at((void*)a->packed, l.np);
  const int32_t* w = qie_dw_weights(a->packed, l);
  const int8_t* zp_row = qie_dw_zp_row(a->packed, l);
  const qie_rq_fused* fz = (const qie_rq_fused*)((const char*)a->packed + qie_dw_packed_bytes(l));
  const qie_rq256 rqk = qie_rq256_make(&p->rq);
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
      if (g->in_c == 1) pixel_fanout(tap, t, w, l.np, g->out_c, &rqa, fz, &rqk, out);
      else pixel(tap, t, w, l.np, g->out_c, &rqa, fz, &rqk, out);
    }
  }
}

const qie_qs8_conv_kernel qie_qs8_dwconv_nhwc_8c__avx2 = {
    "qs8_dwconv_nhwc_8c__avx2", supports, packed_bytes, pack, NULL, items, run};
#endif
