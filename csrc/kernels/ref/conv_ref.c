/* Reference 2-D convolution, NHWC input, OHWI filter (optionally grouped).
 * Loop order follows TFLite's reference kernels: per output position and
 * channel, sum over filter y, filter x, input channel; then bias; then clamp. */
#include "../conv.h"

void qie_qs8_conv2d_nhwc__ref(const qie_qs8_conv_params* p, const int8_t* input,
                              const int8_t* filter, const int32_t* bias, int8_t* output) {
  const qie_conv_geom* g = &p->g;
  const int32_t groups = g->in_c / g->filter_in_c;
  const int32_t per_group = g->out_c / groups;
  int8_t* out = output;
  for (int32_t b = 0; b < g->batches; ++b) {
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
      const int32_t y0 = oy * g->stride_h - g->pad_top;
      for (int32_t ox = 0; ox < g->out_w; ++ox) {
        const int32_t x0 = ox * g->stride_w - g->pad_left;
        for (int32_t oc = 0; oc < g->out_c; ++oc) {
          const int32_t ic0 = (oc / per_group) * g->filter_in_c;
          /* unsigned: an absurd plan may overflow the sum; wrap instead of UB */
          uint32_t acc = 0;
          for (int32_t ky = 0; ky < g->k_h; ++ky) {
            const int32_t iy = y0 + ky * g->dilation_h;
            if (iy < 0 || iy >= g->in_h) continue;
            for (int32_t kx = 0; kx < g->k_w; ++kx) {
              const int32_t ix = x0 + kx * g->dilation_w;
              if (ix < 0 || ix >= g->in_w) continue;
              const int8_t* x = input + (((size_t)b * g->in_h + iy) * g->in_w + ix) * g->in_c + ic0;
              const int8_t* w = filter + (((size_t)oc * g->k_h + ky) * g->k_w + kx) * g->filter_in_c;
              for (int32_t ic = 0; ic < g->filter_in_c; ++ic)
                acc += (uint32_t)((x[ic] - p->rq.input_zp) * (w[ic] - p->rq.filter_zp));
            }
          }
          if (bias) acc += (uint32_t)bias[oc];
          *out++ = qie_requant_channel(&p->rq, (int32_t)acc, oc);
        }
      }
    }
  }
}

void qie_f32_conv2d_nhwc__ref(const qie_f32_conv_params* p, const float* input,
                              const float* filter, const float* bias, float* output) {
  const qie_conv_geom* g = &p->g;
  const int32_t groups = g->in_c / g->filter_in_c;
  const int32_t per_group = g->out_c / groups;
  float* out = output;
  for (int32_t b = 0; b < g->batches; ++b) {
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
      const int32_t y0 = oy * g->stride_h - g->pad_top;
      for (int32_t ox = 0; ox < g->out_w; ++ox) {
        const int32_t x0 = ox * g->stride_w - g->pad_left;
        for (int32_t oc = 0; oc < g->out_c; ++oc) {
          const int32_t ic0 = (oc / per_group) * g->filter_in_c;
          float total = 0.0f;
          for (int32_t ky = 0; ky < g->k_h; ++ky) {
            const int32_t iy = y0 + ky * g->dilation_h;
            if (iy < 0 || iy >= g->in_h) continue;
            for (int32_t kx = 0; kx < g->k_w; ++kx) {
              const int32_t ix = x0 + kx * g->dilation_w;
              if (ix < 0 || ix >= g->in_w) continue;
              const float* x = input + (((size_t)b * g->in_h + iy) * g->in_w + ix) * g->in_c + ic0;
              const float* w = filter + (((size_t)oc * g->k_h + ky) * g->k_w + kx) * g->filter_in_c;
              for (int32_t ic = 0; ic < g->filter_in_c; ++ic) total += x[ic] * w[ic];
            }
          }
          const float bv = bias ? bias[oc] : 0.0f;
          *out++ = qie_clamp_f32(total + bv, p->act_min, p->act_max);
        }
      }
    }
  }
}
