/* int8 conv (1x1 and im2col) and fully connected as one GEMM on vpdpbusd
 * (AVX-512 VNNI). Tile: 6 rows x up to 64 channels (24 zmm accumulators). A work
 * item is one tile; a thread packs the 6 A rows once per row block it visits. */
#if defined(__x86_64__)
#include <string.h>

#include "requant_avx512.h"

#define MR 6
#define NR 64

typedef struct {
  qie_gemm_shape s;
  int32_t kp, np, n_tiles; /* n_tiles: tiles across N */
  int all_fold;            /* every channel block's zero point folds (run time only) */
} plan;

static plan make_plan(qie_gemm_shape s) {
  plan p = {s, qie_round_up(s.K, 4), qie_round_up(s.N, 16), 0, 0};
  p.n_tiles = (p.np + NR - 1) / NR;
  return p;
}

static size_t packed_bytes(const plan* p) {
  return qie_rq_arrays_bytes(p->np) + qie_pack_b_vnni_bytes(p->s.K, p->s.N);
}

static void pack(const plan* p, const void* filter, const void* bias, void* packed) {
  memset(packed, 0, packed_bytes(p));
  const qie_rq_arrays a = qie_rq_arrays_at(packed, p->np);
  qie_rq_arrays_fill(a, p->s.rq, bias, p->s.N);
  const int8_t* w = filter;
  const uint32_t corr = (uint32_t)(128 + p->s.rq->input_zp);
  for (int32_t n = 0; n < p->s.N; ++n) {
    uint32_t sum = 0;
    for (int32_t k = 0; k < p->s.K; ++k) sum += (uint32_t)(int32_t)w[(size_t)n * p->s.K + k];
    a.bias[n] = (int32_t)((uint32_t)a.bias[n] - corr * sum);
  }
  qie_pack_b_vnni(w, p->s.K, p->s.N, (int8_t*)packed + qie_rq_arrays_bytes(p->np));
}

/* One tile of MR rows x NBK * 16 channels, accumulators in named registers
 * (an array of vectors would live on the stack). */
