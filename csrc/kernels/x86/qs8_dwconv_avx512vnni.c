/* int8 depthwise conv (depth multiplier 1), 16 channels per zmm, one vpdpwssd
 * per tap (AVX-512 VNNI). A work item is one output row. Each output pixel first
 * resolves its taps to input pixels, or to the zero-point row for padding. */
#if defined(__x86_64__)
#include "qs8_dw_pack.h"
#include "requant_avx512.h"

/* Input of tap t for 16 channels at x (mask m), sign-extended to int32 lanes. */
static inline QIE_AVX512 __m512i tap16(const int8_t* x, __mmask16 m) {
  return _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, x));
}

/* The same for a full block: one load-and-extend instruction. */
static inline QIE_AVX512 __m512i tap16_full(const int8_t* x) {
  return _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i*)x));
}

/* One output row, one 16-channel block at a time: the block's weights (for a
 * 3x3 window all nine, in registers) and epilogue constants are loaded once and
 * reused across the row; two pixels at a time keep two vpdpwssd chains busy.
 * Interior pixels address their taps as base + a fixed offset; border pixels take
 * the zero-point row for taps outside the input. */
typedef struct {
  const qie_conv_geom* g;
  const int32_t* w;
  int32_t np;
  const int8_t* zp_row;
  const qie_rq_arrays* rqa;
  const qie_rq512* rqk;
  int taps;
  int32_t act_min, act_max;
  ptrdiff_t off[QIE_DW_MAX_TAPS]; /* tap offsets from the window's top-left, in bytes */
} dw_ctx;

static inline __attribute__((always_inline)) QIE_AVX512 __m512i border_pixel(
    const dw_ctx* d, const int8_t* image, int32_t y0, int32_t x0, int32_t c0, __mmask16 m,
    int taps, int FANOUT) {
  const int32_t ci = FANOUT ? 0 : c0; /* the input channel block */
  const qie_conv_geom* g = d->g;
  __m512i acc = _mm512_setzero_si512();
  int t = 0;
  for (int32_t ky = 0; ky < g->k_h; ++ky) {
    const int32_t iy = y0 + ky * g->dilation_h;
    for (int32_t kx = 0; kx < g->k_w; ++kx, ++t) {
      const int32_t ix = x0 + kx * g->dilation_w;
      const int8_t* x = (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w)
                            ? d->zp_row + ci
                            : image + ((size_t)iy * g->in_w + ix) * g->in_c + ci;
      acc = _mm512_dpwssd_epi32(acc, FANOUT ? _mm512_set1_epi32(*x) : tap16(x, m),
                                _mm512_loadu_si512(d->w + (size_t)t * d->np + c0));
    }
  }
  (void)taps;
  return acc;
}

/* Border pixels of a row with at most BORDER_MAX of them and a 3x3 window: each
 * pixel's nine tap pointers (the zero-point row for taps outside the input) are
 * worked out once per row, not once per channel block. */
#define BORDER_MAX 64
typedef const int8_t* border_taps[9];

static inline __attribute__((always_inline)) QIE_AVX512 __m512i border_from_table(
    const dw_ctx* d, const int8_t* const* tap, int32_t ci, int32_t c0, __mmask16 m, int FANOUT) {
  __m512i acc = _mm512_setzero_si512();
#pragma GCC unroll 9
  for (int t = 0; t < 9; ++t)
    acc = _mm512_dpwssd_epi32(acc, FANOUT ? _mm512_set1_epi32(*(tap[t] + ci)) : tap16(tap[t] + ci, m),
                              _mm512_loadu_si512(d->w + (size_t)t * d->np + c0));
  return acc;
}

/* One 16-channel block of one output row. FULL: all 16 channels exist. FANOUT:
 * one input channel feeds every output channel (each tap is one byte, broadcast). */
