/* int8 depthwise conv (depth multiplier 1, or one input channel fanned out),
 * 8 channels per ymm, two taps per vpmaddwd (AVX2): each int32 lane holds one
 * channel's inputs at taps 2p and 2p + 1 as an int16 pair, and the packed
 * weights hold (w[2p], w[2p + 1]) (an odd last tap pairs with a zero weight), so
 * one vpmaddwd adds both products. A work item is one output row. */
#if defined(__x86_64__)
#include "qs8_dw_pack.h"
#include "requant_avx2.h"

/* 8 bytes at x (n of them valid, the rest 0). */
static inline QIE_AVX2 __m128i load8b(const int8_t* x, int32_t n) {
  if (n >= 8) return _mm_loadl_epi64((const __m128i*)x);
  int8_t tmp[8] = {0};
  memcpy(tmp, x, (size_t)n);
  return _mm_loadl_epi64((const __m128i*)tmp);
}

/* Channels c0..c0+7 of acc (bias added) to int32 outputs: the fused epilogue
 * when the layer has it. */
static inline __attribute__((always_inline)) QIE_AVX2 __m256i requant(
    __m256i acc, const qie_rq_arrays* rqa, const qie_rq_fused* fz, int32_t c0, const qie_rq256* rqk) {
  return fz->fused ? qie_rq256_fused32(acc, &fz->block[c0 / 8], rqk) : qie_rq256_value(acc, rqa, c0, rqk);
}

static inline QIE_AVX2 __m256i bias8(const qie_rq_arrays* rqa, int32_t c0) {
  return _mm256_loadu_si256((const __m256i*)(rqa->bias + c0));
}

/* acc + the products of 8 channels at two taps; xy holds their input bytes
 * interleaved (channel c at tap 2q, then at tap 2q + 1). */
static inline QIE_AVX2 __m256i mac2(__m256i acc, __m128i xy, const int32_t* w) {
  const __m256i x = _mm256_cvtepi8_epi16(xy);
  return _mm256_add_epi32(acc, _mm256_madd_epi16(x, _mm256_loadu_si256((const __m256i*)w)));
}

/* Four channel blocks at once (independent chains), then one block at a time. */
/* tap[] has an even count of entries: an odd last tap is repeated after itself
 * (its pair's weight is 0). */
static inline __attribute__((always_inline)) QIE_AVX2 void pixel_n(
    const int8_t* const* tap, int taps, const int32_t* w, int32_t np, int32_t C,
    const qie_rq_arrays* rqa, const qie_rq_fused* fz, const qie_rq256* rqk, int8_t* out) {
  const int pairs = (taps + 1) / 2;
  int32_t c0 = 0;
  for (; c0 + 32 <= C; c0 += 32) {
    __m256i a0 = bias8(rqa, c0), a1 = bias8(rqa, c0 + 8), a2 = bias8(rqa, c0 + 16), a3 = bias8(rqa, c0 + 24);
    for (int q = 0; q < pairs; ++q) {
      const int8_t* x = tap[2 * q] + c0;
      const int8_t* y = tap[2 * q + 1] + c0;
      const int32_t* wt = w + (size_t)q * np + c0;
      const __m128i xl = _mm_loadu_si128((const __m128i*)x), yl = _mm_loadu_si128((const __m128i*)y);
      const __m128i xh = _mm_loadu_si128((const __m128i*)(x + 16));
      const __m128i yh = _mm_loadu_si128((const __m128i*)(y + 16));
      a0 = mac2(a0, _mm_unpacklo_epi8(xl, yl), wt);
      a1 = mac2(a1, _mm_unpackhi_epi8(xl, yl), wt + 8);
      a2 = mac2(a2, _mm_unpacklo_epi8(xh, yh), wt + 16);
      a3 = mac2(a3, _mm_unpackhi_epi8(xh, yh), wt + 24);
    }
    _mm256_storeu_si256((__m256i*)(out + c0),
                        qie_narrow32(requant(a0, rqa, fz, c0, rqk), requant(a1, rqa, fz, c0 + 8, rqk),
                                     requant(a2, rqa, fz, c0 + 16, rqk), requant(a3, rqa, fz, c0 + 24, rqk)));
  }
  for (; c0 < C; c0 += 8) {
    const int32_t n = C - c0;
    __m256i acc = bias8(rqa, c0);
    for (int q = 0; q < pairs; ++q) {
      acc = mac2(acc, _mm_unpacklo_epi8(load8b(tap[2 * q] + c0, n), load8b(tap[2 * q + 1] + c0, n)),
                 w + (size_t)q * np + c0);
    }
    qie_store8(out + c0, qie_narrow8(requant(acc, rqa, fz, c0, rqk)), n);
  }
}

