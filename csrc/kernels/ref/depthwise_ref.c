/* Reference depthwise convolution, NHWC input, 1HW(C*M) filter: output channel
 * ic * depth_multiplier + m reads only input channel ic. Same accumulation order
 * as TFLite's reference (filter y, filter x; then bias; then clamp). */
#include "../conv.h"

void qie_qs8_dwconv2d_nhwc__ref(const qie_qs8_conv_params* p, const int8_t* input,
                                const int8_t* filter, const int32_t* bias, int8_t* output) {
  const qie_conv_geom* g = &p->g;
  for (int32_t b = 0; b < g->batches; ++b) {
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
      const int32_t y0 = oy * g->stride_h - g->pad_top;
      for (int32_t ox = 0; ox < g->out_w; ++ox) {
        const int32_t x0 = ox * g->stride_w - g->pad_left;
        int8_t* out = output + (((size_t)b * g->out_h + oy) * g->out_w + ox) * g->out_c;
        for (int32_t ic = 0; ic < g->in_c; ++ic) {
          for (int32_t m = 0; m < g->depth_multiplier; ++m) {
            const int32_t oc = ic * g->depth_multiplier + m;
            uint32_t acc = 0; /* wraps rather than overflowing on absurd plans */
            for (int32_t ky = 0; ky < g->k_h; ++ky) {
              const int32_t iy = y0 + ky * g->dilation_h;
              if (iy < 0 || iy >= g->in_h) continue;
              for (int32_t kx = 0; kx < g->k_w; ++kx) {
                const int32_t ix = x0 + kx * g->dilation_w;
                if (ix < 0 || ix >= g->in_w) continue;
                const int32_t x = input[(((size_t)b * g->in_h + iy) * g->in_w + ix) * g->in_c + ic];
                const int32_t w = filter[((size_t)ky * g->k_w + kx) * g->out_c + oc];
                acc += (uint32_t)((x - p->rq.input_zp) * (w - p->rq.filter_zp));
              }
            }
            if (bias) acc += (uint32_t)bias[oc];
            out[oc] = qie_requant_channel(&p->rq, (int32_t)acc, oc);
          }
        }
      }
    }
  }
}

void qie_f32_dwconv2d_nhwc__ref(const qie_f32_conv_params* p, const float* input,
                                const float* filter, const float* bias, float* output) {
  const qie_conv_geom* g = &p->g;
  for (int32_t b = 0; b < g->batches; ++b) {
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
      const int32_t y0 = oy * g->stride_h - g->pad_top;
      for (int32_t ox = 0; ox < g->out_w; ++ox) {
        const int32_t x0 = ox * g->stride_w - g->pad_left;
        float* out = output + (((size_t)b * g->out_h + oy) * g->out_w + ox) * g->out_c;
        for (int32_t ic = 0; ic < g->in_c; ++ic) {
          for (int32_t m = 0; m < g->depth_multiplier; ++m) {
            const int32_t oc = ic * g->depth_multiplier + m;
            float total = 0.0f;
            for (int32_t ky = 0; ky < g->k_h; ++ky) {
              const int32_t iy = y0 + ky * g->dilation_h;
              if (iy < 0 || iy >= g->in_h) continue;
              for (int32_t kx = 0; kx < g->k_w; ++kx) {
                const int32_t ix = x0 + kx * g->dilation_w;
                if (ix < 0 || ix >= g->in_w) continue;
                total += input[(((size_t)b * g->in_h + iy) * g->in_w + ix) * g->in_c + ic] *
                         filter[((size_t)ky * g->k_w + kx) * g->out_c + oc];
              }
            }
            const float bv = bias ? bias[oc] : 0.0f;
            out[oc] = qie_clamp_f32(total + bv, p->act_min, p->act_max);
          }
        }
      }
    }
  }
}