static inline __attribute__((always_inline)) QIE_AVX512 void dw_block(
    const dw_ctx* d, const int8_t* image, int32_t y0, int8_t* out, int32_t c0, int32_t lo,
    int32_t hi, const border_taps* table, int TAPS, int FULL, int FANOUT) {
  const int32_t ci = FANOUT ? 0 : c0;
  const qie_conv_geom* g = d->g;
  const int taps = TAPS ? TAPS : d->taps;
  const __mmask16 m = qie_tail_mask16(g->out_c - c0);
  const qie_rq512_ch ch = qie_rq512_channels(d->rqa, c0, d->rqk);
  const size_t pixel_step = (size_t)g->stride_w * g->in_c;
  __m512i wv[9];
  if (TAPS == 9) {
#pragma GCC unroll 9
    for (int t = 0; t < 9; ++t) wv[t] = _mm512_loadu_si512(d->w + (size_t)t * d->np + c0);
  }
#define W(t) (TAPS == 9 ? wv[t] : _mm512_loadu_si512(d->w + (size_t)(t) * d->np + c0))
#define X(p) (FANOUT ? _mm512_set1_epi32(*(p)) : FULL ? tap16_full(p) : tap16(p, m))
#define STORE(ox, acc)                                                      \
  do {                                                                      \
    const __m128i q_ = qie_rq512_finish_ch(acc, &ch, d->rqk);               \
    if (FULL) _mm_storeu_si128((__m128i*)(out + (size_t)(ox) * g->out_c + c0), q_); \
    else _mm_mask_storeu_epi8(out + (size_t)(ox) * g->out_c + c0, m, q_);   \
  } while (0)
  int32_t ox = 0;
#define BORDER(ox, index)                                                            \
  (TAPS == 9 && table ? border_from_table(d, table[index], ci, c0, m, FANOUT)           \
                      : border_pixel(d, image, y0, (ox) * g->stride_w - g->pad_left, c0, m, taps, FANOUT))
  for (; ox < lo; ++ox) STORE(ox, _mm512_add_epi32(BORDER(ox, ox), ch.bias));
  const int8_t* base = image + ((ptrdiff_t)y0 * g->in_w + (ptrdiff_t)lo * g->stride_w - g->pad_left) * g->in_c + ci;
  if (TAPS == 9 && FULL && !FANOUT && g->stride_w == 1 && g->dilation_w == 1) {
    /* 3x3, stride 1: four adjacent pixels share six input columns per filter row,
     * so each input vector is loaded and extended once for up to three taps */
    const ptrdiff_t row_step = (ptrdiff_t)g->dilation_h * g->in_w * g->in_c;
    for (; ox + 3 < hi; ox += 4, base += 4 * pixel_step) {
      __m512i a0 = ch.bias, a1 = a0, a2 = a0, a3 = a0;
#pragma GCC unroll 3
      for (int ky = 0; ky < 3; ++ky) {
        const int8_t* r = base + ky * row_step;
        const __m512i x0 = tap16_full(r), x1 = tap16_full(r + g->in_c);
        const __m512i x2 = tap16_full(r + 2 * g->in_c), x3 = tap16_full(r + 3 * g->in_c);
        const __m512i x4 = tap16_full(r + 4 * g->in_c), x5 = tap16_full(r + 5 * g->in_c);
        const __m512i w0 = wv[3 * ky], w1 = wv[3 * ky + 1], w2 = wv[3 * ky + 2];
        a0 = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(_mm512_dpwssd_epi32(a0, x0, w0), x1, w1), x2, w2);
        a1 = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(_mm512_dpwssd_epi32(a1, x1, w0), x2, w1), x3, w2);
        a2 = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(_mm512_dpwssd_epi32(a2, x2, w0), x3, w1), x4, w2);
        a3 = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(_mm512_dpwssd_epi32(a3, x3, w0), x4, w1), x5, w2);
      }
      if (ch.zp_folded) {
        /* four pixels narrowed together, clamped in int8 */
        __m512i q = qie_narrow4_512(qie_rq512_folded32(a0, &ch), qie_rq512_folded32(a1, &ch),
                                    qie_rq512_folded32(a2, &ch), qie_rq512_folded32(a3, &ch));
        if (d->rqk->clamp_min) q = _mm512_max_epi8(q, _mm512_set1_epi8((char)d->act_min));
        if (d->rqk->clamp_max) q = _mm512_min_epi8(q, _mm512_set1_epi8((char)d->act_max));
        int8_t* o = out + (size_t)ox * g->out_c + c0;
        _mm_storeu_si128((__m128i*)o, _mm512_castsi512_si128(q));
        _mm_storeu_si128((__m128i*)(o + g->out_c), _mm512_extracti32x4_epi32(q, 1));
        _mm_storeu_si128((__m128i*)(o + 2 * g->out_c), _mm512_extracti32x4_epi32(q, 2));
        _mm_storeu_si128((__m128i*)(o + 3 * g->out_c), _mm512_extracti32x4_epi32(q, 3));
      } else {
        STORE(ox, a0);
        STORE(ox + 1, a1);
        STORE(ox + 2, a2);
        STORE(ox + 3, a3);
      }
    }
  }
  for (; ox + 1 < hi; ox += 2, base += 2 * pixel_step) {
    __m512i a0 = ch.bias, a1 = a0;
#pragma GCC unroll 9
    for (int t = 0; t < taps; ++t) {
      const __m512i w = W(t);
      a0 = _mm512_dpwssd_epi32(a0, X(base + d->off[t]), w);
      a1 = _mm512_dpwssd_epi32(a1, X(base + pixel_step + d->off[t]), w);
    }
    STORE(ox, a0);
    STORE(ox + 1, a1);
  }
  for (; ox < g->out_w; ++ox) {
    __m512i acc;
    if (ox < hi) {
      acc = ch.bias;
#pragma GCC unroll 9
      for (int t = 0; t < taps; ++t) acc = _mm512_dpwssd_epi32(acc, X(base + d->off[t]), W(t));
    } else {
      acc = _mm512_add_epi32(BORDER(ox, lo + (ox - hi)), ch.bias);
    }
    STORE(ox, acc);
  }
