/* The reference kernels behind the kernel contract (kernel.h). Each is one work
 * item for now: the whole op runs in a single call. */
#include "../dispatch.h"

static int32_t one_item(void) { return 1; }

#define REF_KERNEL(Kernel, P, desc, fn, in_t, w_t, b_t, out_t)                              \
  static int32_t desc##_items(const P* p) {                                                \
    (void)p;                                                                               \
    return one_item();                                                                     \
  }                                                                                        \
  static void desc##_run(const P* p, const qie_kernel_args* a, int32_t begin, int32_t end, \
                         void* scratch) {                                                  \
    (void)scratch;                                                                         \
    if (begin < end)                                                                       \
      fn(p, (const in_t*)a->input, (const w_t*)a->filter, (const b_t*)a->bias,             \
         (out_t*)a->output);                                                               \
  }                                                                                        \
  const Kernel desc = {#desc + 4 /* without qie_ */, NULL, NULL, NULL, NULL, desc##_items, desc##_run}

REF_KERNEL(qie_qs8_conv_kernel, qie_qs8_conv_params, qie_qs8_conv_nhwc__ref,
           qie_qs8_conv2d_nhwc__ref, int8_t, int8_t, int32_t, int8_t);
REF_KERNEL(qie_f32_conv_kernel, qie_f32_conv_params, qie_f32_conv_nhwc__ref,
           qie_f32_conv2d_nhwc__ref, float, float, float, float);
REF_KERNEL(qie_qs8_conv_kernel, qie_qs8_conv_params, qie_qs8_dwconv_nhwc__ref,
           qie_qs8_dwconv2d_nhwc__ref, int8_t, int8_t, int32_t, int8_t);
REF_KERNEL(qie_f32_conv_kernel, qie_f32_conv_params, qie_f32_dwconv_nhwc__ref,
           qie_f32_dwconv2d_nhwc__ref, float, float, float, float);
REF_KERNEL(qie_qs8_fc_kernel, qie_qs8_fc_params, qie_qs8_fc__ref, qie_qs8_fc__ref_full, int8_t,
           int8_t, int32_t, int8_t);
REF_KERNEL(qie_f32_fc_kernel, qie_f32_fc_params, qie_f32_fc__ref, qie_f32_fc__ref_full, float,
           float, float, float);
