/* Nearest-neighbour resize with TFLite's float index arithmetic. */
#include <math.h>
#include <string.h>

#include "../shape_ops.h"

int32_t qie_resize_nn_source(int32_t x, int32_t in_size, int32_t out_size, int align_corners,
                             int half_pixel_centers) {
  /* float, not double: the rounding of the index must match TFLite's */
  const float scale = (align_corners && out_size > 1)
                          ? (float)(in_size - 1) / (float)(out_size - 1)
                          : (float)in_size / (float)out_size;
  const float offset = half_pixel_centers ? 0.5f : 0.0f;
  const float pos = ((float)x + offset) * scale;
  int32_t v = align_corners ? (int32_t)roundf(pos) : (int32_t)floorf(pos);
  if (v > in_size - 1) v = in_size - 1;
  if (half_pixel_centers && v < 0) v = 0;
  return v;
}

void qie_resize_nn_ref(const qie_resize_nn_params* p, const void* in, void* out) {
  const size_t es = p->elem_size;
  const size_t row = (size_t)p->depth * es;
  const size_t in_row_bytes = (size_t)p->in_w * row;
  const size_t in_batch_bytes = (size_t)p->in_h * in_row_bytes;
  const uint8_t* src = (const uint8_t*)in;
  uint8_t* dst = (uint8_t*)out;
  for (int32_t b = 0; b < p->batches; ++b) {
    for (int32_t y = 0; y < p->out_h; ++y) {
      const int32_t iy =
          qie_resize_nn_source(y, p->in_h, p->out_h, p->align_corners, p->half_pixel_centers);
      const uint8_t* src_row = src + (size_t)b * in_batch_bytes + (size_t)iy * in_row_bytes;
      for (int32_t x = 0; x < p->out_w; ++x) {
        const int32_t ix =
            qie_resize_nn_source(x, p->in_w, p->out_w, p->align_corners, p->half_pixel_centers);
        memcpy(dst, src_row + (size_t)ix * row, row);
        dst += row;
      }
    }
  }
}
