/* The Arm kernel tables. Candidates go most specialised first; the reference
 * kernel ends every list and takes whatever the others decline (grouped
 * convolutions, depth multipliers above 1 over more than one input channel,
 * float32 on armv7). The dot-product
 * table shares the neon depthwise kernels: a depthwise tap has no depth to dot
 * over. */
#include "f32_neon.h"

#if defined(QIE_NEON_ENABLED)

#define LIST(T, ...) ((const T* const[]){__VA_ARGS__, NULL})

/* float32: aarch64 only (armv7 NEON flushes subnormals; its VFP reference does not) */
#if defined(QIE_NEON_F32_ENABLED)
#define F32_CONV &qie_f32_conv_nhwc_1x1__neon, &qie_f32_conv_nhwc_im2col__neon,
#define F32_DWCONV &qie_f32_dwconv_nhwc__neon,
#define F32_FC &qie_f32_fc__neon,
#else
#define F32_CONV
#define F32_DWCONV
#define F32_FC
#endif


const qie_kernel_table qie_kernels_neon = {
    "neon",
    /* int8 GEMMs: c8, then by-lane SMLAL for depths under 16 */
    LIST(qie_qs8_conv_kernel, &qie_qs8_conv_nhwc_1x1_c8__neon, &qie_qs8_conv_nhwc_im2col_c8__neon,
         &qie_qs8_conv_nhwc_1x1__neon, &qie_qs8_conv_nhwc_im2col__neon, &qie_qs8_conv_nhwc__ref),
    LIST(qie_f32_conv_kernel, F32_CONV & qie_f32_conv_nhwc__ref),
    LIST(qie_qs8_conv_kernel, &qie_qs8_dwconv_nhwc_3x3__neon, &qie_qs8_dwconv_nhwc__neon,
         &qie_qs8_dwconv_nhwc__ref),
    LIST(qie_f32_conv_kernel, F32_DWCONV & qie_f32_dwconv_nhwc__ref),
    LIST(qie_qs8_fc_kernel, &qie_qs8_fc_c8__neon, &qie_qs8_fc__neon, &qie_qs8_fc__ref),
    LIST(qie_f32_fc_kernel, F32_FC & qie_f32_fc__ref),
    &qie_qs8_addsub_8__neon,
};

#if defined(__aarch64__)
const qie_kernel_table qie_kernels_neondot = {
    "neondot",
    LIST(qie_qs8_conv_kernel, &qie_qs8_conv_nhwc_1x1__neondot,
         &qie_qs8_conv_nhwc_im2col__neondot, &qie_qs8_conv_nhwc__ref),
    LIST(qie_f32_conv_kernel, F32_CONV & qie_f32_conv_nhwc__ref),
    LIST(qie_qs8_conv_kernel, &qie_qs8_dwconv_nhwc_3x3__neon, &qie_qs8_dwconv_nhwc__neon,
         &qie_qs8_dwconv_nhwc__ref),
    LIST(qie_f32_conv_kernel, F32_DWCONV & qie_f32_dwconv_nhwc__ref),
    LIST(qie_qs8_fc_kernel, &qie_qs8_fc__neondot, &qie_qs8_fc__ref),
    LIST(qie_f32_fc_kernel, F32_FC & qie_f32_fc__ref),
    &qie_qs8_addsub_8__neon,
};
#endif

#endif
