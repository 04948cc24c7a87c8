/* Strided gather: the one loop behind strided slice and transpose. */
#include <string.h>

#include "../shape_ops.h"

static void copy_row(uint8_t* out, const uint8_t* in, int64_t n, int64_t step, size_t es) {
  if (step == 1) {
    memcpy(out, in, (size_t)n * es);
    return;
  }
  const int64_t step_bytes = step * (int64_t)es;
  switch (es) {
    case 1:
      for (int64_t i = 0; i < n; ++i) out[i] = in[i * step_bytes];
      break;
    default:
      for (int64_t i = 0; i < n; ++i) memcpy(out + (size_t)i * es, in + i * step_bytes, es);
      break;
  }
}

void qie_strided_gather_ref(const qie_gather_params* p, const void* in, void* out) {
  const size_t es = p->elem_size;
  const uint8_t* src = (const uint8_t*)in;
  uint8_t* dst = (uint8_t*)out;
  if (p->rank == 0) {
    memcpy(dst, src + p->start * (int64_t)es, es);
    return;
  }
  for (int d = 0; d < p->rank; ++d)
    if (p->count[d] <= 0) return;
  const int last = p->rank - 1;
  int64_t idx[QIE_SHAPE_MAX_RANK] = {0};
  int64_t offset = p->start; /* input element offset of idx */
  /* short byte rows (a transpose to channels-last): the last two dims as one
   * block, so the odometer moves once per block instead of once per row */
  const int block = es == 1 && last >= 1 && p->count[last] < 16 && p->step[last] != 1;
  const int outer_last = block ? last - 1 : last;
  for (;;) {
    if (block) {
      const uint8_t* base = src + offset;
      const int64_t n = p->count[last], step = p->step[last], rows = p->count[last - 1];
      const int64_t row_step = p->step[last - 1];
      if (n == 3) { /* RGB planes to pixels, a model's usual first op */
        for (int64_t r = 0; r < rows; ++r, base += row_step, dst += 3)
          dst[0] = base[0], dst[1] = base[step], dst[2] = base[2 * step];
      } else {
        for (int64_t r = 0; r < rows; ++r, base += row_step)
          for (int64_t i = 0; i < n; ++i) *dst++ = base[i * step];
      }
    } else {
      copy_row(dst, src + offset * (int64_t)es, p->count[last], p->step[last], es);
      dst += (size_t)p->count[last] * es;
    }
    /* odometer over the outer dims */
    int d = outer_last - 1;
    for (; d >= 0; --d) {
      if (++idx[d] < p->count[d]) {
        offset += p->step[d];
        break;
      }
      offset -= (idx[d] - 1) * p->step[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}
