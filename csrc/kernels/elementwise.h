/* Binary elementwise kernels (ADD, SUB, MUL) with numpy broadcasting.
 *
 * Every kernel walks the output through one qie_bcast: up to 6 dims (left-padded
 * with 1) and, per dim, the element stride of each input (0 where that input is
 * broadcast). Same-shape inputs are a single row, so there is only one code path
 * and results cannot depend on how the shapes were presented. */
#ifndef QIE_KERNELS_ELEMENTWISE_H
#define QIE_KERNELS_ELEMENTWISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QIE_BCAST_RANK 6

typedef struct {
  size_t dims[QIE_BCAST_RANK]; /* output extents, innermost last */
  size_t sa[QIE_BCAST_RANK];    /* element stride of input a per dim (0: broadcast) */
  size_t sb[QIE_BCAST_RANK];
  size_t count; /* output elements */
} qie_bcast;

/* Steps the outer 5-dim odometer to the next row, updating the row offsets of
 * a and b. Returns false after the last row. Offsets use unsigned wraparound
 * when rewinding, which is exact modulo 2^N. */
static inline bool qie_bcast_next_row(const qie_bcast* bc, size_t idx[QIE_BCAST_RANK - 1],
                                      size_t* oa, size_t* ob) {
  for (int k = QIE_BCAST_RANK - 2; k >= 0; --k) {
    ++idx[k];
    *oa += bc->sa[k];
    *ob += bc->sb[k];
    if (idx[k] < bc->dims[k]) return true;
    *oa -= bc->sa[k] * bc->dims[k];
    *ob -= bc->sb[k] * bc->dims[k];
    idx[k] = 0;
  }
  return false;
}

/* Runs the body (the variadic part) once per output row of bc. It sees the row's element offsets oa,
 * ob (inputs) and oo (output), the inner strides ia, ib and the row length n. */
#define QIE_BCAST_FOR_ROWS(bc, ...)                                     \
  do {                                                                  \
    if ((bc)->count == 0) break;                                        \
    size_t idx_[QIE_BCAST_RANK - 1] = {0};                              \
    size_t oa = 0, ob = 0, oo = 0;                                      \
    const size_t n = (bc)->dims[QIE_BCAST_RANK - 1];                    \
    const size_t ia = (bc)->sa[QIE_BCAST_RANK - 1];                     \
    const size_t ib = (bc)->sb[QIE_BCAST_RANK - 1];                     \
    do {                                                                \
      __VA_ARGS__;                                                      \
      oo += n;                                                          \
    } while (qie_bcast_next_row((bc), idx_, &oa, &ob));                 \
  } while (0)

/* Quantized ADD/SUB, TFLite's scheme: both inputs are brought to a common scale
 * (2 * max input scale) with left_shift bits of headroom, summed, then rescaled.
 * All shifts are <= 0 (multipliers < 1). */
typedef struct {
  int32_t a_offset, b_offset; /* -zero point */
  int32_t out_offset;         /* +zero point */
  int left_shift;             /* 20 for int8, 15 for int16 */
  int32_t a_multiplier, b_multiplier, out_multiplier;
  int a_shift, b_shift, out_shift;
  int32_t act_min, act_max;
  bool subtract; /* b's scaled value is subtracted */
} qie_addsub_q_params;

void qie_addsub_s8_ref(const qie_addsub_q_params* p, const qie_bcast* bc, const int8_t* a,
                       const int8_t* b, int8_t* out);
void qie_addsub_s16_ref(const qie_addsub_q_params* p, const qie_bcast* bc, const int16_t* a,
                        const int16_t* b, int16_t* out);
void qie_addsub_f32_ref(bool subtract, float act_min, float act_max, const qie_bcast* bc,
                        const float* a, const float* b, float* out);
/* int32 wraps on overflow (TFLite leaves it undefined). */
void qie_addsub_s32_ref(bool subtract, int32_t act_min, int32_t act_max, const qie_bcast* bc,
                        const int32_t* a, const int32_t* b, int32_t* out);

/* Quantized MUL: out = zo + M((a - za) * (b - zb)), clamped. */
typedef struct {
  int32_t a_offset, b_offset; /* -zero point */
  int32_t out_offset;
  int32_t multiplier;
  int shift; /* may be positive */
  int32_t act_min, act_max;
} qie_mul_q_params;

void qie_mul_s8_ref(const qie_mul_q_params* p, const qie_bcast* bc, const int8_t* a,
                    const int8_t* b, int8_t* out);
void qie_mul_s16_ref(const qie_mul_q_params* p, const qie_bcast* bc, const int16_t* a,
                     const int16_t* b, int16_t* out);
void qie_mul_f32_ref(float act_min, float act_max, const qie_bcast* bc, const float* a,
                     const float* b, float* out);
void qie_mul_s32_ref(int32_t act_min, int32_t act_max, const qie_bcast* bc, const int32_t* a,
                     const int32_t* b, int32_t* out);

#endif
