/* MEAN as TFLite (Micro)'s reference computes it: walk the input row-major and
 * accumulate into the output element it reduces to, then divide/requantize. */
#include <string.h>

#include "../quant.h"
#include "../shape_ops.h"

/* Walks the input row-major a row (the last axis) at a time: ROW(in_index,
 * out_index, n, st) adds one row of n elements into the outputs out_index,
 * out_index + st, ... (st = 0 on a reduced last axis). Every output receives its
 * elements in input order, so float sums round as an element-by-element walk. */
#define QIE_REDUCE_ROWS(s, ROW)                                                    \
  do {                                                                             \
    int64_t idx_[QIE_SHAPE_MAX_RANK] = {0};                                        \
    int64_t o_ = 0;                                                                \
    const int last_ = (s)->rank - 1; /* -1: a scalar, one row of one */           \
    const size_t n_ = last_ >= 0 ? (size_t)(s)->in_dims[last_] : 1;                \
    const int64_t st_ = last_ >= 0 ? (s)->out_stride[last_] : 0;                   \
    for (size_t i_ = 0; n_ && i_ < (s)->in_elems; i_ += n_) {                      \
      ROW(i_, o_, n_, st_);                                                        \
      for (int d_ = last_ - 1; d_ >= 0; --d_) {                                    \
        if (++idx_[d_] < (s)->in_dims[d_]) {                                       \
          o_ += (s)->out_stride[d_];                                               \
          break;                                                                   \
        }                                                                          \
        o_ -= (idx_[d_] - 1) * (s)->out_stride[d_];                                \
        idx_[d_] = 0;                                                              \
      }                                                                            \
    }                                                                              \
  } while (0)

/* one row into sum[] (ACC: the accumulator type, CAST: an element's value) */
#define QIE_SUM_ROW(sum, in, ACC, CAST, i, o, n, st)                               \
  do {                                                                             \
    if ((st) == 0) {                                                               \
      ACC acc_ = (sum)[o];                                                         \
      for (size_t j_ = 0; j_ < (n); ++j_) acc_ += CAST((in)[(i) + j_]);            \
      (sum)[o] = acc_;                                                             \
    } else if ((st) == 1) { /* the last axis kept: a contiguous row of outputs */  \
      for (size_t j_ = 0; j_ < (n); ++j_) (sum)[(o) + j_] += CAST((in)[(i) + j_]);  \
    } else {                                                                       \
      for (size_t j_ = 0; j_ < (n); ++j_) (sum)[(o) + (int64_t)j_ * (st)] += CAST((in)[(i) + j_]); \
    }                                                                              \
  } while (0)

#define QIE_AS_FLOAT(x) (x)
#define QIE_AS_U32(x) ((uint32_t)(int32_t)(x))

void qie_mean_f32_ref(const qie_reduce_shape* s, const float* in, float* out) {
  for (size_t i = 0; i < s->out_elems; ++i) out[i] = 0.0f;
#define QIE_F32_ROW(i, o, n, st) QIE_SUM_ROW(out, in, float, QIE_AS_FLOAT, i, o, n, st)
  QIE_REDUCE_ROWS(s, QIE_F32_ROW);
#undef QIE_F32_ROW
  if (s->count <= 0) return;
  const float n = (float)s->count;
  for (size_t i = 0; i < s->out_elems; ++i) out[i] = out[i] / n;
}

void qie_mean_fold_count(int64_t count, int32_t* multiplier, int* shift) {
  if (count <= 0) return;
  /* floor(log2(count)), limited so the shifted multiplier fits in 63 bits and the
   * final right shift stays <= 31 */
  int k = 0;
  while (k < 62 && ((uint64_t)count >> (k + 1)) != 0) ++k;
  if (k > 32) k = 32;
  if (k > 31 + *shift) k = 31 + *shift;
  if (k < 0) k = 0;
  *multiplier = (int32_t)(((int64_t)*multiplier << k) / count);
  *shift -= k;
}

/* Shared by int8 and int16: sums wrap modulo 2^32 like TFLite's int32 accumulator. */
#define QIE_U32_ROW(i, o, n, st) QIE_SUM_ROW(sum, in, uint32_t, QIE_AS_U32, i, o, n, st)
#define QIE_MEAN_INT(T, TMIN, TMAX)                                                  \
  do {                                                                               \
    const qie_reduce_shape* s = &p->shape;                                           \
    uint32_t* sum = (uint32_t*)scratch;                                              \
    for (size_t i = 0; i < s->out_elems; ++i) {                                      \
      sum[i] = 0;                                                                    \
      out[i] = 0;                                                                    \
    }                                                                                \
    if (s->count <= 0) return;                                                       \
    QIE_REDUCE_ROWS(s, QIE_U32_ROW);                                                \
    const int64_t zp_total = (int64_t)p->in_zp * s->count;                           \
    for (size_t i = 0; i < s->out_elems; ++i) {                                      \
      const int32_t centered = (int32_t)(uint32_t)((uint64_t)(int32_t)sum[i] -       \
                                                   (uint64_t)zp_total);              \
      /* int64 so an extreme zero point cannot overflow the add */                  \
      int64_t v = (int64_t)qie_mul_by_quantized_multiplier(centered, p->multiplier,   \
                                                           p->shift) + p->out_zp;    \
      out[i] = (T)(v < (TMIN) ? (TMIN) : (v > (TMAX) ? (TMAX) : v));                 \
    }                                                                                \
  } while (0)

void qie_mean_s8_ref(const qie_mean_q_params* p, const int8_t* in, int8_t* out, int32_t* scratch) {
  QIE_MEAN_INT(int8_t, -128, 127);
}

void qie_mean_s16_ref(const qie_mean_q_params* p, const int16_t* in, int16_t* out,
                      int32_t* scratch) {
  QIE_MEAN_INT(int16_t, -32768, 32767);
}
