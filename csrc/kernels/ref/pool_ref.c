/* Reference average and max pooling over NHWC. The window is clipped to the
 * input, so padded positions are neither summed nor counted. */
#include "../conv.h"

/* Clipped window [*start, *end) of filter offsets for one output coordinate. */
static inline void window(int32_t out_pos, int32_t stride, int32_t pad, int32_t k, int32_t in,
                          int32_t* origin, int32_t* start, int32_t* end) {
  const int32_t o = out_pos * stride - pad;
  *origin = o;
  *start = o < 0 ? -o : 0;
  *end = in - o < k ? in - o : k;
}

void qie_qs8_avgpool2d_nhwc__ref(const qie_qs8_pool_params* p, const int8_t* input,
                                 int8_t* output) {
  const qie_pool_geom* g = &p->g;
  int8_t* out = output;
  for (int32_t b = 0; b < g->batches; ++b) {
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
      int32_t y0, ys, ye;
      window(oy, g->stride_h, g->pad_top, g->k_h, g->in_h, &y0, &ys, &ye);
      for (int32_t ox = 0; ox < g->out_w; ++ox) {
        int32_t x0, xs, xe;
        window(ox, g->stride_w, g->pad_left, g->k_w, g->in_w, &x0, &xs, &xe);
        for (int32_t c = 0; c < g->channels; ++c) {
          int32_t sum = 0, count = 0; /* prepare bounds the window so this cannot overflow */
          for (int32_t ky = ys; ky < ye; ++ky)
            for (int32_t kx = xs; kx < xe; ++kx) {
              sum += input[(((size_t)b * g->in_h + y0 + ky) * g->in_w + x0 + kx) * g->channels + c];
              ++count;
            }
          /* divide rounding half away from zero (C division truncates) */
          int32_t avg = 0;
          if (count > 0) avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
          *out++ = (int8_t)qie_clamp_i32(avg, p->act_min, p->act_max);
        }
      }
    }
  }
}

void qie_f32_avgpool2d_nhwc__ref(const qie_f32_pool_params* p, const float* input, float* output) {
  const qie_pool_geom* g = &p->g;
  float* out = output;
  for (int32_t b = 0; b < g->batches; ++b) {
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
      int32_t y0, ys, ye;
      window(oy, g->stride_h, g->pad_top, g->k_h, g->in_h, &y0, &ys, &ye);
      for (int32_t ox = 0; ox < g->out_w; ++ox) {
        int32_t x0, xs, xe;
        window(ox, g->stride_w, g->pad_left, g->k_w, g->in_w, &x0, &xs, &xe);
        for (int32_t c = 0; c < g->channels; ++c) {
          float sum = 0.0f, count = 0.0f;
          for (int32_t ky = ys; ky < ye; ++ky)
            for (int32_t kx = xs; kx < xe; ++kx) {
              sum += input[(((size_t)b * g->in_h + y0 + ky) * g->in_w + x0 + kx) * g->channels + c];
              count += 1.0f;
            }
          const float avg = count > 0.0f ? sum / count : 0.0f;
          *out++ = qie_clamp_f32(avg, p->act_min, p->act_max);
        }
      }
    }
  }
}

void qie_qs8_maxpool2d_nhwc__ref(const qie_qs8_pool_params* p, const int8_t* input,
                                 int8_t* output) {
  const qie_pool_geom* g = &p->g;
  int8_t* out = output;
  for (int32_t b = 0; b < g->batches; ++b) {
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
      int32_t y0, ys, ye;
      window(oy, g->stride_h, g->pad_top, g->k_h, g->in_h, &y0, &ys, &ye);
      for (int32_t ox = 0; ox < g->out_w; ++ox) {
        int32_t x0, xs, xe;
        window(ox, g->stride_w, g->pad_left, g->k_w, g->in_w, &x0, &xs, &xe);
        for (int32_t c = 0; c < g->channels; ++c) {
          int32_t mx = INT8_MIN; /* an empty window yields the lowest value, then clamps */
          for (int32_t ky = ys; ky < ye; ++ky)
            for (int32_t kx = xs; kx < xe; ++kx) {
              const int32_t v =
                  input[(((size_t)b * g->in_h + y0 + ky) * g->in_w + x0 + kx) * g->channels + c];
              if (v > mx) mx = v;
            }
          *out++ = (int8_t)qie_clamp_i32(mx, p->act_min, p->act_max);
        }
      }
    }
  }
}

void qie_f32_maxpool2d_nhwc__ref(const qie_f32_pool_params* p, const float* input, float* output) {
  const qie_pool_geom* g = &p->g;
  float* out = output;
  for (int32_t b = 0; b < g->batches; ++b) {
    for (int32_t oy = 0; oy < g->out_h; ++oy) {
      int32_t y0, ys, ye;
      window(oy, g->stride_h, g->pad_top, g->k_h, g->in_h, &y0, &ys, &ye);
      for (int32_t ox = 0; ox < g->out_w; ++ox) {
        int32_t x0, xs, xe;
        window(ox, g->stride_w, g->pad_left, g->k_w, g->in_w, &x0, &xs, &xe);
        for (int32_t c = 0; c < g->channels; ++c) {
          float mx = -3.40282347e38f; /* numeric lowest, as TFLite starts from */
          for (int32_t ky = ys; ky < ye; ++ky)
            for (int32_t kx = xs; kx < xe; ++kx) {
              const float v =
                  input[(((size_t)b * g->in_h + y0 + ky) * g->in_w + x0 + kx) * g->channels + c];
              /* std::max(mx, v) keeps mx unless mx < v */
              if (mx < v) mx = v;
            }
          *out++ = qie_clamp_f32(mx, p->act_min, p->act_max);
        }
      }
    }
  }
}