/* 3x3, the common window, with its tap loop unrolled */
static QIE_AVX2 void pixel(const int8_t* const* tap, int taps, const int32_t* w, int32_t np,
                           int32_t C, const qie_rq_arrays* rqa, const qie_rq_fused* fz,
                           const qie_rq256* rqk, int8_t* out) {
  if (taps == 9) pixel_n(tap, 9, w, np, C, rqa, fz, rqk, out);
  else pixel_n(tap, taps, w, np, C, rqa, fz, rqk, out);
}

/* One input channel fanned out to every output channel: each tap is one byte. */
static QIE_AVX2 void pixel_fanout(const int8_t* const* tap, int taps, const int32_t* w, int32_t np,
                                  int32_t C, const qie_rq_arrays* rqa, const qie_rq_fused* fz,
                                  const qie_rq256* rqk, int8_t* out) {
  const int pairs = (taps + 1) / 2;
  for (int32_t c0 = 0; c0 < C; c0 += 8) {
    __m256i acc = bias8(rqa, c0);
    for (int q = 0; q < pairs; ++q) {
      const int16_t x0 = *tap[2 * q], x1 = 2 * q + 1 < taps ? *tap[2 * q + 1] : 0;
      const __m256i x = _mm256_set1_epi32((int32_t)((uint32_t)(uint16_t)x0 | (uint32_t)(uint16_t)x1 << 16));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, _mm256_loadu_si256((const __m256i*)(w + (size_t)q * np + c0))));
    }
    qie_store8(out + c0, qie_narrow8(requant(acc, rqa, fz, c0, rqk)), C - c0);
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
  /* in place, taps (w, 0) to pairs (w[2q], w[2q + 1]): row q is written after rows
   * 2q and 2q + 1 are read, and row q itself was read at step q / 2 <= q */
  int32_t* w = (int32_t*)qie_dw_weights(o, l);
  for (int32_t q = 0; q < (l.taps + 1) / 2; ++q)
    for (int32_t c = 0; c < l.np; ++c) {
      const uint32_t lo = (uint32_t)w[(size_t)2 * q * l.np + c] & 0xFFFF;
      const uint32_t hi = 2 * q + 1 < l.taps ? (uint32_t)w[(size_t)(2 * q + 1) * l.np + c] & 0xFFFF : 0;
      w[(size_t)q * l.np + c] = (int32_t)(lo | hi << 16);
    }
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
  /* a window wholly inside the input: each tap at a fixed offset from its corner */
  ptrdiff_t off[QIE_DW_MAX_TAPS];
  const int32_t taps = g->k_h * g->k_w;
  for (int32_t ky = 0, t = 0; ky < g->k_h; ++ky)
    for (int32_t kx = 0; kx < g->k_w; ++kx, ++t)
      off[t] = ((ptrdiff_t)ky * g->dilation_h * g->in_w + (ptrdiff_t)kx * g->dilation_w) * g->in_c;
  const int32_t span_h = (g->k_h - 1) * g->dilation_h, span_w = (g->k_w - 1) * g->dilation_w;
  for (int32_t row = begin; row < end; ++row) {
    const int32_t b = row / g->out_h, oy = row % g->out_h;
    const int32_t y0 = oy * g->stride_h - g->pad_top;
    const int8_t* image = input + (size_t)b * g->in_h * g->in_w * g->in_c;
    int8_t* out = output + (size_t)row * g->out_w * g->out_c;
    const bool rows_inside = y0 >= 0 && y0 + span_h < g->in_h;
    for (int32_t ox = 0; ox < g->out_w; ++ox, out += g->out_c) {
      const int32_t x0 = ox * g->stride_w - g->pad_left;
      int t = 0;
      if (rows_inside && x0 >= 0 && x0 + span_w < g->in_w) {
        const int8_t* corner = image + ((size_t)y0 * g->in_w + x0) * g->in_c;
        for (; t < taps; ++t) tap[t] = corner + off[t];
      } else {
        for (int32_t ky = 0; ky < g->k_h; ++ky) {
          const int32_t iy = y0 + ky * g->dilation_h;
          for (int32_t kx = 0; kx < g->k_w; ++kx, ++t) {
            const int32_t ix = x0 + kx * g->dilation_w;
            tap[t] = (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w)
                         ? zp_row
                         : image + ((size_t)iy * g->in_w + ix) * g->in_c;
          }
        }
      }
      if (t % 2) tap[t] = tap[t - 1]; /* t < QIE_DW_MAX_TAPS, which is even */
      if (g->in_c == 1) pixel_fanout(tap, t, w, l.np, g->out_c, &rqa, fz, &rqk, out);
      else pixel(tap, t, w, l.np, g->out_c, &rqa, fz, &rqk, out);
    }
  }
}

const qie_qs8_conv_kernel qie_qs8_dwconv_nhwc_8c__avx2 = {
    "qs8_dwconv_nhwc_8c__avx2", supports, packed_bytes, pack, NULL, items, run};
#endif
