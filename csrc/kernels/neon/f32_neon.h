/* The aarch64 float32 kernels' shared GEMM (gemm_f32_neon.c). */
#ifndef QIE_KERNELS_NEON_F32_H
#define QIE_KERNELS_NEON_F32_H

#include "neon_common.h"

#if defined(QIE_NEON_ENABLED) && defined(__aarch64__)
#define QIE_NEON_F32_ENABLED 1

size_t qie_neon_f32_packed_bytes(int32_t n, int32_t k);
void qie_neon_f32_pack(int32_t n, int32_t k, const float* w, const float* bias, void* packed);
/* Rows a[0..mr) of k floats times the packed weights, channel blocks
 * [nb_begin, nb_end) of 8, plus bias, clamped, into out[r] + channel. */
void qie_neon_f32_gemm(int32_t mr, int32_t k, const float* const a[QIE_NEON_MR], const void* packed,
                       int32_t n, int32_t nb_begin, int32_t nb_end, float act_min, float act_max,
                       float* const out[QIE_NEON_MR]);

extern const qie_f32_conv_kernel qie_f32_conv_nhwc_1x1__neon;
extern const qie_f32_conv_kernel qie_f32_conv_nhwc_im2col__neon;
extern const qie_f32_conv_kernel qie_f32_dwconv_nhwc__neon;
extern const qie_f32_fc_kernel qie_f32_fc__neon;
#endif

#endif
