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

/* ---- the interior of a row: windows wholly inside the input ----
 * Channel blocks outside, output pixels inside: a block's paired weights stay in
 * registers across the row, every tap is at a fixed offset from the window's
 * corner (no tap table per pixel), and two pixels share one narrowing. Needs C a
 * multiple of 8 (every load stays inside its pixel's channels). */

/* the products of one 8-channel block at taps (t0, t1) */
static inline __attribute__((always_inline)) QIE_AVX2 __m256i mac_pair(__m256i acc, const int8_t* x0,
                                                                       const int8_t* x1, __m256i w) {
  const __m128i xy = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i*)x0), _mm_loadl_epi64((const __m128i*)x1));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_cvtepi8_epi16(xy), w));
}

/* a last odd tap: its weight pair is (w, 0), so a sign-extended int32 lane multiplies exactly */
static inline __attribute__((always_inline)) QIE_AVX2 __m256i mac_one(__m256i acc, const int8_t* x, __m256i w) {
  const __m256i x32 = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)x));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(x32, w));
}

/* Two 8-channel results: one 16-byte store when they are adjacent (C == 8), else two. */
static inline __attribute__((always_inline)) QIE_AVX2 void store_two(int8_t* o0, int8_t* o1, __m256i a, __m256i b) {
  const __m128i q = qie_narrow16(a, b);
  if (o1 == o0 + 8) {
    _mm_storeu_si128((__m128i*)o0, q);
  } else {
    _mm_storel_epi64((__m128i*)o0, q);
    _mm_storel_epi64((__m128i*)o1, _mm_unpackhi_epi64(q, q));
  }
}

/* 3x3: n pixels from `corner` (the first window's top-left, channel 0), `step`
 * bytes apart; rs / cs: the input offsets of one filter row / column. */
static QIE_AVX2 void span3x3(const int8_t* corner, int32_t n, ptrdiff_t step, ptrdiff_t rs, ptrdiff_t cs,
                             const int32_t* w, int32_t np, int32_t C, const qie_rq_arrays* rqa,
                             const qie_rq_fused* fz, const qie_rq256* rqk, int8_t* out) {
  for (int32_t c0 = 0; c0 < C; c0 += 8) {
    const __m256i w0 = _mm256_loadu_si256((const __m256i*)(w + c0));
    const __m256i w1 = _mm256_loadu_si256((const __m256i*)(w + (size_t)np + c0));
    const __m256i w2 = _mm256_loadu_si256((const __m256i*)(w + 2 * (size_t)np + c0));
    const __m256i w3 = _mm256_loadu_si256((const __m256i*)(w + 3 * (size_t)np + c0));
    const __m256i w4 = _mm256_loadu_si256((const __m256i*)(w + 4 * (size_t)np + c0));
    const __m256i bias = bias8(rqa, c0);
    const int8_t* x = corner + c0;
    int8_t* o = out + c0;
    /* taps in (ky, kx) order: (0,0)(0,1) (0,2)(1,0) (1,1)(1,2) (2,0)(2,1) (2,2) */
#define QIE_DW3X3(acc, r0)                                                          \
  {                                                                                 \
    const int8_t* r1 = r0 + rs;                                                     \
    const int8_t* r2 = r1 + rs;                                                     \
    acc = mac_pair(acc, r0, r0 + cs, w0);                                           \
    acc = mac_pair(acc, r0 + 2 * cs, r1, w1);                                       \
    acc = mac_pair(acc, r1 + cs, r1 + 2 * cs, w2);                                  \
    acc = mac_pair(acc, r2, r2 + cs, w3);                                           \
    acc = mac_one(acc, r2 + 2 * cs, w4);                                            \
  }
    int32_t i = 0;
    for (; i + 2 <= n; i += 2, x += 2 * step, o += 2 * (size_t)C) {
      __m256i a = bias, b = bias;
      QIE_DW3X3(a, x)
      QIE_DW3X3(b, x + step)
      store_two(o, o + C, requant(a, rqa, fz, c0, rqk), requant(b, rqa, fz, c0, rqk));
    }
    if (i < n) {
      __m256i a = bias;
      QIE_DW3X3(a, x)
      _mm_storel_epi64((__m128i*)o, qie_narrow8(requant(a, rqa, fz, c0, rqk)));
    }
#undef QIE_DW3X3
  }
}