/* Accumulators start at the bias: one add fewer in the epilogue. */
#define ACC_ROW(r) __m512i c##r##0 = bz0, c##r##1 = bz1, c##r##2 = bz2, c##r##3 = bz3;
#define MAC_ROW(r)                                                                \
  {                                                                               \
    int32_t a4;                                                                   \
    memcpy(&a4, ap##r + (size_t)kg * 4, 4);                                        \
    const __m512i av = FLIP ? _mm512_xor_si512(_mm512_set1_epi32(a4), flip)       \
                            : _mm512_set1_epi32(a4);                              \
    c##r##0 = _mm512_dpbusd_epi32(c##r##0, av, b0);                               \
    if (NBK > 1) c##r##1 = _mm512_dpbusd_epi32(c##r##1, av, b1);                  \
    if (NBK > 2) c##r##2 = _mm512_dpbusd_epi32(c##r##2, av, b2);                  \
    if (NBK > 3) c##r##3 = _mm512_dpbusd_epi32(c##r##3, av, b3);                  \
  }
/* Epilogue column by column: one block's constants in registers for all rows. */
/* A full block is a plain store: the masked narrowing store is slow on some cores. */
#define STORE1(r, j)                                                              \
  if ((r) < rows) {                                                               \
    const __m128i q_ = qie_rq512_finish_ch(c##r##j, &ch, rqk);                    \
    int8_t* o_ = out + (size_t)(m0 + (r)) * N + n0 + 16 * j;                      \
    if (full) _mm_storeu_si128((__m128i*)o_, q_);                                 \
    else _mm_mask_storeu_epi8(o_, tail, q_);                                      \
  }
/* The common case, all six rows and 16 channels with the zero point folded, has
 * no branch per store: the clamps are picked once per column. */
#define FOLDED1(r, j, CMIN, CMAX)                                                  \
  _mm_storeu_si128((__m128i*)(out + (size_t)(m0 + (r)) * N + n0 + 16 * j),          \
                   qie_rq512_folded(c##r##j, &ch, rqk, CMIN, CMAX));
#define FOLDED_COL(j, CMIN, CMAX)                                                  \
  FOLDED1(0, j, CMIN, CMAX) FOLDED1(1, j, CMIN, CMAX) FOLDED1(2, j, CMIN, CMAX)     \
  FOLDED1(3, j, CMIN, CMAX) FOLDED1(4, j, CMIN, CMAX) FOLDED1(5, j, CMIN, CMAX)
#define STORE_COL(j)                                                              \
  if (NBK > j && n0 + 16 * j < N) {                                               \
    const qie_rq512_ch ch = qie_rq512_channels(rqa, n0 + 16 * j, rqk);            \
    const __mmask16 tail = qie_tail_mask16(N - n0 - 16 * j);                      \
    const bool full = N - n0 - 16 * j >= 16;                                      \
    if (full && rows == MR && ch.zp_folded) {                                     \
      switch (rqk->clamp_min * 2 + rqk->clamp_max) {                              \
        case 0: FOLDED_COL(j, 0, 0) break;                                        \
        case 1: FOLDED_COL(j, 0, 1) break;                                        \
        case 2: FOLDED_COL(j, 1, 0) break;                                        \
        default: FOLDED_COL(j, 1, 1) break;                                       \
      }                                                                           \
    } else {                                                                      \
      STORE1(0, j) STORE1(1, j) STORE1(2, j) STORE1(3, j) STORE1(4, j) STORE1(5, j) \
    }                                                                             \
  }

/* A full 6 x 64 tile whose blocks all fold: each column to int32 with its
 * constants in registers, then each row narrowed as 64 bytes at once, clamped
 * in int8 (saturation then clamp = clamp then saturation: the bounds are int8). */
#define WIDE_COL(j)                                                               \
  {                                                                               \
    const qie_rq512_ch ch = qie_rq512_channels(rqa, n0 + 16 * j, rqk);            \
    c0##j = qie_rq512_folded32(c0##j, &ch), c1##j = qie_rq512_folded32(c1##j, &ch); \
    c2##j = qie_rq512_folded32(c2##j, &ch), c3##j = qie_rq512_folded32(c3##j, &ch); \
    c4##j = qie_rq512_folded32(c4##j, &ch), c5##j = qie_rq512_folded32(c5##j, &ch); \
  }
#define WIDE_ROW(r)                                                               \
  {                                                                               \
    __m512i q_ = qie_narrow4_512(c##r##0, c##r##1, c##r##2, c##r##3);             \
    if (rqk->clamp_min) q_ = _mm512_max_epi8(q_, _mm512_set1_epi8((char)rqk_min)); \
    if (rqk->clamp_max) q_ = _mm512_min_epi8(q_, _mm512_set1_epi8((char)rqk_max)); \
    _mm512_storeu_si512(out + (size_t)(m0 + (r)) * N + n0, q_);                   \
  }

/* A rows: row r at a + min(r, valid - 1) * stride (rows past M repeat the last
 * valid one and are not stored). FLIP: A is the raw int8 input, flipped here. */
#define ROW_PTR(r) const uint8_t* ap##r = a + (size_t)((r) < valid ? (r) : valid - 1) * stride;
#define DEFINE_TILE(NBK_, FLIP_)                                                              \
  static QIE_AVX512 void tile##NBK_##_##FLIP_(const plan* p, const uint8_t* a, size_t stride,  \
                                   int32_t valid, const int8_t* b,                            \
                                   const qie_rq_arrays* rqa, const qie_rq512* rqk, int32_t m0, \
                                   int32_t n0, int8_t* out) {                                 \
    enum { NBK = NBK_, FLIP = FLIP_ };                                                        \
    const __m512i flip = _mm512_set1_epi8((char)0x80);                                        \
    ROW_PTR(0) ROW_PTR(1) ROW_PTR(2) ROW_PTR(3) ROW_PTR(4) ROW_PTR(5)                         \
    const __m512i z = _mm512_setzero_si512();                                                 \
    const int32_t* bias_ = rqa->bias + n0;                                                    \
    const __m512i bz0 = _mm512_loadu_si512(bias_);                                           \
    const __m512i bz1 = NBK > 1 ? _mm512_loadu_si512(bias_ + 16) : z;                         \
    const __m512i bz2 = NBK > 2 ? _mm512_loadu_si512(bias_ + 32) : z;                         \
    const __m512i bz3 = NBK > 3 ? _mm512_loadu_si512(bias_ + 48) : z;                         \
    ACC_ROW(0) ACC_ROW(1) ACC_ROW(2) ACC_ROW(3) ACC_ROW(4) ACC_ROW(5)                         \
    const int32_t kp = p->kp, N = p->s.N;                                                     \
    const size_t bblock = (size_t)kp * 16;                                                    \
    const int8_t* bb = b + (size_t)(n0 / 16) * bblock;                                        \
    for (int32_t kg = 0; kg < kp / 4; ++kg, bb += 64) {                                       \
      const __m512i b0 = _mm512_loadu_si512(bb);                                              \
      const __m512i b1 = NBK > 1 ? _mm512_loadu_si512(bb + bblock) : z;                       \
      const __m512i b2 = NBK > 2 ? _mm512_loadu_si512(bb + 2 * bblock) : z;                   \
      const __m512i b3 = NBK > 3 ? _mm512_loadu_si512(bb + 3 * bblock) : z;                   \
      MAC_ROW(0) MAC_ROW(1) MAC_ROW(2) MAC_ROW(3) MAC_ROW(4) MAC_ROW(5)                       \
    }                                                                                         \
    const int32_t rows = p->s.M - m0 < MR ? p->s.M - m0 : MR;                                 \
    if (NBK == 4 && p->all_fold && rows == MR && N - n0 >= 64) {                              \
      const int32_t rqk_min = p->s.rq->act_min, rqk_max = p->s.rq->act_max;                  \
      WIDE_COL(0) WIDE_COL(1) WIDE_COL(2) WIDE_COL(3)                                         \
      WIDE_ROW(0) WIDE_ROW(1) WIDE_ROW(2) WIDE_ROW(3) WIDE_ROW(4) WIDE_ROW(5)                 \
      return;                                                                                 \
    }                                                                                         \
    STORE_COL(0) STORE_COL(1) STORE_COL(2) STORE_COL(3)                                       \
  }

DEFINE_TILE(1, 0)
DEFINE_TILE(2, 0)
DEFINE_TILE(3, 0)
DEFINE_TILE(4, 0)
DEFINE_TILE(1, 1)
DEFINE_TILE(2, 1)
DEFINE_TILE(3, 1)
DEFINE_TILE(4, 1)

typedef void (*tile_fn)(const plan*, const uint8_t*, size_t, int32_t, const int8_t*,
                        const qie_rq_arrays*, const qie_rq512*, int32_t, int32_t, int8_t*);
static const tile_fn tiles[2][4] = {{tile1_0, tile2_0, tile3_0, tile4_0},
                                    {tile1_1, tile2_1, tile3_1, tile4_1}};

/* Direct A rows (1x1 conv, fully connected): flip to u8 64 bytes at a time. */
static QIE_AVX512 void pack_rows_direct(const qie_gemm_shape* s, const int8_t* input, int32_t m0,
                                        int32_t rows, int32_t kp, uint8_t* dst) {
  const __m512i flip = _mm512_set1_epi8((char)0x80);
  for (int32_t r = 0; r < rows; ++r, dst += kp) {
    const int32_t m = m0 + r;
    const int8_t* x = input + (size_t)m * s->K;
    for (int32_t k = 0; k < kp; k += 64) {
      const __mmask64 in = s->K - k >= 64 ? ~(__mmask64)0 : s->K > k ? (((__mmask64)1 << (s->K - k)) - 1) : 0;
      const __mmask64 outm = kp - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (kp - k)) - 1);
      const __m512i v = _mm512_maskz_xor_epi32(0xFFFF, _mm512_maskz_loadu_epi8(in, x + k), flip);
      /* bytes past K must be 0 (their weights are 0 too, but keep A deterministic) */
      _mm512_mask_storeu_epi8(dst + k, outm, _mm512_maskz_mov_epi8(in, v));
    }
  }
}

static inline QIE_AVX512 __mmask64 mask64(int32_t n) {
  return n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
}

/* n input bytes flipped to u8, or n padding bytes, 64 at a time. */
static inline QIE_AVX512 void copy_flip(uint8_t* dst, const int8_t* src, int32_t n) {
  const __m512i flip = _mm512_set1_epi8((char)0x80);
  for (int32_t i = 0; i < n; i += 64) {
    const __mmask64 m = mask64(n - i);
    _mm512_mask_storeu_epi8(dst + i, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + i), flip));
  }
}
static inline QIE_AVX512 void fill(uint8_t* dst, __m512i v, int32_t n) {
  for (int32_t i = 0; i < n; i += 64) _mm512_mask_storeu_epi8(dst + i, mask64(n - i), v);
}

