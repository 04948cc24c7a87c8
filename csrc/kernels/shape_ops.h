/* Reference kernels for data movement and reductions (reshape, pad, transpose,
 * strided slice, concat/pack, nearest-neighbour resize, mean). They take plain
 * parameter structs: ops/ validates shapes in prepare and fills these in. Data is
 * moved by element size (1, 2, 4 or 8 bytes), so one kernel serves every dtype. */
#ifndef QIE_SHAPE_OPS_H
#define QIE_SHAPE_OPS_H

#include <stddef.h>
#include <stdint.h>

#define QIE_SHAPE_MAX_RANK 6

/* ---- reshape: a plain byte copy (dst and src may be the same buffer) ---- */
void qie_copy_bytes_ref(void* dst, const void* src, size_t bytes);

/* ---- strided gather: out is written row-major over count[], reading
 * in + start + sum(i[d] * step[d]) elements. Used by strided slice and transpose. */
typedef struct {
  int rank;                           /* 0..6; rank 0 copies one element */
  int64_t count[QIE_SHAPE_MAX_RANK];  /* output extent per dim (>= 0) */
  int64_t step[QIE_SHAPE_MAX_RANK];   /* input step in elements, may be negative */
  int64_t start;                      /* input offset of the first element */
  size_t elem_size;                   /* 1, 2, 4 or 8 */
} qie_gather_params;
void qie_strided_gather_ref(const qie_gather_params* p, const void* in, void* out);

/* ---- transpose: out dim i is in dim perm[i] ---- */
typedef struct {
  int rank;
  int32_t in_dims[QIE_SHAPE_MAX_RANK];
  int perm[QIE_SHAPE_MAX_RANK];
  size_t elem_size;
} qie_transpose_params;
void qie_transpose_ref(const qie_transpose_params* p, const void* in, void* out);

/* ---- pad: constant padding, pad_value points at one element ---- */
typedef struct {
  int rank;
  int32_t in_dims[QIE_SHAPE_MAX_RANK];
  int32_t before[QIE_SHAPE_MAX_RANK];
  int32_t after[QIE_SHAPE_MAX_RANK];
  size_t elem_size;
} qie_pad_params;
void qie_pad_ref(const qie_pad_params* p, const void* in, void* out, const void* pad_value);

/* ---- concatenation (and pack): for each of `outer` slices, input i contributes
 * chunk_bytes[i] contiguous bytes, inputs in order. */
typedef struct {
  int n_inputs;
  size_t outer;
  const size_t* chunk_bytes; /* n_inputs entries */
} qie_concat_params;
void qie_concat_ref(const qie_concat_params* p, const void* const* inputs, void* out);
/* Clamp float data in place (fused activation of float concatenation). */
void qie_clamp_f32_ref(float* data, size_t n, float lo, float hi);

/* ---- nearest-neighbour resize of NHWC data ---- */
typedef struct {
  int32_t batches, in_h, in_w, out_h, out_w, depth;
  int align_corners, half_pixel_centers;
  size_t elem_size;
} qie_resize_nn_params;
/* TFLite's source index for output index x along one axis. */
int32_t qie_resize_nn_source(int32_t x, int32_t in_size, int32_t out_size, int align_corners,
                             int half_pixel_centers);
void qie_resize_nn_ref(const qie_resize_nn_params* p, const void* in, void* out);

/* ---- mean over a set of axes ----
 * The input is walked row-major; each element adds into output element
 * sum(idx[d] * out_stride[d]) (out_stride is 0 on reduced axes). */
typedef struct {
  int rank;
  int32_t in_dims[QIE_SHAPE_MAX_RANK];
  int64_t out_stride[QIE_SHAPE_MAX_RANK];
  size_t in_elems;
  size_t out_elems;
  int64_t count; /* elements reduced into each output (0 if the input is empty) */
} qie_reduce_shape;

/* float: sum in float in input order, then divide by (float)count. */
void qie_mean_f32_ref(const qie_reduce_shape* s, const float* in, float* out);

/* Integer mean as TFLite Micro computes it: (sum - in_zp * count) requantized with
 * multiplier/shift (the input/output scale ratio with 1/count folded in, see
 * qie_mean_fold_count) + out_zp, clamped. */
typedef struct {
  qie_reduce_shape shape;
  int32_t in_zp, out_zp;
  int32_t multiplier;
  int shift;
} qie_mean_q_params;
/* Folds 1/count into a quantized multiplier the way TFLite's QuantizedMeanOrSum does. */
void qie_mean_fold_count(int64_t count, int32_t* multiplier, int* shift);
/* scratch: out_elems int32 */
void qie_mean_s8_ref(const qie_mean_q_params* p, const int8_t* in, int8_t* out, int32_t* scratch);
void qie_mean_s16_ref(const qie_mean_q_params* p, const int16_t* in, int16_t* out,
                      int32_t* scratch);

#endif