/* 3x3 at stride 1 or 2 (dilation 1 across): neighbouring pixels share input
 * columns (two of three at stride 1, one at stride 2), so each column is widened
 * once for all the pixels that read it. A column is the pair (row 0, row 1) as
 * int16 pairs and row 2 sign-extended to int32; its weights are (w(0,kx),
 * w(1,kx)) and (w(2,kx), 0) (col3x3 below). Per pixel at stride 1: 3 widenings
 * instead of 9, for one more vpmaddwd (6). */
#define QIE_COL(pv, sv, at)                                                                       \
  const __m256i pv = _mm256_cvtepi8_epi16(                                                        \
      _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i*)(at)), _mm_loadl_epi64((const __m128i*)((at) + rs)))); \
  const __m256i sv = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)((at) + 2 * rs)));
#define QIE_PIX(pa, pb, pc, sa, sb, sc)                                                           \
  _mm256_add_epi32(                                                                               \
      _mm256_add_epi32(_mm256_add_epi32(bias, _mm256_madd_epi16(pa, p0w)),                        \
                       _mm256_add_epi32(_mm256_madd_epi16(pb, p1w), _mm256_madd_epi16(pc, p2w))), \
      _mm256_add_epi32(_mm256_madd_epi16(sa, s0w),                                                \
                       _mm256_add_epi32(_mm256_madd_epi16(sb, s1w), _mm256_madd_epi16(sc, s2w))))
#define QIE_COL_WEIGHTS                                                                           \
  const __m256i p0w = _mm256_loadu_si256((const __m256i*)(wcol + c0));                            \
  const __m256i p1w = _mm256_loadu_si256((const __m256i*)(wcol + (size_t)np + c0));               \
  const __m256i p2w = _mm256_loadu_si256((const __m256i*)(wcol + 2 * (size_t)np + c0));           \
  const __m256i s0w = _mm256_loadu_si256((const __m256i*)(wcol + 3 * (size_t)np + c0));           \
  const __m256i s1w = _mm256_loadu_si256((const __m256i*)(wcol + 4 * (size_t)np + c0));           \
  const __m256i s2w = _mm256_loadu_si256((const __m256i*)(wcol + 5 * (size_t)np + c0));           \
  const __m256i bias = bias8(rqa, c0);

/* n pixels from `corner` (channel 0 of the first window's top-left); column j of
 * the windows is at corner + j * C, a window row at + rs. Pixel i reads columns
 * S i .. S i + 2; two pixels at a time read S + 3 columns, of which the last 3 - S
 * are carried to the next two (the arrays live in registers once unrolled). */
static inline __attribute__((always_inline)) QIE_AVX2 void span3x3_cols(
    const int8_t* corner, int32_t n, ptrdiff_t rs, const int32_t* wcol, int32_t np, int32_t C,
    const qie_rq_arrays* rqa, const qie_rq_fused* fz, const qie_rq256* rqk, int8_t* out, const int S) {
  const int carried = 3 - S;
  for (int32_t c0 = 0; c0 < C; c0 += 8) {
    QIE_COL_WEIGHTS
    const int8_t* x = corner + c0;
    int8_t* o = out + c0;
    __m256i pc[5], sc[5]; /* columns: (row 0, row 1) pairs, row 2 */
#pragma GCC unroll 5
    for (int j = 0; j < carried; ++j) {
      QIE_COL(pj, sj, x + j * (size_t)C)
      pc[j] = pj, sc[j] = sj;
    }
    int32_t i = 0;
    for (; i + 2 <= n; i += 2, x += 2 * S * (size_t)C, o += 2 * (size_t)C) {
#pragma GCC unroll 5
      for (int j = carried; j < S + 3; ++j) {
        QIE_COL(pj, sj, x + j * (size_t)C)
        pc[j] = pj, sc[j] = sj;
      }
      const __m256i a = QIE_PIX(pc[0], pc[1], pc[2], sc[0], sc[1], sc[2]);
      const __m256i b = QIE_PIX(pc[S], pc[S + 1], pc[S + 2], sc[S], sc[S + 1], sc[S + 2]);
      store_two(o, o + C, requant(a, rqa, fz, c0, rqk), requant(b, rqa, fz, c0, rqk));
#pragma GCC unroll 5
      for (int j = 0; j < carried; ++j) pc[j] = pc[j + 2 * S], sc[j] = sc[j + 2 * S];
    }
    if (i < n) {
#pragma GCC unroll 5
      for (int j = carried; j < 3; ++j) {
        QIE_COL(pj, sj, x + j * (size_t)C)
        pc[j] = pj, sc[j] = sj;
      }
      const __m256i a = QIE_PIX(pc[0], pc[1], pc[2], sc[0], sc[1], sc[2]);
      _mm_storel_epi64((__m128i*)o, qie_narrow8(requant(a, rqa, fz, c0, rqk)));
    }
  }
}

