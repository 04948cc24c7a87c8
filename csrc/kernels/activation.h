/* Unary activation kernels: RELU family, LEAKY_RELU, HARD_SWISH, LOGISTIC, TANH. */
#ifndef QIE_KERNELS_ACTIVATION_H
#define QIE_KERNELS_ACTIVATION_H

#include <stddef.h>
#include <stdint.h>

/* RELU / RELU6 / RELU_N1_TO_1 on quantized data (TFLite's ReluQuantized):
 * out = clamp(zo + M(x - zi), act_min, act_max). */
typedef struct {
  int32_t in_zp, out_zp;
  int32_t multiplier;
  int shift;
  int32_t act_min, act_max;
} qie_relu_q_params;

void qie_relu_s8_ref(const qie_relu_q_params* p, size_t n, const int8_t* in, int8_t* out);
void qie_relu_s16_ref(const qie_relu_q_params* p, size_t n, const int16_t* in, int16_t* out);
/* clamp(x, lo, hi) as TFLite's float ReLU kernels (NaN passes through RELU). */
void qie_relu_f32_ref(float lo, float hi, size_t n, const float* in, float* out);

/* LEAKY_RELU (TFLite's QuantizeLeakyRelu): x >= zi uses the identity multiplier,
 * x < zi the alpha one. */
typedef struct {
  int32_t in_zp, out_zp;
  int32_t mult_identity, mult_alpha;
  int shift_identity, shift_alpha;
} qie_leaky_relu_q_params;

void qie_leaky_relu_s8_ref(const qie_leaky_relu_q_params* p, size_t n, const int8_t* in, int8_t* out);
void qie_leaky_relu_s16_ref(const qie_leaky_relu_q_params* p, size_t n, const int16_t* in,
                            int16_t* out);
void qie_leaky_relu_f32_ref(float alpha, size_t n, const float* in, float* out);

/* HARD_SWISH in TFLite's int16 fixed point (reference_ops::HardSwish). */
typedef struct {
  int32_t in_zp, out_zp;
  int16_t output_multiplier; /* Q15 */
  int output_exponent;       /* <= 0 */
  int16_t reluish_multiplier;
  int reluish_exponent;
} qie_hard_swish_q_params;

void qie_hard_swish_s8_ref(const qie_hard_swish_q_params* p, size_t n, const int8_t* in, int8_t* out);
void qie_hard_swish_f32_ref(size_t n, const float* in, float* out);

/* LOGISTIC / TANH int8 (reference_integer_ops): inputs within radius of the zero
 * point are rescaled to Q4.27 and run through gemmlowp's fixed-point function;
 * outside it they saturate. Output: logistic scale 1/256 zp -128, tanh 1/128 zp 0. */
typedef struct {
  int32_t in_zp;
  int32_t range_radius;
  int32_t multiplier;
  int left_shift; /* 0..31 */
} qie_sigmoid_q_params;

void qie_logistic_s8_ref(const qie_sigmoid_q_params* p, size_t n, const int8_t* in, int8_t* out);
void qie_tanh_s8_ref(const qie_sigmoid_q_params* p, size_t n, const int8_t* in, int8_t* out);
void qie_logistic_f32_ref(size_t n, const float* in, float* out);
void qie_tanh_f32_ref(size_t n, const float* in, float* out);

#endif
