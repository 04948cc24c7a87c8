/* qs8 convolution as GEMM for both Arm families: output pixels in tiles of four
 * (one work item each) against all output channels. A 1x1 convolution without
 * padding reads its input pixels in place; any other shape first gathers each
 * pixel's taps (im2col) into the thread's scratch, writing the input zero point
 * for padded taps, which every micro-kernel turns into a zero contribution. */
#include "neon_common.h"

#if defined(QIE_NEON_ENABLED)

#include <stdint.h>

/* Filter depth per output channel; the packed layout indexes it in int32. */
static int64_t conv_depth(const qie_conv_geom* g) {
  return (int64_t)g->k_h * g->k_w * g->in_c;
}

static int64_t conv_pixels(const qie_conv_geom* g) {
  return (int64_t)g->batches * g->out_h * g->out_w;
}

static bool supports_common(const qie_qs8_conv_params* p) {
  const qie_conv_geom* g = &p->g;
  if (g->filter_in_c != g->in_c) return false; /* grouped convolution: reference */
  if (conv_depth(g) > (1 << 24) || conv_pixels(g) > (int64_t)INT32_MAX - QIE_NEON_MR) return false;
  if (!qie_neon_packed_fits(g->out_c, conv_depth(g))) return false;
  return qie_neon_requant_ok(&p->rq, g->out_c);
}

/* 1x1, unpadded, and every strided position inside the input. */
static bool is_direct_1x1(const qie_conv_geom* g) {
  return g->k_h == 1 && g->k_w == 1 && g->pad_top == 0 && g->pad_left == 0 &&
         (int64_t)(g->out_h - 1) * g->stride_h < g->in_h &&
         (int64_t)(g->out_w - 1) * g->stride_w < g->in_w;
}

static int32_t conv_items(const qie_qs8_conv_params* p) {
  return (int32_t)((conv_pixels(&p->g) + QIE_NEON_MR - 1) / QIE_NEON_MR);
}

static size_t im2col_scratch(const qie_qs8_conv_params* p) {
  return (size_t)QIE_NEON_MR * (size_t)qie_neon_round_up((int32_t)conv_depth(&p->g), 16);
}

/* Pixel index to (batch, row, column). */
static void pixel_coords(const qie_conv_geom* g, int32_t pix, int32_t* b, int32_t* oy,
                         int32_t* ox) {
  const int32_t per_image = g->out_h * g->out_w;
  *b = pix / per_image;
  const int32_t rem = pix - *b * per_image;
  *oy = rem / g->out_w;
  *ox = rem - *oy * g->out_w;
}

static void im2col_pixel(const qie_qs8_conv_params* p, const int8_t* input, int32_t pix,
                         int8_t* dst) {
  const qie_conv_geom* g = &p->g;
  int32_t b, oy, ox;
  pixel_coords(g, pix, &b, &oy, &ox);
  const int32_t y0 = oy * g->stride_h - g->pad_top, x0 = ox * g->stride_w - g->pad_left;
  const int8_t fill = (int8_t)p->rq.input_zp;
  for (int32_t ky = 0; ky < g->k_h; ++ky) {
    const int32_t iy = y0 + ky * g->dilation_h;
    for (int32_t kx = 0; kx < g->k_w; ++kx) {
      const int32_t ix = x0 + kx * g->dilation_w;
      if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w)
        memset(dst, fill, (size_t)g->in_c);
      else
        memcpy(dst, input + (((size_t)b * g->in_h + iy) * g->in_w + ix) * g->in_c,
               (size_t)g->in_c);
      dst += g->in_c;
    }
  }
}

static const int8_t* direct_pixel(const qie_conv_geom* g, const int8_t* input, int32_t pix) {
  int32_t b, oy, ox;
  pixel_coords(g, pix, &b, &oy, &ox);
  return input +
         (((size_t)b * g->in_h + (size_t)oy * g->stride_h) * g->in_w + (size_t)ox * g->stride_w) *
             g->in_c;
}

static void conv_run(const qie_qs8_conv_params* p, const qie_kernel_args* args, int32_t begin,
                     int32_t end, void* scratch, qie_neon_gemm_fn gemm, bool direct) {
  const qie_conv_geom* g = &p->g;
  const int32_t k = (int32_t)conv_depth(g);
  const int32_t row = qie_neon_round_up(k, 16);
  const int64_t pixels = conv_pixels(g);
  const int8_t* input = (const int8_t*)args->input;
  int8_t* output = (int8_t*)args->output;
  const int32_t blocks = qie_neon_round_up(g->out_c, QIE_NEON_NR) / QIE_NEON_NR;
  for (int32_t item = begin; item < end; ++item) {
    const int32_t pix0 = item * QIE_NEON_MR;
    const int32_t mr = pixels - pix0 < QIE_NEON_MR ? (int32_t)(pixels - pix0) : QIE_NEON_MR;
    const int8_t* a[QIE_NEON_MR];
    int8_t* out[QIE_NEON_MR];
    for (int32_t r = 0; r < QIE_NEON_MR; ++r) {
      if (r >= mr) {
        a[r] = a[0];
        out[r] = out[0];
        continue;
      }
      if (direct) {
        a[r] = direct_pixel(g, input, pix0 + r);
      } else {
        int8_t* dst = (int8_t*)scratch + (size_t)r * row;
        im2col_pixel(p, input, pix0 + r, dst);
        a[r] = dst;
      }
      out[r] = output + (size_t)(pix0 + r) * g->out_c;
    }
    gemm(mr, k, a, args->packed, g->out_c, 0, blocks, &p->rq, out);
  }
}