static QIE_AVX2 void span3x3_s1(const int8_t* corner, int32_t n, ptrdiff_t rs, const int32_t* wcol,
                                int32_t np, int32_t C, const qie_rq_arrays* rqa, const qie_rq_fused* fz,
                                const qie_rq256* rqk, int8_t* out) {
  span3x3_cols(corner, n, rs, wcol, np, C, rqa, fz, rqk, out, 1);
}
static QIE_AVX2 void span3x3_s2(const int8_t* corner, int32_t n, ptrdiff_t rs, const int32_t* wcol,
                                int32_t np, int32_t C, const qie_rq_arrays* rqa, const qie_rq_fused* fz,
                                const qie_rq256* rqk, int8_t* out) {
  span3x3_cols(corner, n, rs, wcol, np, C, rqa, fz, rqk, out, 2);
}
#undef QIE_COL_WEIGHTS
#undef QIE_PIX
#undef QIE_COL

/* Any other window: the same order of work with the taps from off[] (an odd last
 * tap repeats the one before it, whose pair weight is 0). */
static QIE_AVX2 void span_any(const int8_t* corner, int32_t n, ptrdiff_t step, const ptrdiff_t* off,
                              int taps, const int32_t* w, int32_t np, int32_t C,
                              const qie_rq_arrays* rqa, const qie_rq_fused* fz, const qie_rq256* rqk,
                              int8_t* out) {
  const int pairs = (taps + 1) / 2;
  for (int32_t c0 = 0; c0 < C; c0 += 8) {
    const __m256i bias = bias8(rqa, c0);
    const int8_t* x = corner + c0;
    int8_t* o = out + c0;
    for (int32_t i = 0; i < n; ++i, x += step, o += C) {
      __m256i a = bias;
      for (int q = 0; q < pairs; ++q)
        a = mac_pair(a, x + off[2 * q], x + off[2 * q + 1],
                     _mm256_loadu_si256((const __m256i*)(w + (size_t)q * np + c0)));
      _mm_storel_epi64((__m128i*)o, qie_narrow8(requant(a, rqa, fz, c0, rqk)));
    }
  }
}

/* ---- one input channel fanned out (a first layer on a grey image), 3x3 ----
 * Eight output pixels at a time, each in one int32 lane: with stride 2 the
 * taps (ky, 0) and (ky, 1) of the eight pixels are 16 adjacent input bytes, so a
 * row of the window is two loads and two widenings for all eight pixels, then
 * each output channel is 6 vpmaddwd against its weights broadcast. The eight
 * channel vectors are requantized with the channel's constants in every lane and
 * transposed to pixel-major bytes. Up to FAN_MAX_C channels (a multiple of 8). */
enum { FAN_MAX_C = 32 };

typedef struct {
  int32_t w[FAN_MAX_C][6];            /* per row ky: (w(ky,0), w(ky,1)) and (w(ky,2), 0) */
  qie_rq_fused8 rq[FAN_MAX_C];        /* the channel's epilogue constants in all 8 lanes */
} fan_consts;

static bool fan_ok(const qie_conv_geom* g, const qie_rq_fused* fz) {
  return g->in_c == 1 && g->k_h == 3 && g->k_w == 3 && g->dilation_h == 1 && g->dilation_w == 1 &&
         (g->stride_w == 1 || g->stride_w == 2) && g->out_c % 8 == 0 && g->out_c <= FAN_MAX_C && fz->fused;
}

/* tap t of channel c from the packed pairs (w[2q], w[2q + 1]) */
static int32_t packed_tap(const int32_t* w, int32_t np, int t, int32_t c) {
  const uint32_t v = (uint32_t)w[(size_t)(t / 2) * np + c];
  return (int32_t)(int16_t)(uint16_t)(t % 2 ? v >> 16 : v & 0xFFFF);
}

static void fan_prepare(const int32_t* w, int32_t np, int32_t C, const qie_rq_fused* fz, fan_consts* k) {
  for (int32_t c = 0; c < C; ++c) {
    for (int ky = 0; ky < 3; ++ky) {
      k->w[c][2 * ky] = (int32_t)((uint32_t)(uint16_t)packed_tap(w, np, 3 * ky, c) |
                                  (uint32_t)(uint16_t)packed_tap(w, np, 3 * ky + 1, c) << 16);
      k->w[c][2 * ky + 1] = (int32_t)(uint32_t)(uint16_t)packed_tap(w, np, 3 * ky + 2, c);
    }
    const qie_rq_fused8* src = &fz->block[c / 8];
    const int lane = c % 8;
    qie_rq_fused8* d = &k->rq[c];
    for (int i = 0; i < 8; ++i) d->mult[i] = d->mult_odd[i] = src->mult[lane], d->rm1[i] = src->rm1[lane];
    for (int i = 0; i < 4; ++i) {
      d->add_e[i] = d->add_o[i] = lane % 2 ? src->add_o[lane / 2] : src->add_e[lane / 2];
      d->addneg_e[i] = d->addneg_o[i] = lane % 2 ? src->addneg_o[lane / 2] : src->addneg_e[lane / 2];
    }
  }
}

