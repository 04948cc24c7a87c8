/* float32 depthwise convolution (depth multiplier 1), aarch64: four channels per
 * vector, taps in the reference's order with out-of-image taps skipped, each a
 * separate multiply and add, then bias and the reference's clamp. One work item
 * is one output row. */
#include "f32_neon.h"

#if defined(QIE_NEON_F32_ENABLED)

static bool dw_supports(const qie_f32_conv_params* p) {
  const qie_conv_geom* g = &p->g;
  if (g->depth_multiplier != 1 || g->out_c != g->in_c) return false;
  return (int64_t)g->batches * g->out_h <= INT32_MAX;
}

static int32_t dw_items(const qie_f32_conv_params* p) { return p->g.batches * p->g.out_h; }

static inline float32x4_t clamp4(float32x4_t v, float32x4_t lo, float32x4_t hi) {
  v = vbslq_f32(vcltq_f32(v, lo), lo, v);
  return vbslq_f32(vcltq_f32(hi, v), hi, v);
}

static inline float32x4_t load4(const float* src, int32_t n) {
  if (n >= 4) return vld1q_f32(src);
  float tmp[4] = {0};
  memcpy(tmp, src, (size_t)n * sizeof(float));
  return vld1q_f32(tmp);
}

static void dw_run(const qie_f32_conv_params* p, const qie_kernel_args* args, int32_t begin,
                   int32_t end, void* scratch) {
  (void)scratch;
  const qie_conv_geom* g = &p->g;
  const int32_t c = g->out_c;
  const float* input = (const float*)args->input;
  const float* filter = (const float*)args->filter;
  const float* bias = (const float*)args->bias;
  const float32x4_t lo = vdupq_n_f32(p->act_min), hi = vdupq_n_f32(p->act_max);
  for (int32_t item = begin; item < end; ++item) {
    const int32_t b = item / g->out_h, oy = item - b * g->out_h;
    const int32_t y0 = oy * g->stride_h - g->pad_top;
    const float* image = input + (size_t)b * g->in_h * g->in_w * c;
    float* out_row = (float*)args->output + (size_t)item * g->out_w * c;
    for (int32_t ox = 0; ox < g->out_w; ++ox) {
      const int32_t x0 = ox * g->stride_w - g->pad_left;
      for (int32_t ch = 0; ch < c; ch += 4) {
        const int32_t nc = c - ch < 4 ? c - ch : 4;
        float32x4_t acc = vdupq_n_f32(0.0f);
        for (int32_t ky = 0; ky < g->k_h; ++ky) {
          const int32_t iy = y0 + ky * g->dilation_h;
          if (iy < 0 || iy >= g->in_h) continue;
          for (int32_t kx = 0; kx < g->k_w; ++kx) {
            const int32_t ix = x0 + kx * g->dilation_w;
            if (ix < 0 || ix >= g->in_w) continue;
            const float32x4_t x = load4(image + ((size_t)iy * g->in_w + ix) * c + ch, nc);
            const float32x4_t w = load4(filter + ((size_t)ky * g->k_w + kx) * c + ch, nc);
            acc = vaddq_f32(acc, vmulq_f32(x, w));
          }
        }
        const float32x4_t bv = bias ? load4(bias + ch, nc) : vdupq_n_f32(0.0f);
        float tmp[4];
        vst1q_f32(tmp, clamp4(vaddq_f32(acc, bv), lo, hi));
        memcpy(out_row + (size_t)ox * c + ch, tmp, (size_t)nc * sizeof(float));
      }
    }
  }
}

const qie_f32_conv_kernel qie_f32_dwconv_nhwc__neon = {"f32_dwconv_nhwc_4c__neon", dw_supports,
                                                       NULL, NULL, NULL, dw_items, dw_run};

#endif
