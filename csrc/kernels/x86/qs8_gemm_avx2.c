/* int8 conv (1x1 and im2col) and fully connected as one GEMM on vpmaddwd (AVX2):
 * A as int16 x - input_zp, B as int16 pairs. Tile: 6 rows x up to 16 channels:
 * 12 ymm accumulators + 2 B + the broadcast A + the product fill the 16 registers
 * exactly (with 4x24, 17 were needed and gcc kept an accumulator on the stack, a
 * store-to-load chain in the inner loop). A work item is one tile. */
#if defined(__x86_64__)
#include <string.h>

#include "requant_avx2.h"

#define MR 6
#define NR 16

/* Work order: the channel tiles are grouped into panels whose packed B fits
 * well inside L2; all row blocks run against one panel before the next, so a
 * layer whose B is larger than L2 (320 -> 1280 channels: 800 KB) reads it from
 * memory once instead of once per row block. A layer with a small B has one panel
 * and the plain row-major order. */
enum { PANEL_BYTES = 160 * 1024 };

typedef struct {
  qie_gemm_shape s;
  int32_t kp, np, n_tiles, m_tiles;
  int32_t panel_tiles; /* channel tiles per panel */
  bool b8; /* one row (fully connected at batch 1): B stays int8, widened as it is
            * read, since each weight is used once and B's size sets the time */
} plan;

static plan make_plan(qie_gemm_shape s) {
  plan p = {s, qie_round_up(s.K, 2), qie_round_up(s.N, 8), 0, (s.M + MR - 1) / MR, 0, s.M == 1};
  p.n_tiles = (p.np + NR - 1) / NR;
  const int32_t tile_bytes = NR * p.kp * (p.b8 ? 1 : (int32_t)sizeof(int16_t));
  p.panel_tiles = PANEL_BYTES / tile_bytes < 1 ? 1 : PANEL_BYTES / tile_bytes;
  if (p.panel_tiles > p.n_tiles) p.panel_tiles = p.n_tiles;
  return p;
}

/* Packed: [epilogue arrays][fused epilogue blocks][B]. */
static size_t fused_at(const plan* p) { return qie_rq_arrays_bytes(p->np); }
static size_t b_at(const plan* p) { return fused_at(p) + qie_rq_fused_bytes(p->np); }

static size_t packed_bytes(const plan* p) {
  return b_at(p) + (p->b8 ? qie_pack_b_i16_bytes(p->s.K, p->s.N) / sizeof(int16_t)
                          : qie_pack_b_i16_bytes(p->s.K, p->s.N));
}

static void pack(const plan* p, const void* filter, const void* bias, void* packed) {
  memset(packed, 0, packed_bytes(p));
  const qie_rq_arrays a = qie_rq_arrays_at(packed, p->np);
  qie_rq_arrays_fill(a, p->s.rq, bias, p->s.N);
  qie_rq_fused_fill(a, p->s.rq, p->s.N, p->np, (qie_rq_fused*)((char*)packed + fused_at(p)));
  if (p->b8) qie_pack_b_i8_pairs(filter, p->s.K, p->s.N, (int8_t*)packed + b_at(p));
  else qie_pack_b_i16(filter, p->s.K, p->s.N, (int16_t*)((char*)packed + b_at(p)));
}