/* Eight pixels; r: the input at the first pixel's window corner (row stride in_w). */
static QIE_AVX2 void fan_group8(const int8_t* r, int32_t sw, ptrdiff_t in_w, const fan_consts* k,
                                const int32_t* bias, int32_t C, const qie_rq256* rqk, int8_t* out) {
  __m256i p01[3], p2[3];
  for (int ky = 0; ky < 3; ++ky, r += in_w) {
    if (sw == 2) {
      p01[ky] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)r));
      p2[ky] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(r + 2)));
    } else {
      const __m128i a = _mm_loadl_epi64((const __m128i*)r), b = _mm_loadl_epi64((const __m128i*)(r + 1));
      p01[ky] = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(a, b));
      p2[ky] = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i*)(r + 2)));
    }
  }
  const __m256i to_pixels = _mm256_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,
                                             0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  for (int32_t cb = 0; cb < C; cb += 8) {
    __m256i v[8];
    for (int j = 0; j < 8; ++j) {
      const int32_t* wc = k->w[cb + j];
      __m256i acc = _mm256_set1_epi32(bias[cb + j]);
      for (int ky = 0; ky < 3; ++ky) {
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p01[ky], _mm256_set1_epi32(wc[2 * ky])));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p2[ky], _mm256_set1_epi32(wc[2 * ky + 1])));
      }
      v[j] = qie_rq256_fused32(acc, &k->rq[cb + j], rqk);
    }
    /* channel-major (8 channels x 8 pixels) to pixel-major bytes */
    const __m256i c03 = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
    const __m256i c47 = _mm256_packs_epi16(_mm256_packs_epi32(v[4], v[5]), _mm256_packs_epi32(v[6], v[7]));
    const __m256i t0 = _mm256_shuffle_epi8(c03, to_pixels), t1 = _mm256_shuffle_epi8(c47, to_pixels);
    const __m256i lo = _mm256_unpacklo_epi32(t0, t1); /* pixels 0, 1 | 4, 5 */
    const __m256i hi = _mm256_unpackhi_epi32(t0, t1); /* pixels 2, 3 | 6, 7 */
    if (C == 8) {
      _mm256_storeu_si256((__m256i*)out, _mm256_permute2x128_si256(lo, hi, 0x20));
      _mm256_storeu_si256((__m256i*)(out + 32), _mm256_permute2x128_si256(lo, hi, 0x31));
    } else {
      int8_t* o = out + cb;
      const __m128i q[4] = {_mm256_castsi256_si128(lo), _mm256_castsi256_si128(hi), _mm256_extracti128_si256(lo, 1),
                            _mm256_extracti128_si256(hi, 1)};
      for (int i = 0; i < 4; ++i) {
        _mm_storel_epi64((__m128i*)(o + (size_t)(2 * i) * C), q[i]);
        _mm_storel_epi64((__m128i*)(o + (size_t)(2 * i + 1) * C), _mm_unpackhi_epi64(q[i], q[i]));
      }
    }
  }
}

static bool supports(const qie_qs8_conv_params* p) { return qie_dw_supported(p); }
/* Packed: the shared depthwise layout (qs8_dw_pack.h), then the fused epilogue
 * blocks (qs8_gemm.h), built from the final bias; a 3x3 window adds its weights
 * by column for span3x3_cols: [kx] (w(0,kx), w(1,kx)), then [kx] (w(2,kx), 0). */
