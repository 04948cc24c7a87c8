/* The x86 kernel tables: candidates per op, most specialised first, the
 * reference kernel last (it takes whatever the others refuse). */
#if defined(__x86_64__)
#include "../dispatch.h"

#define LIST(T, ...) ((const T* const[]){__VA_ARGS__, NULL})

extern const qie_qs8_conv_kernel qie_qs8_conv_nhwc_1x1_6x64__avx512vnni;
extern const qie_qs8_conv_kernel qie_qs8_conv_nhwc_im2col_6x64__avx512vnni;
extern const qie_qs8_conv_kernel qie_qs8_dwconv_nhwc_16c__avx512vnni;
extern const qie_qs8_fc_kernel qie_qs8_fc_6x64__avx512vnni;
extern const qie_qs8_addsub_kernel qie_qs8_addsub_16__avx512;
extern const qie_qs8_conv_kernel qie_qs8_conv_nhwc_1x1_6x16__avx2;
extern const qie_qs8_conv_kernel qie_qs8_conv_nhwc_im2col_6x16__avx2;
extern const qie_qs8_conv_kernel qie_qs8_dwconv_nhwc_8c__avx2;
extern const qie_qs8_fc_kernel qie_qs8_fc_6x16__avx2;
extern const qie_qs8_addsub_kernel qie_qs8_addsub_8__avx2;

const qie_kernel_table qie_kernels_avx512vnni = {
    "avx512vnni",
    LIST(qie_qs8_conv_kernel, &qie_qs8_conv_nhwc_1x1_6x64__avx512vnni,
         &qie_qs8_conv_nhwc_im2col_6x64__avx512vnni, &qie_qs8_conv_nhwc__ref),
    LIST(qie_f32_conv_kernel, &qie_f32_conv_nhwc__ref),
    LIST(qie_qs8_conv_kernel, &qie_qs8_dwconv_nhwc_16c__avx512vnni, &qie_qs8_dwconv_nhwc__ref),
    LIST(qie_f32_conv_kernel, &qie_f32_dwconv_nhwc__ref),
    LIST(qie_qs8_fc_kernel, &qie_qs8_fc_6x64__avx512vnni, &qie_qs8_fc__ref),
    LIST(qie_f32_fc_kernel, &qie_f32_fc__ref),
    &qie_qs8_addsub_16__avx512,
};

const qie_kernel_table qie_kernels_avx2 = {
    "avx2",
    LIST(qie_qs8_conv_kernel, &qie_qs8_conv_nhwc_1x1_6x16__avx2,
         &qie_qs8_conv_nhwc_im2col_6x16__avx2, &qie_qs8_conv_nhwc__ref),
    LIST(qie_f32_conv_kernel, &qie_f32_conv_nhwc__ref),
    LIST(qie_qs8_conv_kernel, &qie_qs8_dwconv_nhwc_8c__avx2, &qie_qs8_dwconv_nhwc__ref),
    LIST(qie_f32_conv_kernel, &qie_f32_dwconv_nhwc__ref),
    LIST(qie_qs8_fc_kernel, &qie_qs8_fc_6x16__avx2, &qie_qs8_fc__ref),
    LIST(qie_f32_fc_kernel, &qie_f32_fc__ref),
    &qie_qs8_addsub_8__avx2,
};
#endif