#undef W
#undef X
#undef STORE
#undef BORDER
}

static inline __attribute__((always_inline)) QIE_AVX512 void dw_row(const dw_ctx* d,
                                                                   const int8_t* image, int32_t y0,
                                                                   int8_t* out, int TAPS,
                                                                   int FANOUT) {
  const qie_conv_geom* g = d->g;
  const bool rows_inside = y0 >= 0 && y0 + (g->k_h - 1) * g->dilation_h < g->in_h;
  /* ox in [lo, hi): every tap inside horizontally */
  int32_t lo = 0, hi = 0;
  if (rows_inside) {
    lo = (g->pad_left + g->stride_w - 1) / g->stride_w;
    const int32_t last_x = g->in_w - 1 - (g->k_w - 1) * g->dilation_w; /* largest valid x0 */
    hi = last_x < -g->pad_left ? 0 : (last_x + g->pad_left) / g->stride_w + 1;
    if (hi > g->out_w) hi = g->out_w;
    if (lo > hi) lo = hi;
  }
  border_taps table[BORDER_MAX];
  const int32_t n_border = g->out_w - (hi - lo);
  const bool use_table = TAPS == 9 && n_border <= BORDER_MAX && g->out_c > 16;
  if (use_table) {
    for (int32_t i = 0; i < n_border; ++i) {
      const int32_t ox = i < lo ? i : hi + (i - lo);
      const int32_t x0 = ox * g->stride_w - g->pad_left;
      for (int32_t ky = 0, t = 0; ky < 3; ++ky) {
        const int32_t iy = y0 + ky * g->dilation_h;
        for (int32_t kx = 0; kx < 3; ++kx, ++t) {
          const int32_t ix = x0 + kx * g->dilation_w;
          table[i][t] = (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w)
                            ? d->zp_row
                            : image + ((size_t)iy * g->in_w + ix) * g->in_c;
        }
      }
    }
  }
  const border_taps* tbl = use_table ? table : NULL;
  int32_t c0 = 0;
  for (; c0 + 16 <= g->out_c; c0 += 16) dw_block(d, image, y0, out, c0, lo, hi, tbl, TAPS, 1, FANOUT);
  if (c0 < g->out_c) dw_block(d, image, y0, out, c0, lo, hi, tbl, TAPS, 0, FANOUT);
}