static bool is3x3(const qie_conv_geom* g) { return g->k_h == 3 && g->k_w == 3; }
static size_t col3x3_at(qie_dw_layout l) { return qie_dw_packed_bytes(l) + qie_rq_fused_bytes(l.np); }
static size_t packed_bytes(const qie_qs8_conv_params* p) {
  const qie_dw_layout l = qie_dw_layout_of(p, 8);
  return col3x3_at(l) + (is3x3(&p->g) ? sizeof(int32_t) * 6 * (size_t)l.np : 0);
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
  if (is3x3(&p->g)) {
    int32_t* col = (int32_t*)((char*)o + col3x3_at(l));
    for (int kx = 0; kx < 3; ++kx)
      for (int32_t c = 0; c < l.np; ++c) {
        const uint32_t r0 = (uint16_t)packed_tap(w, l.np, kx, c), r1 = (uint16_t)packed_tap(w, l.np, 3 + kx, c);
        col[(size_t)kx * l.np + c] = (int32_t)(r0 | r1 << 16);
        col[(size_t)(3 + kx) * l.np + c] = (int32_t)(uint32_t)(uint16_t)packed_tap(w, l.np, 6 + kx, c);
      }
  }
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
  const int32_t* wcol = (const int32_t*)((const char*)a->packed + col3x3_at(l));
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
  if (taps % 2) off[taps] = off[taps - 1]; /* an odd last tap pairs with itself (weight 0) */
  const int32_t span_h = (g->k_h - 1) * g->dilation_h, span_w = (g->k_w - 1) * g->dilation_w;
  fan_consts fan;
  const bool fan8 = fan_ok(g, fz);
  if (fan8) fan_prepare(w, l.np, g->out_c, fz, &fan);
  /* output columns whose windows lie inside the input horizontally */
  const bool interior_ok = g->in_c != 1 && g->out_c % 8 == 0;
  const int32_t ox_in_lo = (g->pad_left + g->stride_w - 1) / g->stride_w;
  int32_t ox_in_hi = g->in_w - 1 - span_w + g->pad_left < 0 ? -1 : (g->in_w - 1 - span_w + g->pad_left) / g->stride_w;
  if (ox_in_hi > g->out_w - 1) ox_in_hi = g->out_w - 1;
  for (int32_t row = begin; row < end; ++row) {
    const int32_t b = row / g->out_h, oy = row % g->out_h;
    const int32_t y0 = oy * g->stride_h - g->pad_top;
    const int8_t* image = input + (size_t)b * g->in_h * g->in_w * g->in_c;
    int8_t* out = output + (size_t)row * g->out_w * g->out_c;
    const bool rows_inside = y0 >= 0 && y0 + span_h < g->in_h && ox_in_lo <= ox_in_hi;
    /* the interior span [ix_lo, ix_hi] of this row, when the fast path applies */
    int32_t ix_lo = g->out_w, ix_hi = -1;
    if (interior_ok && rows_inside) ix_lo = ox_in_lo, ix_hi = ox_in_hi;
    for (int32_t ox = 0; ox < g->out_w; ++ox, out += g->out_c) {
      /* groups of eight fanned-out pixels; with stride 2 the last load reads one
       * byte past the eighth window, which must still be inside the row */
      while (fan8 && rows_inside && ox >= ox_in_lo && ox + 7 <= ox_in_hi &&
             (ox + 7) * g->stride_w - g->pad_left + 2 + (g->stride_w == 2) < g->in_w) {
        const int8_t* r = image + (size_t)y0 * g->in_w + (ox * g->stride_w - g->pad_left);
        fan_group8(r, g->stride_w, g->in_w, &fan, rqa.bias, g->out_c, &rqk, out);
        ox += 8;
        out += (size_t)8 * g->out_c;
      }
      if (ox >= g->out_w) break;
      if (ox == ix_lo) {
        const int32_t n = ix_hi - ix_lo + 1;
        const int8_t* corner = image + ((size_t)y0 * g->in_w + (ox * g->stride_w - g->pad_left)) * g->in_c;
        const ptrdiff_t step = (ptrdiff_t)g->stride_w * g->in_c;
        const ptrdiff_t rs = (ptrdiff_t)g->dilation_h * g->in_w * g->in_c;
        if (is3x3(g) && g->stride_w == 1 && g->dilation_w == 1)
          span3x3_s1(corner, n, rs, wcol, l.np, g->out_c, &rqa, fz, &rqk, out);
        else if (is3x3(g) && g->stride_w == 2 && g->dilation_w == 1)
          span3x3_s2(corner, n, rs, wcol, l.np, g->out_c, &rqa, fz, &rqk, out);
        else if (is3x3(g))
          span3x3(corner, n, step, rs, (ptrdiff_t)g->dilation_w * g->in_c, w, l.np, g->out_c, &rqa, fz, &rqk, out);
        else
          span_any(corner, n, step, off, taps, w, l.np, g->out_c, &rqa, fz, &rqk, out);
        ox = ix_hi;
        out += (size_t)(n - 1) * g->out_c;
        continue;
      }
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
