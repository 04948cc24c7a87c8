/* QUANTIZE (float -> int, int -> int requantize) and DEQUANTIZE kernels. */
#ifndef QIE_KERNELS_QUANTIZE_H
#define QIE_KERNELS_QUANTIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* float -> integer: zp + round(x / scale), saturated to [qmin, qmax]. TFLite
 * rounds half away from zero; ONNX QuantizeLinear rounds half to even. */
typedef struct {
  float scale;
  int32_t zero_point;
  bool round_half_even;
} qie_quantize_params;

void qie_quantize_f32_s8_ref(const qie_quantize_params* p, size_t n, const float* in, int8_t* out);
void qie_quantize_f32_u8_ref(const qie_quantize_params* p, size_t n, const float* in, uint8_t* out);
void qie_quantize_f32_s16_ref(const qie_quantize_params* p, size_t n, const float* in, int16_t* out);

/* integer -> integer (TFLite's Requantize): zo + M(x - zi), saturated to the
 * output type. Element types are given by the qie_dtype codes of qie.h. */
typedef struct {
  int32_t in_zp, out_zp;
  int32_t multiplier;
  int shift;
} qie_requantize_params;

/* in_dtype: INT8, UINT8, INT16 or INT32; out_dtype: INT8, UINT8, INT16 or INT32.
 * Returns false for another type. */
bool qie_requantize_ref(const qie_requantize_params* p, size_t n, int in_dtype, const void* in,
                        int out_dtype, void* out);

/* integer -> float: scale * (x - zp), the product formed in float. in_dtype:
 * INT8, UINT8, INT16 or INT32. Returns false for another type. */
bool qie_dequantize_ref(float scale, int32_t zero_point, size_t n, int in_dtype, const void* in,
                        float* out);

#endif