static QIE_AVX512 void dw_row9(const dw_ctx* d, const int8_t* image, int32_t y0, int8_t* out) {
  dw_row(d, image, y0, out, 9, 0);
}
static QIE_AVX512 void dw_row_n(const dw_ctx* d, const int8_t* image, int32_t y0, int8_t* out) {
  dw_row(d, image, y0, out, 0, 0);
}
static QIE_AVX512 void dw_row9_fanout(const dw_ctx* d, const int8_t* image, int32_t y0, int8_t* out) {
  dw_row(d, image, y0, out, 9, 1);
}
static QIE_AVX512 void dw_row_n_fanout(const dw_ctx* d, const int8_t* image, int32_t y0, int8_t* out) {
  dw_row(d, image, y0, out, 0, 1);
}

static bool supports(const qie_qs8_conv_params* p) { return qie_dw_supported(p); }
static size_t packed_bytes(const qie_qs8_conv_params* p) {
  return qie_dw_packed_bytes(qie_dw_layout_of(p, 16));
}
static void pack(const qie_qs8_conv_params* p, const void* f, const void* b, void* o) {
  qie_dw_pack(p, qie_dw_layout_of(p, 16), f, b, o);
}
static int32_t items(const qie_qs8_conv_params* p) { return p->g.batches * p->g.out_h; }

static QIE_AVX512 void dw_run(const qie_qs8_conv_params* p, const qie_kernel_args* a, int32_t begin,
                           int32_t end, void* scratch) {
  const qie_conv_geom* g = &p->g;
  const qie_dw_layout l = qie_dw_layout_of(p, 16);
  const qie_rq_arrays rqa = qie_rq_arrays_at((void*)a->packed, l.np);
  const qie_rq512 rqk = qie_rq512_make(&p->rq);
  dw_ctx d;
  d.g = g;
  d.w = qie_dw_weights(a->packed, l);
  d.np = l.np;
  d.zp_row = qie_dw_zp_row(a->packed, l);
  d.rqa = &rqa;
  d.rqk = &rqk;
  d.taps = l.taps;
  d.act_min = p->rq.act_min;
  d.act_max = p->rq.act_max;
  for (int32_t ky = 0, t = 0; ky < g->k_h; ++ky)
    for (int32_t kx = 0; kx < g->k_w; ++kx, ++t)
      d.off[t] = ((ptrdiff_t)ky * g->dilation_h * g->in_w + (ptrdiff_t)kx * g->dilation_w) * g->in_c;
  const int8_t* input = a->input;
  int8_t* output = a->output;
  const bool fanout = g->in_c == 1;
  for (int32_t row = begin; row < end; ++row) {
    const int32_t b = row / g->out_h, oy = row % g->out_h;
    const int32_t y0 = oy * g->stride_h - g->pad_top;
    const int8_t* image = input + (size_t)b * g->in_h * g->in_w * g->in_c;
    int8_t* out = output + (size_t)row * g->out_w * g->out_c;
    if (l.taps == 9) (fanout ? dw_row9_fanout : dw_row9)(&d, image, y0, out);
    else (fanout ? dw_row_n_fanout : dw_row_n)(&d, image, y0, out);
  }
}

const qie_qs8_conv_kernel qie_qs8_dwconv_nhwc_16c__avx512vnni = {
    "qs8_dwconv_nhwc_16c__avx512vnni", supports, packed_bytes, pack, NULL, items, dw_run};
#endif
