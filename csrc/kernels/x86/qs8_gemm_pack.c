/* ISA-free packing for the x86 int8 GEMM kernels (layouts in qs8_gemm.h). */
#if defined(__x86_64__)
#include <string.h>

#include "qs8_gemm.h"

qie_gemm_shape qie_gemm_from_conv(const qie_qs8_conv_params* p, int rows) {
  const qie_conv_geom* g = &p->g;
  qie_gemm_shape s = {g->batches * g->out_h * g->out_w, g->k_h * g->k_w * g->in_c, g->out_c, rows,
                      g, &p->rq};
  return s;
}

qie_gemm_shape qie_gemm_from_fc(const qie_qs8_fc_params* p) {
  qie_gemm_shape s = {p->batches, p->depth, p->units, QIE_GEMM_ROWS_DIRECT, NULL, &p->rq};
  return s;
}

bool qie_conv_is_pointwise(const qie_conv_geom* g) {
  return g->k_h == 1 && g->k_w == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_top == 0 &&
         g->pad_left == 0 && g->out_h == g->in_h && g->out_w == g->in_w;
}

bool qie_x86_requant_ok(const qie_qs8_requant* rq, int32_t channels) {
  if (rq->filter_zp != 0) return false;
  if (rq->mode == QIE_RQ_FLOAT) return true;
  for (int32_t c = 0; c < channels; ++c)
    if (rq->multiplier[c] < 0 || rq->shift[c] < -31 || rq->shift[c] > 30) return false;
  return true;
}

size_t qie_rq_arrays_bytes(int32_t np) { return 4 * sizeof(int32_t) * (size_t)np; }

qie_rq_arrays qie_rq_arrays_at(void* packed, int32_t np) {
  int32_t* base = packed;
  qie_rq_arrays a = {base, base + np, base + 2 * (size_t)np, base + 3 * (size_t)np};
  return a;
}

void qie_rq_arrays_fill(qie_rq_arrays a, const qie_qs8_requant* rq, const int32_t* bias_in,
                        int32_t n) {
  for (int32_t c = 0; c < n; ++c) {
    a.bias[c] = bias_in ? bias_in[c] : 0;
    if (rq->mode == QIE_RQ_FLOAT) {
      memcpy(&a.mult[c], &rq->scale[c], sizeof(float));
    } else {
      a.mult[c] = rq->multiplier[c];
      a.left[c] = rq->shift[c] > 0 ? rq->shift[c] : 0;
      a.right[c] = rq->shift[c] > 0 ? 0 : -rq->shift[c];
    }
  }
}

size_t qie_rq_fused_bytes(int32_t np) {
  return sizeof(qie_rq_fused) + sizeof(qie_rq_fused8) * (size_t)(np / 8);
}

/* Why one rounding equals the reference's two (fixed mode, multiplier m >= 0,
 * right shift r >= 1, so no left shift): with P = x * m, the reference computes
 * v = floor((P + 2^30) / 2^31), then v / 2^r rounded half away from zero, which
 * is floor((v + 2^(r-1) - [v < 0]) / 2^r). Since floor((floor(a / b) + h) / c) =
 * floor((a + h b) / (b c)) for integers, that is floor((P + 2^30 + 2^(30+r) -
 * [v < 0] 2^31) / 2^(31+r)). [v < 0] may be replaced by [P < 0]: they differ only
 * for P in [-2^30, 0), where v = 0 and both give floor((2^(r-1) - n) / 2^r) = 0.
 * Adding the output zero point inside, zp 2^(31+r), is exact (floor(a / b) + zp =
 * floor((a + zp b) / b)). Bounds: |P| < 2^62 and |2^30 + (1 + 2 zp) 2^(30+r)| <
 * 2^59 for r <= 20, so the 64-bit sum cannot overflow; its high 32 bits are
 * floor(t / 2^32), and an arithmetic shift by r - 1 finishes the division. The
 * result, v / 2^r + zp with |v| <= 2^31, fits 32 bits. A channel with m = 0 has
 * P = 0 and gives zp for any r, so it takes r = 1. */
void qie_rq_fused_fill(qie_rq_arrays a, const qie_qs8_requant* rq, int32_t n, int32_t np,
                       qie_rq_fused* out) {
  memset(out, 0, qie_rq_fused_bytes(np));
  /* the bounds below assume an int8 zero point */
  if (rq->mode != QIE_RQ_FIXED || rq->output_zp < -128 || rq->output_zp > 127) return;
  for (int32_t c = 0; c < n; ++c)
    if (a.mult[c] != 0 && (a.left[c] != 0 || a.right[c] < 1 || a.right[c] > QIE_RQ_FUSED_MAX_R)) return;
  out->fused = 1;
  for (int32_t c = 0; c < np; ++c) {
    qie_rq_fused8* b = &out->block[c / 8];
    const int32_t lane = c % 8;
    const int32_t m = c < n ? a.mult[c] : 0;
    const int32_t r = m != 0 ? a.right[c] : 1;
    const int64_t add = ((int64_t)1 << 30) + (1 + 2 * (int64_t)rq->output_zp) * ((int64_t)1 << (30 + r));
    b->mult[lane] = m;
    b->rm1[lane] = r - 1;
    if (lane % 2 == 0) {
      b->add_e[lane / 2] = add;
      b->addneg_e[lane / 2] = add - ((int64_t)1 << 31);
    } else {
      b->mult_odd[lane - 1] = m;
      b->add_o[lane / 2] = add;
      b->addneg_o[lane / 2] = add - ((int64_t)1 << 31);
    }
  }
}