/* im2col rows as u8 (x ^ 0x80; padding taps input_zp + 128; columns past K
 * zero) with vector copies: a filter row whose taps are adjacent pixels is one copy. */
static QIE_AVX512 void pack_rows_im2col(const qie_gemm_shape* s, const int8_t* input, int32_t m0,
                                        int32_t rows, int32_t kp, uint8_t* dst) {
  const qie_conv_geom* g = s->g;
  const __m512i pad = _mm512_set1_epi8((char)(uint8_t)(s->rq->input_zp + 128));
  const int32_t run = g->k_w * g->in_c, per_image = g->out_h * g->out_w;
  /* short filter rows (a first conv's few channels) go as plain 16-byte copies
   * when 16 bytes can be read there: each store's tail is overwritten by the next
   * filter row, the next A row or the column zeroing, or lands in the scratch's
   * slack (IM2COL_SLACK) */
  const int8_t* input_end = input + (size_t)g->batches * g->in_h * g->in_w * g->in_c;
  const bool short_runs = run <= 16;
  /* the first row's pixel by division, the next ones by stepping */
  int32_t b = m0 / per_image, oy = (m0 % per_image) / g->out_w, ox = m0 % g->out_w;
  for (int32_t r = 0; r < rows; ++r) {
    if (r > 0 && ++ox == g->out_w) {
      ox = 0;
      if (++oy == g->out_h) oy = 0, ++b;
    }
    uint8_t* d = dst + (size_t)r * kp;
    const int32_t y0 = oy * g->stride_h - g->pad_top, x0 = ox * g->stride_w - g->pad_left;
    const bool dense_x = g->dilation_w == 1 && x0 >= 0 && x0 + g->k_w <= g->in_w;
    for (int32_t ky = 0; ky < g->k_h; ++ky, d += run) {
      const int32_t iy = y0 + ky * g->dilation_h;
      if (iy < 0 || iy >= g->in_h) {
        fill(d, pad, run);
        continue;
      }
      const int8_t* row = input + ((size_t)b * g->in_h + iy) * g->in_w * g->in_c;
      if (dense_x) {
        const int8_t* src = row + (size_t)x0 * g->in_c;
        if (short_runs && input_end - src >= 16) {
          const __m128i v = _mm_loadu_si128((const __m128i*)src);
          _mm_storeu_si128((__m128i*)d, _mm_xor_si128(v, _mm_set1_epi8((char)0x80)));
        } else {
          copy_flip(d, src, run);
        }
        continue;
      }
      for (int32_t kx = 0; kx < g->k_w; ++kx) {
        const int32_t ix = x0 + kx * g->dilation_w;
        if (ix < 0 || ix >= g->in_w) fill(d + kx * g->in_c, pad, g->in_c);
        else copy_flip(d + kx * g->in_c, row + (size_t)ix * g->in_c, g->in_c);
      }
    }
    fill(dst + (size_t)r * kp + s->K, _mm512_setzero_si512(), kp - s->K);
  }
}

