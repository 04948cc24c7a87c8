/* float32 convolution and fully connected on the aarch64 float GEMM. Pixels go
 * in tiles of four (one work item). The reference skips out-of-image taps rather
 * than adding zero times the weight (which differs for infinite weights), so a
 * tile touching the border is computed pixel by pixel the reference's way; tiles
 * inside the image gather their taps (or, for an unpadded 1x1, read them in
 * place) and run the GEMM. */
#include "f32_neon.h"

#if defined(QIE_NEON_F32_ENABLED)

static int64_t depth(const qie_conv_geom* g) { return (int64_t)g->k_h * g->k_w * g->in_c; }
static int64_t pixels(const qie_conv_geom* g) { return (int64_t)g->batches * g->out_h * g->out_w; }

static bool supports(const qie_f32_conv_params* p) {
  const qie_conv_geom* g = &p->g;
  if (g->filter_in_c != g->in_c) return false; /* grouped: reference */
  if (depth(g) > (1 << 24) || pixels(g) > (int64_t)INT32_MAX - QIE_NEON_MR) return false;
  return qie_neon_packed_fits(g->out_c, 2 * depth(g)); /* floats: twice int16 */
}

static bool is_direct_1x1(const qie_conv_geom* g) {
  return g->k_h == 1 && g->k_w == 1 && g->pad_top == 0 && g->pad_left == 0 &&
         (int64_t)(g->out_h - 1) * g->stride_h < g->in_h &&
         (int64_t)(g->out_w - 1) * g->stride_w < g->in_w;
}
static bool supports_1x1(const qie_f32_conv_params* p) {
  return supports(p) && is_direct_1x1(&p->g);
}

static size_t packed_bytes(const qie_f32_conv_params* p) {
  return qie_neon_f32_packed_bytes(p->g.out_c, (int32_t)depth(&p->g));
}
static void pack(const qie_f32_conv_params* p, const void* filter, const void* bias, void* packed) {
  qie_neon_f32_pack(p->g.out_c, (int32_t)depth(&p->g), (const float*)filter, (const float*)bias,
                    packed);
}
static size_t scratch_bytes(const qie_f32_conv_params* p) {
  return (size_t)QIE_NEON_MR * (size_t)depth(&p->g) * sizeof(float);
}
static int32_t items(const qie_f32_conv_params* p) {
  return (int32_t)((pixels(&p->g) + QIE_NEON_MR - 1) / QIE_NEON_MR);
}

typedef struct {
  int32_t b, y0, x0;
} origin;

static origin pixel_origin(const qie_conv_geom* g, int32_t pix) {
  const int32_t per_image = g->out_h * g->out_w;
  origin o;
  o.b = pix / per_image;
  const int32_t rem = pix - o.b * per_image, oy = rem / g->out_w, ox = rem - oy * g->out_w;
  o.y0 = oy * g->stride_h - g->pad_top;
  o.x0 = ox * g->stride_w - g->pad_left;
  return o;
}

static bool inside(const qie_conv_geom* g, origin o) {
  return o.y0 >= 0 && o.y0 + (g->k_h - 1) * g->dilation_h < g->in_h && o.x0 >= 0 &&
         o.x0 + (g->k_w - 1) * g->dilation_w < g->in_w;
}

static const float* tap(const qie_conv_geom* g, const float* input, origin o, int32_t ky,
                        int32_t kx) {
  const int32_t iy = o.y0 + ky * g->dilation_h, ix = o.x0 + kx * g->dilation_w;
  return input + (((size_t)o.b * g->in_h + iy) * g->in_w + ix) * g->in_c;
}

/* One border pixel, exactly as the reference loops. */
static void border_pixel(const qie_f32_conv_params* p, const qie_kernel_args* args, origin o,
                         float* out) {
  const qie_conv_geom* g = &p->g;
  const float* filter = (const float*)args->filter;
  const float* bias = (const float*)args->bias;
  for (int32_t oc = 0; oc < g->out_c; ++oc) {
    float total = 0.0f;
    for (int32_t ky = 0; ky < g->k_h; ++ky) {
      const int32_t iy = o.y0 + ky * g->dilation_h;
      if (iy < 0 || iy >= g->in_h) continue;
      for (int32_t kx = 0; kx < g->k_w; ++kx) {
        const int32_t ix = o.x0 + kx * g->dilation_w;
        if (ix < 0 || ix >= g->in_w) continue;
        const float* x = tap(g, (const float*)args->input, o, ky, kx);
        const float* w = filter + (((size_t)oc * g->k_h + ky) * g->k_w + kx) * g->in_c;
        for (int32_t ic = 0; ic < g->in_c; ++ic) total += x[ic] * w[ic];
      }
    }
    out[oc] = qie_clamp_f32(total + (bias ? bias[oc] : 0.0f), p->act_min, p->act_max);
  }
}