static bool mlal_supports(const qie_qs8_conv_params* p) { return supports_common(p); }
static bool mlal_supports_1x1(const qie_qs8_conv_params* p) {
  return supports_common(p) && is_direct_1x1(&p->g);
}
static size_t mlal_packed_bytes(const qie_qs8_conv_params* p) {
  return qie_neon_mlal_packed_bytes(p->g.out_c, (int32_t)conv_depth(&p->g));
}
static void mlal_pack(const qie_qs8_conv_params* p, const void* filter, const void* bias,
                      void* packed) {
  qie_neon_mlal_pack(&p->rq, p->g.out_c, (int32_t)conv_depth(&p->g), (const int8_t*)filter,
                     (const int32_t*)bias, packed);
}
static void mlal_run(const qie_qs8_conv_params* p, const qie_kernel_args* a, int32_t begin,
                     int32_t end, void* scratch) {
  conv_run(p, a, begin, end, scratch, qie_neon_mlal_gemm, false);
}
static void mlal_run_1x1(const qie_qs8_conv_params* p, const qie_kernel_args* a, int32_t begin,
                         int32_t end, void* scratch) {
  conv_run(p, a, begin, end, scratch, qie_neon_mlal_gemm, true);
}

const qie_qs8_conv_kernel qie_qs8_conv_nhwc_1x1__neon = {
    "qs8_conv_nhwc_1x1_" QIE_NEON_MLAL_TILE "__neon", mlal_supports_1x1, mlal_packed_bytes,
    mlal_pack, NULL, conv_items, mlal_run_1x1};
const qie_qs8_conv_kernel qie_qs8_conv_nhwc_im2col__neon = {
    "qs8_conv_nhwc_im2col_" QIE_NEON_MLAL_TILE "__neon", mlal_supports, mlal_packed_bytes,
    mlal_pack, im2col_scratch, conv_items, mlal_run};

/* The c8 kernel works in 16-deep steps: below 16 the padding would cost more than
 * the by-lane kernel's exact depth. */
static bool c8_supports(const qie_qs8_conv_params* p) {
  return supports_common(p) && conv_depth(&p->g) >= 16;
}
static bool c8_supports_1x1(const qie_qs8_conv_params* p) {
  return c8_supports(p) && is_direct_1x1(&p->g);
}
static size_t c8_packed_bytes(const qie_qs8_conv_params* p) {
  return qie_neon_c8_packed_bytes(p->g.out_c, (int32_t)conv_depth(&p->g));
}
static void c8_pack(const qie_qs8_conv_params* p, const void* filter, const void* bias,
                    void* packed) {
  qie_neon_c8_pack(&p->rq, p->g.out_c, (int32_t)conv_depth(&p->g), (const int8_t*)filter,
                   (const int32_t*)bias, packed);
}
static void c8_run(const qie_qs8_conv_params* p, const qie_kernel_args* a, int32_t begin,
                   int32_t end, void* scratch) {
  conv_run(p, a, begin, end, scratch, qie_neon_c8_gemm, false);
}
static void c8_run_1x1(const qie_qs8_conv_params* p, const qie_kernel_args* a, int32_t begin,
                       int32_t end, void* scratch) {
  conv_run(p, a, begin, end, scratch, qie_neon_c8_gemm, true);
}

const qie_qs8_conv_kernel qie_qs8_conv_nhwc_1x1_c8__neon = {
    "qs8_conv_nhwc_1x1_" QIE_NEON_C8_TILE "__neon", c8_supports_1x1, c8_packed_bytes, c8_pack,
    NULL, conv_items, c8_run_1x1};
const qie_qs8_conv_kernel qie_qs8_conv_nhwc_im2col_c8__neon = {
    "qs8_conv_nhwc_im2col_" QIE_NEON_C8_TILE "__neon", c8_supports, c8_packed_bytes, c8_pack,
    im2col_scratch, conv_items, c8_run};

#if defined(__aarch64__)
static bool dot_supports(const qie_qs8_conv_params* p) {
  return supports_common(p);
}
static bool dot_supports_1x1(const qie_qs8_conv_params* p) {
  return dot_supports(p) && is_direct_1x1(&p->g);
}
static size_t dot_packed_bytes(const qie_qs8_conv_params* p) {
  return qie_neondot_packed_bytes(p->g.out_c, (int32_t)conv_depth(&p->g));
}
static void dot_pack(const qie_qs8_conv_params* p, const void* filter, const void* bias,
                     void* packed) {
  qie_neondot_pack(&p->rq, p->g.out_c, (int32_t)conv_depth(&p->g), (const int8_t*)filter,
                   (const int32_t*)bias, packed);
}
static void dot_run(const qie_qs8_conv_params* p, const qie_kernel_args* a, int32_t begin,
                    int32_t end, void* scratch) {
  conv_run(p, a, begin, end, scratch, qie_neondot_gemm, false);
}
static void dot_run_1x1(const qie_qs8_conv_params* p, const qie_kernel_args* a, int32_t begin,
                        int32_t end, void* scratch) {
  conv_run(p, a, begin, end, scratch, qie_neondot_gemm, true);
}

const qie_qs8_conv_kernel qie_qs8_conv_nhwc_1x1__neondot = {
    "qs8_conv_nhwc_1x1_" QIE_NEONDOT_TILE "__neondot", dot_supports_1x1, dot_packed_bytes,
    dot_pack, NULL, conv_items, dot_run_1x1};
const qie_qs8_conv_kernel qie_qs8_conv_nhwc_im2col__neondot = {
    "qs8_conv_nhwc_im2col_" QIE_NEONDOT_TILE "__neondot", dot_supports, dot_packed_bytes,
    dot_pack, im2col_scratch, conv_items, dot_run};
#endif

#endif