/* accumulators start at the bias (the epilogue takes acc + bias) */
#define ACC_ROW(r) __m256i c##r##0 = bias0, c##r##1 = bias1;
#define MAC_ROW(r)                                                                          \
  {                                                                                         \
    int32_t a2;                                                                             \
    memcpy(&a2, ap##r + (size_t)kk * 2, 4);                                                 \
    const __m256i av = _mm256_set1_epi32(a2);                                               \
    c##r##0 = _mm256_add_epi32(c##r##0, _mm256_madd_epi16(av, b0));                         \
    if (NBK > 1) c##r##1 = _mm256_add_epi32(c##r##1, _mm256_madd_epi16(av, b1));            \
  }
#define VALUE(r, j)                                                                         \
  (FUSED ? qie_rq256_fused32(c##r##j, &fz->block[n0 / 8 + j], rqk)                          \
         : qie_rq256_value(c##r##j, rqa, n0 + 8 * j, rqk))
#define STORE1(r, j)                                                                        \
  if (NBK > j && n0 + 8 * j < N) qie_store8(o + n0 + 8 * j, qie_narrow8(VALUE(r, j)), N - n0 - 8 * j);
#define STORE_ROW(r)                                                                        \
  if ((r) < valid) {                                                                        \
    int8_t* o = out + (size_t)(m0 + (r)) * N;                                               \
    if (NBK == 2 && n0 + 16 <= N)                                                           \
      _mm_storeu_si128((__m128i*)(o + n0), qie_narrow16(VALUE(r, 0), VALUE(r, 1)));         \
    else {                                                                                  \
      STORE1(r, 0) STORE1(r, 1)                                                             \
    }                                                                                       \
  }
/* rows past M repeat the last valid row and are not stored */
#define ROW_PTR(r) const int16_t* ap##r = a + (size_t)((r) < valid ? (r) : valid - 1) * p->kp;

#define DEFINE_TILE(NBK_, FUSED_)                                                           \
  static QIE_AVX2 void tile##NBK_##_##FUSED_(const plan* p, const int16_t* a, int32_t valid, \
                                  const int16_t* b, const qie_rq_arrays* rqa,               \
                                  const qie_rq_fused* fz, const qie_rq256* rqk, int32_t m0, \
                                  int32_t n0, int8_t* out) {                                \
    enum { NBK = NBK_, FUSED = FUSED_ };                                                    \
    const __m256i z = _mm256_setzero_si256();                                               \
    const __m256i bias0 = _mm256_loadu_si256((const __m256i*)(rqa->bias + n0));             \
    const __m256i bias1 = NBK > 1 ? _mm256_loadu_si256((const __m256i*)(rqa->bias + n0 + 8)) : z; \
    ROW_PTR(0) ROW_PTR(1) ROW_PTR(2) ROW_PTR(3) ROW_PTR(4) ROW_PTR(5)                       \
    ACC_ROW(0) ACC_ROW(1) ACC_ROW(2) ACC_ROW(3) ACC_ROW(4) ACC_ROW(5)                       \
    const int32_t N = p->s.N;                                                               \
    const size_t bblock = (size_t)p->kp * 8; /* int16 per 8-channel block */               \
    const int16_t* bb = b + (size_t)(n0 / 8) * bblock;                                      \
    for (int32_t kk = 0; kk < p->kp / 2; ++kk, bb += 16) {                                  \
      const __m256i b0 = _mm256_loadu_si256((const __m256i*)bb);                            \
      const __m256i b1 = NBK > 1 ? _mm256_loadu_si256((const __m256i*)(bb + bblock)) : z;   \
      MAC_ROW(0) MAC_ROW(1) MAC_ROW(2) MAC_ROW(3) MAC_ROW(4) MAC_ROW(5)                     \
    }                                                                                       \
    STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5)           \
  }

DEFINE_TILE(1, 0)
DEFINE_TILE(2, 0)
DEFINE_TILE(1, 1)
DEFINE_TILE(2, 1)

/* One valid row (fully connected at batch 1, or the last row of a 7x7 layer's
 * 49): the 6-row tile would repeat it six times. Two accumulator sets over even
 * and odd k-pairs keep the adds independent. B8: B held as int8 (plan.b8). */
#define LOAD_B(at) (B8 ? _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)((const int8_t*)b + (at)))) \
                       : _mm256_loadu_si256((const __m256i*)((const int16_t*)b + (at))))
#define DEFINE_TILE_R1(NBK_, FUSED_, B8_)                                                   \
  static QIE_AVX2 void tile_r1_##NBK_##_##FUSED_##_##B8_(const plan* p, const int16_t* a,  \
                                  const void* b, const qie_rq_arrays* rqa,                  \
                                  const qie_rq_fused* fz, const qie_rq256* rqk, int32_t m0, \
                                  int32_t n0, int8_t* out) {                                \
    enum { NBK = NBK_, FUSED = FUSED_, B8 = B8_ };                                          \
    const __m256i z = _mm256_setzero_si256();                                               \
    __m256i c00 = _mm256_loadu_si256((const __m256i*)(rqa->bias + n0));                     \
    __m256i c01 = NBK > 1 ? _mm256_loadu_si256((const __m256i*)(rqa->bias + n0 + 8)) : z;   \
    __m256i d0 = z, d1 = z;                                                                 \
    const int32_t N = p->s.N, pairs = p->kp / 2;                                            \
    const size_t bblock = (size_t)p->kp * 8;                                                \
    size_t bb = (size_t)(n0 / 8) * bblock; /* in elements */                                \
    int32_t kk = 0;                                                                         \
    for (; kk + 2 <= pairs; kk += 2, bb += 32) {                                            \
      int32_t a2[2];                                                                        \
      memcpy(a2, a + (size_t)kk * 2, 8);                                                    \
      const __m256i av = _mm256_set1_epi32(a2[0]), aw = _mm256_set1_epi32(a2[1]);         \
      c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(av, LOAD_B(bb)));                       \
      d0 = _mm256_add_epi32(d0, _mm256_madd_epi16(aw, LOAD_B(bb + 16)));                    \
      if (NBK > 1) {                                                                        \
        c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(av, LOAD_B(bb + bblock)));            \
        d1 = _mm256_add_epi32(d1, _mm256_madd_epi16(aw, LOAD_B(bb + bblock + 16)));         \
      }                                                                                     \
    }                                                                                       \
    if (kk < pairs) {                                                                       \
      int32_t a2;                                                                           \
      memcpy(&a2, a + (size_t)kk * 2, 4);                                                   \
      const __m256i av = _mm256_set1_epi32(a2);                                             \
      c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(av, LOAD_B(bb)));                       \
      if (NBK > 1) c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(av, LOAD_B(bb + bblock))); \
    }                                                                                       \
    c00 = _mm256_add_epi32(c00, d0);                                                        \
    c01 = _mm256_add_epi32(c01, d1);                                                        \
    const int valid = 1;                                                                    \
    STORE_ROW(0)                                                                            \
  }

