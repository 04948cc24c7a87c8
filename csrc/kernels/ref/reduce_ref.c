/* MEAN as TFLite (Micro)'s reference computes it: walk the input row-major and
 * accumulate into the output element it reduces to, then divide/requantize. */
#include <string.h>

#include "../quant.h"
#include "../shape_ops.h"

/* Calls body(in_index, out_index) for every input element in row-major order. */
#define QIE_REDUCE_WALK(s, BODY)                                        \
  do {                                                                  \
    int64_t idx_[QIE_SHAPE_MAX_RANK] = {0};                             \
    int64_t o_ = 0;                                                     \
    const int last_ = (s)->rank - 1;                                    \
    for (size_t i_ = 0; i_ < (s)->in_elems; ++i_) {                     \
      BODY;                                                             \
      for (int d_ = last_; d_ >= 0; --d_) {                             \
        if (++idx_[d_] < (s)->in_dims[d_]) {                            \
          o_ += (s)->out_stride[d_];                                    \
          break;                                                        \
        }                                                               \
        o_ -= (idx_[d_] - 1) * (s)->out_stride[d_];                     \
        idx_[d_] = 0;                                                   \
      }                                                                 \
    }                                                                   \
  } while (0)

/* The same walk a row (the last axis) at a time, for the integer means, whose
 * wrapping sums do not depend on the order: ROW(in_index, out_index, n) adds one
 * row of n elements; no per-element index arithmetic. */
#define QIE_REDUCE_ROWS(s, ROW)                                         \
  do {                                                                  \
    int64_t idx_[QIE_SHAPE_MAX_RANK] = {0};                             \
    int64_t o_ = 0;                                                     \
    const int last_ = (s)->rank - 1;                                    \
    const size_t n_ = (size_t)(s)->in_dims[last_];                      \
    for (size_t i_ = 0; n_ && i_ < (s)->in_elems; i_ += n_) {           \
      ROW;                                                              \
      for (int d_ = last_ - 1; d_ >= 0; --d_) {                         \
        if (++idx_[d_] < (s)->in_dims[d_]) {                            \
          o_ += (s)->out_stride[d_];                                    \
          break;                                                        \
        }                                                               \
        o_ -= (idx_[d_] - 1) * (s)->out_stride[d_];                     \
        idx_[d_] = 0;                                                   \
      }                                                                 \
    }                                                                   \
  } while (0)

/* adds row in[0..n) into sum at out index o, the last axis's output stride st */
#define QIE_SUM_ROW(sum, in, o, n, st)                                  \
  do {                                                                  \
    if ((st) == 1) {                                                    \
      for (size_t j_ = 0; j_ < (n); ++j_) (sum)[(o) + j_] += (uint32_t)(int32_t)(in)[j_]; \
    } else if ((st) == 0) {                                             \
      uint32_t acc_ = 0;                                                \
      for (size_t j_ = 0; j_ < (n); ++j_) acc_ += (uint32_t)(int32_t)(in)[j_]; \
      (sum)[o] += acc_;                                                 \
    } else {                                                            \
      for (size_t j_ = 0; j_ < (n); ++j_) (sum)[(o) + (int64_t)j_ * (st)] += (uint32_t)(int32_t)(in)[j_]; \
    }                                                                   \
  } while (0)

void qie_mean_f32_ref(const qie_reduce_shape* s, const float* in, float* out) {
  for (size_t i = 0; i < s->out_elems; ++i) out[i] = 0.0f;
  QIE_REDUCE_WALK(s, out[o_] += in[i_]);
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
#define QIE_MEAN_INT(T, TMIN, TMAX)                                                  \
  do {                                                                               \
    const qie_reduce_shape* s = &p->shape;                                           \
    uint32_t* sum = (uint32_t*)scratch;                                              \
    for (size_t i = 0; i < s->out_elems; ++i) {                                      \
      sum[i] = 0;                                                                    \
      out[i] = 0;                                                                    \
    }                                                                                \
    if (s->count <= 0) return;                                                       \
    if (s->rank >= 1)                                                                \
      QIE_REDUCE_ROWS(s, QIE_SUM_ROW(sum, in + i_, o_, n_, s->out_stride[last_]));   \
    else                                                                             \
      QIE_REDUCE_WALK(s, sum[o_] += (uint32_t)(int32_t)in[i_]);                      \
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