size_t qie_pack_b_vnni_bytes(int32_t K, int32_t N) {
  return (size_t)qie_round_up(K, 4) * (size_t)qie_round_up(N, 16);
}

void qie_pack_b_vnni(const int8_t* w, int32_t K, int32_t N, int8_t* out) {
  const int32_t kp = qie_round_up(K, 4), np = qie_round_up(N, 16);
  memset(out, 0, (size_t)kp * np);
  for (int32_t n = 0; n < N; ++n)
    for (int32_t k = 0; k < K; ++k) {
      const size_t at = (((size_t)(n / 16) * (kp / 4) + k / 4) * 16 + n % 16) * 4 + k % 4;
      out[at] = w[(size_t)n * K + k];
    }
}

size_t qie_pack_b_i16_bytes(int32_t K, int32_t N) {
  return sizeof(int16_t) * (size_t)qie_round_up(K, 2) * (size_t)qie_round_up(N, 8);
}

/* where weight (n, k) goes in the vpmaddwd order */
static size_t pairs_at(int32_t kp, int32_t n, int32_t k) {
  return (((size_t)(n / 8) * (kp / 2) + k / 2) * 8 + n % 8) * 2 + k % 2;
}

void qie_pack_b_i16(const int8_t* w, int32_t K, int32_t N, int16_t* out) {
  const int32_t kp = qie_round_up(K, 2), np = qie_round_up(N, 8);
  memset(out, 0, sizeof(int16_t) * (size_t)kp * np);
  for (int32_t n = 0; n < N; ++n)
    for (int32_t k = 0; k < K; ++k) out[pairs_at(kp, n, k)] = w[(size_t)n * K + k];
}

void qie_pack_b_i8_pairs(const int8_t* w, int32_t K, int32_t N, int8_t* out) {
  const int32_t kp = qie_round_up(K, 2), np = qie_round_up(N, 8);
  memset(out, 0, (size_t)kp * np);
  for (int32_t n = 0; n < N; ++n)
    for (int32_t k = 0; k < K; ++k) out[pairs_at(kp, n, k)] = w[(size_t)n * K + k];
}

/* One im2col row: the patch of output pixel m in (ky, kx, ic) order, the OHWI
 * filter's order; taps outside the input get `pad`. */
#define IM2COL_ROW(T, CONVERT)                                                                \
  static void im2col_row_##T(const qie_conv_geom* g, const int8_t* input, int32_t m, int32_t zp, \
                             T pad, T* dst) {                                                  \
    const int32_t per_image = g->out_h * g->out_w;                                            \
    const int32_t b = m / per_image, oy = (m % per_image) / g->out_w, ox = m % g->out_w;      \
    const int32_t y0 = oy * g->stride_h - g->pad_top, x0 = ox * g->stride_w - g->pad_left;    \
    const int32_t run = g->k_w * g->in_c; /* one filter row's bytes */                        \
    const int dense_x = g->dilation_w == 1 && x0 >= 0 && x0 + g->k_w <= g->in_w;              \
    for (int32_t ky = 0; ky < g->k_h; ++ky) {                                                 \
      const int32_t iy = y0 + ky * g->dilation_h;                                             \
      if (iy < 0 || iy >= g->in_h) {                                                          \
        for (int32_t c = 0; c < run; ++c) dst[c] = pad;                                       \
        dst += run;                                                                           \
        continue;                                                                             \
      }                                                                                       \
      const int8_t* row = input + ((size_t)b * g->in_h + iy) * g->in_w * g->in_c;             \
      if (dense_x) { /* the filter row's taps are adjacent input pixels */                    \
        const int8_t* x = row + (size_t)x0 * g->in_c;                                         \
        for (int32_t c = 0; c < run; ++c) dst[c] = CONVERT(x[c], zp);                         \
        dst += run;                                                                           \
        continue;                                                                             \
      }                                                                                       \
      for (int32_t kx = 0; kx < g->k_w; ++kx) {                                               \
        const int32_t ix = x0 + kx * g->dilation_w;                                           \
        if (ix < 0 || ix >= g->in_w) {                                                        \
          for (int32_t c = 0; c < g->in_c; ++c) dst[c] = pad;                                 \
        } else {                                                                              \
          const int8_t* x = row + (size_t)ix * g->in_c;                                       \
          for (int32_t c = 0; c < g->in_c; ++c) dst[c] = CONVERT(x[c], zp);                   \
        }                                                                                     \
        dst += g->in_c;                                                                       \
      }                                                                                       \
    }                                                                                         \
  }

#define TO_I16(x, zp) ((int16_t)((x) - (zp)))
IM2COL_ROW(int16_t, TO_I16)

void qie_pack_a_i16(const qie_gemm_shape* s, const int8_t* input, int32_t m0, int32_t mr,
                    int32_t kp, int16_t* dst) {
  const int32_t zp = s->rq->input_zp;
  for (int32_t r = 0; r < mr; ++r, dst += kp) {
    const int32_t m = m0 + r;
    if (s->rows == QIE_GEMM_ROWS_IM2COL) {
      im2col_row_int16_t(s->g, input, m, zp, 0, dst);
    } else {
      const int8_t* x = input + (size_t)m * s->K;
      for (int32_t k = 0; k < s->K; ++k) dst[k] = (int16_t)(x[k] - zp);
    }
    for (int32_t k = s->K; k < kp; ++k) dst[k] = 0;
  }
}
#endif