DEFINE_TILE_R1(1, 0, 0)
DEFINE_TILE_R1(2, 0, 0)
DEFINE_TILE_R1(1, 1, 0)
DEFINE_TILE_R1(2, 1, 0)
DEFINE_TILE_R1(1, 0, 1)
DEFINE_TILE_R1(2, 0, 1)
DEFINE_TILE_R1(1, 1, 1)
DEFINE_TILE_R1(2, 1, 1)
#undef LOAD_B

/* Direct A rows (1x1 conv, fully connected): x - input_zp as int16, 16 at a time. */
static QIE_AVX2 void pack_rows_direct(const qie_gemm_shape* s, const int8_t* input, int32_t m0,
                                      int32_t rows, int32_t kp, int16_t* dst) {
  const __m256i zp = _mm256_set1_epi16((short)s->rq->input_zp);
  for (int32_t r = 0; r < rows; ++r, dst += kp) {
    const int8_t* x = input + (size_t)(m0 + r) * s->K;
    int32_t k = 0;
    for (; k + 16 <= s->K; k += 16)
      _mm256_storeu_si256((__m256i*)(dst + k),
                          _mm256_sub_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(x + k))), zp));
    if (k + 8 <= s->K) { /* K = 8, 24, ...: the early layers of small models */
      _mm_storeu_si128((__m128i*)(dst + k), _mm_sub_epi16(_mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i*)(x + k))),
                                                         _mm256_castsi256_si128(zp)));
      k += 8;
    }
    for (; k < s->K; ++k) dst[k] = (int16_t)(x[k] - s->rq->input_zp);
    for (; k < kp; ++k) dst[k] = 0;
  }
}

/* A single direct row (fully connected at batch 1, the common case) widens into a
 * stack buffer instead of arena scratch: the arena then holds no more than the
 * int8 tensors themselves (micro_speech's FC would otherwise double its input). */
enum { SMALL_ROW_KP = 4096 };
static int small_row(const plan* p) { return p->s.rows == QIE_GEMM_ROWS_DIRECT && p->s.M == 1 && p->kp <= SMALL_ROW_KP; }
/* im2col A rows: output pixels m0.. in order, so (image, oy, ox) advance without
 * divisions; a filter row of adjacent input pixels (dilation 1, inside the
 * width) converts 8 bytes at a time; any other row goes to qie_pack_a_i16. */
static QIE_AVX2 void pack_rows_im2col(const qie_gemm_shape* s, const int8_t* input, int32_t m0,
                                      int32_t rows, int32_t kp, int16_t* dst) {
  const qie_conv_geom* g = s->g;
  const int32_t zp = s->rq->input_zp;
  const __m128i zpv = _mm_set1_epi16((short)zp);
  const int32_t per_image = g->out_h * g->out_w;
  int32_t b = m0 / per_image, oy = (m0 % per_image) / g->out_w, ox = m0 % g->out_w;
  const int32_t run = g->k_w * g->in_c;
  for (int32_t r = 0; r < rows; ++r, dst += kp) {
    const int32_t y0 = oy * g->stride_h - g->pad_top, x0 = ox * g->stride_w - g->pad_left;
    if (g->dilation_w == 1 && x0 >= 0 && x0 + g->k_w <= g->in_w) {
      int16_t* d = dst;
      for (int32_t ky = 0; ky < g->k_h; ++ky, d += run) {
        const int32_t iy = y0 + ky * g->dilation_h;
        if (iy < 0 || iy >= g->in_h) {
          memset(d, 0, sizeof(int16_t) * (size_t)run); /* a padding tap is x - zp = 0 */
          continue;
        }
        const int8_t* x = input + (((size_t)b * g->in_h + iy) * g->in_w + x0) * g->in_c;
        int32_t c = 0;
        for (; c + 8 <= run; c += 8)
          _mm_storeu_si128((__m128i*)(d + c),
                           _mm_sub_epi16(_mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i*)(x + c))), zpv));
        for (; c < run; ++c) d[c] = (int16_t)(x[c] - zp);
      }
      for (int32_t k = s->K; k < kp; ++k) dst[k] = 0;
    } else {
      qie_pack_a_i16(s, input, m0 + r, 1, kp, dst);
    }
    if (++ox == g->out_w) {
      ox = 0;
      if (++oy == g->out_h) oy = 0, ++b;
    }
  }
}