static void conv_run(const qie_f32_conv_params* p, const qie_kernel_args* args, int32_t begin,
                     int32_t end, void* scratch, bool direct) {
  const qie_conv_geom* g = &p->g;
  const int32_t k = (int32_t)depth(g);
  const int64_t total = pixels(g);
  const float* input = (const float*)args->input;
  float* output = (float*)args->output;
  const int32_t blocks = qie_neon_round_up(g->out_c, QIE_NEON_NR) / QIE_NEON_NR;
  for (int32_t item = begin; item < end; ++item) {
    const int32_t pix0 = item * QIE_NEON_MR;
    const int32_t mr = total - pix0 < QIE_NEON_MR ? (int32_t)(total - pix0) : QIE_NEON_MR;
    origin o[QIE_NEON_MR];
    bool all_inside = true;
    for (int32_t r = 0; r < mr; ++r) {
      o[r] = pixel_origin(g, pix0 + r);
      all_inside = all_inside && inside(g, o[r]);
    }
    if (!all_inside) {
      for (int32_t r = 0; r < mr; ++r)
        border_pixel(p, args, o[r], output + (size_t)(pix0 + r) * g->out_c);
      continue;
    }
    const float* a[QIE_NEON_MR];
    float* out[QIE_NEON_MR];
    for (int32_t r = 0; r < QIE_NEON_MR; ++r) {
      if (r >= mr) {
        a[r] = a[0], out[r] = out[0];
        continue;
      }
      if (direct) {
        a[r] = tap(g, input, o[r], 0, 0);
      } else {
        float* dst = (float*)scratch + (size_t)r * k;
        for (int32_t ky = 0; ky < g->k_h; ++ky)
          for (int32_t kx = 0; kx < g->k_w; ++kx, dst += g->in_c)
            memcpy(dst, tap(g, input, o[r], ky, kx), (size_t)g->in_c * sizeof(float));
        a[r] = (float*)scratch + (size_t)r * k;
      }
      out[r] = output + (size_t)(pix0 + r) * g->out_c;
    }
    qie_neon_f32_gemm(mr, k, a, args->packed, g->out_c, 0, blocks, p->act_min, p->act_max, out);
  }
}

static void run_1x1(const qie_f32_conv_params* p, const qie_kernel_args* a, int32_t begin,
                    int32_t end, void* scratch) {
  conv_run(p, a, begin, end, scratch, true);
}
static void run_im2col(const qie_f32_conv_params* p, const qie_kernel_args* a, int32_t begin,
                       int32_t end, void* scratch) {
  conv_run(p, a, begin, end, scratch, false);
}

const qie_f32_conv_kernel qie_f32_conv_nhwc_1x1__neon = {
    "f32_conv_nhwc_1x1_4x8__neon", supports_1x1, packed_bytes, pack, NULL, items, run_1x1};
const qie_f32_conv_kernel qie_f32_conv_nhwc_im2col__neon = {
    "f32_conv_nhwc_im2col_4x8__neon", supports, packed_bytes, pack, scratch_bytes, items,
    run_im2col};

/* ---- fully connected: up to four rows against 32 units per work item ---- */

#define FC_BLOCKS_PER_ITEM 4

static int32_t fc_blocks(const qie_f32_fc_params* p) {
  return qie_neon_round_up(p->units, QIE_NEON_NR) / QIE_NEON_NR;
}
static int32_t fc_chunks(const qie_f32_fc_params* p) {
  return (fc_blocks(p) + FC_BLOCKS_PER_ITEM - 1) / FC_BLOCKS_PER_ITEM;
}
static int32_t fc_tiles(const qie_f32_fc_params* p) {
  return (p->batches + QIE_NEON_MR - 1) / QIE_NEON_MR;
}
static bool fc_supports(const qie_f32_fc_params* p) {
  if (p->depth > (1 << 24) || p->units > (1 << 24)) return false;
  if ((int64_t)fc_tiles(p) * fc_chunks(p) > INT32_MAX) return false;
  return qie_neon_packed_fits(p->units, 2 * (int64_t)p->depth);
}
static size_t fc_packed_bytes(const qie_f32_fc_params* p) {
  return qie_neon_f32_packed_bytes(p->units, p->depth);
}
static void fc_pack(const qie_f32_fc_params* p, const void* w, const void* bias, void* packed) {
  qie_neon_f32_pack(p->units, p->depth, (const float*)w, (const float*)bias, packed);
}
static int32_t fc_items(const qie_f32_fc_params* p) { return fc_tiles(p) * fc_chunks(p); }

static void fc_run(const qie_f32_fc_params* p, const qie_kernel_args* args, int32_t begin,
                   int32_t end, void* scratch) {
  (void)scratch;
  const float* input = (const float*)args->input;
  float* output = (float*)args->output;
  const int32_t chunks = fc_chunks(p), blocks = fc_blocks(p);
  for (int32_t item = begin; item < end; ++item) {
    const int32_t tile = item / chunks, chunk = item - tile * chunks;
    const int32_t b0 = tile * QIE_NEON_MR;
    const int32_t mr = p->batches - b0 < QIE_NEON_MR ? p->batches - b0 : QIE_NEON_MR;
    const float* a[QIE_NEON_MR];
    float* out[QIE_NEON_MR];
    for (int32_t r = 0; r < QIE_NEON_MR; ++r) {
      const int32_t b = b0 + (r < mr ? r : 0);
      a[r] = input + (size_t)b * p->depth;
      out[r] = output + (size_t)b * p->units;
    }
    const int32_t nb0 = chunk * FC_BLOCKS_PER_ITEM;
    const int32_t nb1 = nb0 + FC_BLOCKS_PER_ITEM < blocks ? nb0 + FC_BLOCKS_PER_ITEM : blocks;
    qie_neon_f32_gemm(mr, p->depth, a, args->packed, p->units, nb0, nb1, p->act_min, p->act_max,
                      out);
  }
}

const qie_f32_fc_kernel qie_f32_fc__neon = {"f32_fc_4x8__neon", fc_supports, fc_packed_bytes,
                                            fc_pack, NULL, fc_items, fc_run};

#endif
