/* QUANTIZE / DEQUANTIZE reference kernels (TFLite AffineQuantize, Requantize,
 * Dequantize). */
#include <math.h>

#include "../../include/qie.h"
#include "../quant.h"
#include "../quantize.h"

static inline int32_t quantize_one(const qie_quantize_params* p, float x, int32_t qmin, int32_t qmax) {
  if (!p->round_half_even) return qie_quantize_value(x, p->scale, p->zero_point, qmin, qmax);
  const float r = rintf(x / p->scale); /* default rounding mode: ties to even */
  if (r != r) return qie_clamp_i32(p->zero_point, qmin, qmax); /* NaN: as ONNX Runtime, 0 + zp */
  /* saturate in float first: converting an out-of-range float is undefined */
  const double v = (double)r + (double)p->zero_point;
  return v < (double)qmin ? qmin : (v > (double)qmax ? qmax : (int32_t)v);
}

void qie_quantize_f32_s8_ref(const qie_quantize_params* p, size_t n, const float* in, int8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = (int8_t)quantize_one(p, in[i], -128, 127);
}

void qie_quantize_f32_u8_ref(const qie_quantize_params* p, size_t n, const float* in, uint8_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = (uint8_t)quantize_one(p, in[i], 0, 255);
}

void qie_quantize_f32_s16_ref(const qie_quantize_params* p, size_t n, const float* in, int16_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = (int16_t)quantize_one(p, in[i], -32768, 32767);
}

static inline int32_t load(int dtype, const void* base, size_t i) {
  switch (dtype) {
    case QIE_DT_INT8: return ((const int8_t*)base)[i];
    case QIE_DT_UINT8: return ((const uint8_t*)base)[i];
    case QIE_DT_INT16: return ((const int16_t*)base)[i];
    default: return ((const int32_t*)base)[i];
  }
}

static bool known(int dtype) {
  return dtype == QIE_DT_INT8 || dtype == QIE_DT_UINT8 || dtype == QIE_DT_INT16 || dtype == QIE_DT_INT32;
}

bool qie_requantize_ref(const qie_requantize_params* p, size_t n, int in_dtype, const void* in,
                        int out_dtype, void* out) {
  if (!known(in_dtype) || !known(out_dtype)) return false;
  int32_t lo = INT32_MIN, hi = INT32_MAX;
  switch (out_dtype) {
    case QIE_DT_INT8: lo = -128; hi = 127; break;
    case QIE_DT_UINT8: lo = 0; hi = 255; break;
    case QIE_DT_INT16: lo = -32768; hi = 32767; break;
    default: break;
  }
  for (size_t i = 0; i < n; ++i) {
    /* int32 input may wrap here; TFLite leaves that case undefined */
    const int32_t x = (int32_t)((uint32_t)load(in_dtype, in, i) - (uint32_t)p->in_zp);
    const int32_t scaled = qie_mul_by_quantized_multiplier(x, p->multiplier, p->shift);
    const int32_t v = qie_clamp_i32((int32_t)((uint32_t)scaled + (uint32_t)p->out_zp), lo, hi);
    switch (out_dtype) {
      case QIE_DT_INT8: ((int8_t*)out)[i] = (int8_t)v; break;
      case QIE_DT_UINT8: ((uint8_t*)out)[i] = (uint8_t)v; break;
      case QIE_DT_INT16: ((int16_t*)out)[i] = (int16_t)v; break;
      default: ((int32_t*)out)[i] = v; break;
    }
  }
  return true;
}

bool qie_dequantize_ref(float scale, int32_t zero_point, size_t n, int in_dtype, const void* in,
                        float* out) {
  if (!known(in_dtype)) return false;
  for (size_t i = 0; i < n; ++i) {
    const int32_t d = (int32_t)((uint32_t)load(in_dtype, in, i) - (uint32_t)zero_point);
    out[i] = scale * (float)d;
  }
  return true;
}