static QIE_AVX2 void run_tiles(const plan* p, const qie_kernel_args* args, int32_t begin,
                               int32_t end, void* scratch) {
  int16_t row[SMALL_ROW_KP] __attribute__((aligned(32)));
  int16_t* a = small_row(p) ? row : scratch;
  const qie_rq_arrays rqa = qie_rq_arrays_at((void*)args->packed, p->np);
  const qie_rq_fused* fz = (const qie_rq_fused*)((const char*)args->packed + fused_at(p));
  const int16_t* b = (const int16_t*)((const char*)args->packed + b_at(p));
  const qie_rq256 rqk = qie_rq256_make(p->s.rq);
  int32_t packed_mt = -1;
  /* item = (panel * m_tiles + mt) * panel_tiles + the tile in the panel; divided
   * once, then stepped (a division per tile cost as much as a short-K tile's MACs) */
  const int32_t per_panel = p->m_tiles * p->panel_tiles;
  int32_t panel = begin / per_panel, next_mt = begin % per_panel / p->panel_tiles,
          in_row = begin % p->panel_tiles;
  for (int32_t item = begin; item < end; ++item) {
    const int32_t mt = next_mt, nt = panel * p->panel_tiles + in_row;
    if (++in_row == p->panel_tiles) {
      in_row = 0;
      if (++next_mt == p->m_tiles) next_mt = 0, ++panel;
    }
    if (nt >= p->n_tiles) continue; /* the last panel may be narrower */
    const int32_t m0 = mt * MR;
    const int32_t valid = p->s.M - m0 < MR ? p->s.M - m0 : MR;
    if (mt != packed_mt) {
      if (p->s.rows == QIE_GEMM_ROWS_DIRECT) pack_rows_direct(&p->s, args->input, m0, valid, p->kp, a);
      else pack_rows_im2col(&p->s, args->input, m0, valid, p->kp, a);
      packed_mt = mt;
    }
    const int32_t n0 = nt * NR;
    const int nbk = (p->np - n0) / 8 < NR / 8 ? (p->np - n0) / 8 : NR / 8;
    if (valid == 1) {
      typedef void r1_fn(const plan*, const int16_t*, const void*, const qie_rq_arrays*, const qie_rq_fused*,
                         const qie_rq256*, int32_t, int32_t, int8_t*);
      static r1_fn* const r1[2][2][2] = {{{tile_r1_1_0_0, tile_r1_2_0_0}, {tile_r1_1_1_0, tile_r1_2_1_0}},
                                          {{tile_r1_1_0_1, tile_r1_2_0_1}, {tile_r1_1_1_1, tile_r1_2_1_1}}};
      r1[p->b8][fz->fused != 0][nbk == 2](p, a, b, &rqa, fz, &rqk, m0, n0, args->output);
    } else if (fz->fused) {
      if (nbk == 2) tile2_1(p, a, valid, b, &rqa, fz, &rqk, m0, n0, args->output);
      else tile1_1(p, a, valid, b, &rqa, fz, &rqk, m0, n0, args->output);
    } else {
      if (nbk == 2) tile2_0(p, a, valid, b, &rqa, fz, &rqk, m0, n0, args->output);
      else tile1_0(p, a, valid, b, &rqa, fz, &rqk, m0, n0, args->output);
    }
  }
}

static int32_t items_of(const plan* p) {
  const int32_t panels = (p->n_tiles + p->panel_tiles - 1) / p->panel_tiles;
  return panels * p->m_tiles * p->panel_tiles;
}
static size_t scratch_of(const plan* p) {
  if (small_row(p)) return 0;
  return sizeof(int16_t) * (size_t)(p->s.M < MR ? p->s.M : MR) * p->kp;
}

/* ---- descriptors: conv 1x1, conv im2col, fully connected ---- */

#include "qs8_gemm_descriptors.h"
QIE_X86_GEMM_DESCRIPTORS(qs8_conv_nhwc_1x1_6x16__avx2, qs8_conv_nhwc_im2col_6x16__avx2,
                         qs8_fc_6x16__avx2);
#endif
