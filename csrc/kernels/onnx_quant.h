/* ONNX's quantization arithmetic (QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear, MatMulInteger/QLinearMatMul, ConvInteger/QLinearConv)
 * on plain structs. Scales and zero points may be graph inputs in ONNX, so these
 * kernels read them at run time; they are defined by ONNX Runtime's arithmetic:
 * float32 products, round half to even, saturation. */
#ifndef QIE_KERNELS_ONNX_QUANT_H
#define QIE_KERNELS_ONNX_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* Element types the generic ONNX kernels read and write (a subset of qie_dtype's
 * numbering, kept separate so kernels need no runtime header). */
enum { QIE_QE_I8 = 1, QIE_QE_U8, QIE_QE_I16, QIE_QE_U16, QIE_QE_I32 };

/* Reads element i of an integer array of element type et as int32. */
static inline int32_t qie_qe_load(const void* p, int et, size_t i) {
  switch (et) {
    case QIE_QE_I8: return ((const int8_t*)p)[i];
    case QIE_QE_U8: return ((const uint8_t*)p)[i];
    case QIE_QE_I16: return ((const int16_t*)p)[i];
    case QIE_QE_U16: return ((const uint16_t*)p)[i];
    default: return ((const int32_t*)p)[i];
  }
}

/* Stores an int32 already inside et's range. */
static inline void qie_qe_store(void* p, int et, size_t i, int32_t v) {
  switch (et) {
    case QIE_QE_I8: ((int8_t*)p)[i] = (int8_t)v; break;
    case QIE_QE_U8: ((uint8_t*)p)[i] = (uint8_t)v; break;
    case QIE_QE_I16: ((int16_t*)p)[i] = (int16_t)v; break;
    case QIE_QE_U16: ((uint16_t*)p)[i] = (uint16_t)v; break;
    default: ((int32_t*)p)[i] = v; break;
  }
}

/* round(v) + zp saturated to [qmin, qmax], ties to even. NaN maps to the zero
 * point (ONNX leaves it undefined; converting NaN to int is undefined in C). */
static inline int32_t qie_round_sat(float v, int32_t zp, int32_t qmin, int32_t qmax) {
  if (v != v) v = 0.0f;
  float r = __builtin_rintf(v) + (float)zp;
  if (r < (float)qmin) r = (float)qmin;
  if (r > (float)qmax) r = (float)qmax;
  return (int32_t)r;
}

/* Where the scale / zero point of an element comes from. The tensor is viewed as
 * [outer, dim, inner] around the quantization axis: per tensor (one entry), per
 * axis (dim entries) or blocked (outer * ceil(dim / block) * inner entries). */
typedef struct {
  size_t outer, dim, inner;
  size_t block;  /* 0: not blocked */
  int per_axis;  /* 1: per axis or blocked; 0: per tensor */
} qie_qparam_layout;

static inline size_t qie_qparam_index(const qie_qparam_layout* l, size_t o, size_t d, size_t i) {
  if (!l->per_axis) return 0;
  if (!l->block) return d;
  const size_t blocks = (l->dim + l->block - 1) / l->block;
  return (o * blocks + d / l->block) * l->inner + i;
}

typedef struct {
  qie_qparam_layout l;
  int out_et, zp_et;   /* zp_et 0: no zero point (0) */
  int32_t qmin, qmax;  /* int4 outputs saturate to [-8, 7] / [0, 15] in an 8-bit type */
} qie_quantize_linear_params;

typedef struct {
  qie_qparam_layout l;
  int in_et, zp_et;
} qie_dequantize_linear_params;

void qie_quantize_linear__ref(const qie_quantize_linear_params* p, const float* x,
                              const float* scale, const void* zp, void* y);
void qie_dequantize_linear__ref(const qie_dequantize_linear_params* p, const void* x,
                                const float* scale, const void* zp, float* y);
/* DynamicQuantizeLinear: uint8 y, float scale, uint8 zero point from x's range. */
void qie_dynamic_quantize_linear__ref(size_t n, const float* x, uint8_t* y, float* scale,
                                      uint8_t* zp);

/* Integer matmul: a [batch.., M, K], b [batch.., K, N] with broadcast batch dims
 * (a_off/b_off give each output batch's start), int32 accumulators of
 * (a - a_zp) * (b - b_zp[n]). requant: 0 writes int32, 1 requantizes to out_et with
 * scale a_scale * b_scale[n] / y_scale in float32. */
typedef struct {
  size_t batches, m, k, n;
  const size_t* a_off; /* batches entries, in elements */
  const size_t* b_off;
  int a_et, b_et, out_et;
  int requant;
  int bz_per_col, bs_per_col; /* b zero point / b scale have n entries (else 1) */
  int32_t qmin, qmax;
} qie_qmatmul_params;

typedef struct {
  const void *a, *b;
  int32_t a_zp;
  const void* b_zp; int b_zp_et; /* NULL: 0 */
  float a_scale, y_scale;
  const float* b_scale;
  int32_t y_zp;
  void* y;
} qie_qmatmul_args;

void qie_qmatmul__ref(const qie_qmatmul_params* p, const qie_qmatmul_args* a);

/* Integer conv, NHWC input, OHWI weights, groups; padded positions contribute
 * nothing (they stand for the input zero point). */
typedef struct {
  int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, groups;
  int32_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  int x_et, w_et, out_et;
  int requant;
  int wz_per_ch, ws_per_ch; /* w zero point / w scale have out_c entries (else 1) */
  int32_t qmin, qmax;
} qie_qconv_params;

typedef struct {
  const void *x, *w;
  int32_t x_zp;
  const void* w_zp; int w_zp_et;
  float x_scale, y_scale;
  const float* w_scale;
  int32_t y_zp;
  const int32_t* bias;
  void* y;
} qie_qconv_args;

void qie_qconv__ref(const qie_qconv_params* p, const qie_qconv_args* a);

#endif
