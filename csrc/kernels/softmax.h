/* SOFTMAX over the innermost dim: rows of `depth` elements. */
#ifndef QIE_KERNELS_SOFTMAX_H
#define QIE_KERNELS_SOFTMAX_H

#include <stddef.h>
#include <stdint.h>

/* TFLite's fixed-point softmax: input differences from the row max are scaled
 * to Q5.26 by input_multiplier / input_left_shift (exp(beta * s * diff)), those
 * below diff_min are taken as exp = 0; exps are summed in Q12.19. */
typedef struct {
  int32_t input_multiplier;
  int input_left_shift; /* 1..31 */
  int32_t diff_min;     /* <= 0 */
} qie_softmax_q_params;

/* depth must be <= 4095 so the Q12.19 sum cannot overflow. Output: scale 1/256,
 * zero point -128 (int8) or scale 1/65536, zero point -32768 (int16). */
void qie_softmax_s8_ref(const qie_softmax_q_params* p, size_t rows, size_t depth, const int8_t* in,
                        int8_t* out);
void qie_softmax_s8_s16_ref(const qie_softmax_q_params* p, size_t rows, size_t depth,
                            const int8_t* in, int16_t* out);
void qie_softmax_f32_ref(float beta, size_t rows, size_t depth, const float* in, float* out);

#endif
