/* Constant padding, written in output order one dimension at a time. */
#include <string.h>

#include "../shape_ops.h"

static uint8_t* fill(uint8_t* out, size_t n, const uint8_t* value, size_t es) {
  if (es == 1) {
    memset(out, value[0], n);
    return out + n;
  }
  for (size_t i = 0; i < n; ++i) memcpy(out + i * es, value, es);
  return out + n * es;
}

typedef struct {
  const qie_pad_params* p;
  const uint8_t* value;
  int dense_from; /* dims >= this one have no padding: their block is one memcpy */
  size_t out_inner[QIE_SHAPE_MAX_RANK]; /* output elements per index of dim d */
  size_t in_inner[QIE_SHAPE_MAX_RANK];
} pad_state;

static uint8_t* pad_dim(const pad_state* s, int d, const uint8_t* in, uint8_t* out) {
  const qie_pad_params* p = s->p;
  const size_t es = p->elem_size;
  out = fill(out, (size_t)p->before[d] * s->out_inner[d], s->value, es);
  if (d == p->rank - 1 || d + 1 >= s->dense_from) {
    const size_t bytes = (size_t)p->in_dims[d] * s->in_inner[d] * es;
    memcpy(out, in, bytes);
    out += bytes;
  } else {
    for (int32_t i = 0; i < p->in_dims[d]; ++i)
      out = pad_dim(s, d + 1, in + (size_t)i * s->in_inner[d] * es, out);
  }
  return fill(out, (size_t)p->after[d] * s->out_inner[d], s->value, es);
}

void qie_pad_ref(const qie_pad_params* p, const void* in, void* out, const void* pad_value) {
  if (p->rank == 0) {
    memcpy(out, in, p->elem_size);
    return;
  }
  pad_state s;
  s.p = p;
  s.value = (const uint8_t*)pad_value;
  size_t o = 1, i = 1;
  for (int d = p->rank - 1; d >= 0; --d) {
    s.out_inner[d] = o;
    s.in_inner[d] = i;
    o *= (size_t)p->before[d] + (size_t)p->in_dims[d] + (size_t)p->after[d];
    i *= (size_t)p->in_dims[d];
  }
  s.dense_from = p->rank;
  while (s.dense_from > 0 && p->before[s.dense_from - 1] == 0 && p->after[s.dense_from - 1] == 0)
    --s.dense_from;
  pad_dim(&s, 0, (const uint8_t*)in, (uint8_t*)out);
}