/* Direct rows (1x1 conv, fully connected) with K a multiple of 4 are read in
 * place: no scratch and no packing pass; the flip to u8 rides along with the
 * broadcast (an xor, which runs beside the vpdpbusd chain). */
static bool reads_in_place(const plan* p) {
  return p->s.rows == QIE_GEMM_ROWS_DIRECT && p->s.K % 4 == 0;
}

static QIE_AVX512 void run_tiles(const plan* p, const qie_kernel_args* args, int32_t begin,
                                 int32_t end, void* scratch) {
  uint8_t* a = scratch;
  const qie_rq_arrays rqa = qie_rq_arrays_at((void*)args->packed, p->np);
  const int8_t* b = (const int8_t*)args->packed + qie_rq_arrays_bytes(p->np);
  const qie_rq512 rqk = qie_rq512_make(p->s.rq);
  plan folded_plan = *p;
  folded_plan.all_fold = qie_rq512_all_fold(&rqa, p->np, &rqk);
  p = &folded_plan;
  const bool in_place = reads_in_place(p);
  int32_t packed_mt = -1;
  for (int32_t item = begin; item < end; ++item) {
    const int32_t mt = item / p->n_tiles, nt = item % p->n_tiles;
    const int32_t m0 = mt * MR;
    const int32_t valid = p->s.M - m0 < MR ? p->s.M - m0 : MR;
    if (!in_place && mt != packed_mt) {
      if (p->s.rows == QIE_GEMM_ROWS_DIRECT) pack_rows_direct(&p->s, args->input, m0, valid, p->kp, a);
      else pack_rows_im2col(&p->s, args->input, m0, valid, p->kp, a);
      packed_mt = mt;
    }
    const int32_t n0 = nt * NR;
    const int nbk = (p->np - n0) / 16 < 4 ? (p->np - n0) / 16 : 4;
    if (in_place)
      tiles[1][nbk - 1](p, (const uint8_t*)args->input + (size_t)m0 * p->s.K, (size_t)p->s.K, valid,
                        b, &rqa, &rqk, m0, n0, args->output);
    else
      tiles[0][nbk - 1](p, a, (size_t)p->kp, valid, b, &rqa, &rqk, m0, n0, args->output);
  }
}

static int32_t items_of(const plan* p) { return (p->s.M + MR - 1) / MR * p->n_tiles; }
#define IM2COL_SLACK 16
static size_t scratch_of(const plan* p) {
  if (reads_in_place(p)) return 0;
  return (size_t)(p->s.M < MR ? p->s.M : MR) * p->kp +
         (p->s.rows == QIE_GEMM_ROWS_IM2COL ? IM2COL_SLACK : 0);
}

/* ---- descriptors: conv 1x1, conv im2col, fully connected ---- */

#include "qs8_gemm_descriptors.h"
QIE_X86_GEMM_DESCRIPTORS(qs8_conv_nhwc_1x1_6x64__avx512vnni, qs8_conv_nhwc_im2col_6x64__avx512vnni,
                         qs8_fc_6x64__avx512vnni);
#endif
