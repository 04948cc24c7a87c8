/* The reference kernels behind the kernel contract (kernel.h). The full-op
 * functions stay the definition; a work item here is one output row (conv,
 * depthwise: batches * out_h items) or one batch row (fully connected), and a
 * range of items runs the full-op function on the matching slice: a batch-1
 * geometry whose first output row is the range's, with pad_top moved so every
 * input coordinate is the one the whole op would read. */
#include "../dispatch.h"

#define CONV_RANGE(fn, P, T, B)                                                              \
  static void fn##_rows(const P* p, const T* input, const T* filter, const B* bias, T* output, \
                        int32_t begin, int32_t end) {                                        \
    const qie_conv_geom* g = &p->g;                                                         \
    const size_t in_image = (size_t)g->in_h * g->in_w * g->in_c;                            \
    const size_t out_row = (size_t)g->out_w * g->out_c;                                     \
    while (begin < end) {                                                                   \
      const int32_t b = begin / g->out_h, oy = begin % g->out_h;                            \
      const int32_t rows = (end - begin < g->out_h - oy) ? end - begin : g->out_h - oy;     \
      P sub = *p;                                                                           \
      sub.g.batches = 1;                                                                    \
      sub.g.out_h = rows;                                                                   \
      sub.g.pad_top = g->pad_top - oy * g->stride_h;                                        \
      fn(&sub, input + (size_t)b * in_image, filter, bias,                                   \
         output + ((size_t)b * g->out_h + oy) * out_row);                                   \
      begin += rows;                                                                        \
    }                                                                                       \
  }

CONV_RANGE(qie_qs8_conv2d_nhwc__ref, qie_qs8_conv_params, int8_t, int32_t)
CONV_RANGE(qie_f32_conv2d_nhwc__ref, qie_f32_conv_params, float, float)
CONV_RANGE(qie_qs8_dwconv2d_nhwc__ref, qie_qs8_conv_params, int8_t, int32_t)
CONV_RANGE(qie_f32_dwconv2d_nhwc__ref, qie_f32_conv_params, float, float)

#define FC_RANGE(fn, P, T, B)                                                                \
  static void fn##_rows(const P* p, const T* input, const T* weights, const B* bias, T* output, \
                        int32_t begin, int32_t end) {                                        \
    P sub = *p;                                                                             \
    sub.batches = end - begin;                                                              \
    fn(&sub, input + (size_t)begin * p->depth, weights, bias,                               \
       output + (size_t)begin * p->units);                                                  \
  }

FC_RANGE(qie_qs8_fc__ref_full, qie_qs8_fc_params, int8_t, int32_t)
FC_RANGE(qie_f32_fc__ref_full, qie_f32_fc_params, float, float)

static int32_t conv_rows(const qie_conv_geom* g) { return g->batches * g->out_h; }

#define REF_KERNEL(Kernel, P, desc, fn, items_expr, T, B)                                   \
  static int32_t desc##_items(const P* p) { return items_expr; }                            \
  static void desc##_run(const P* p, const qie_kernel_args* a, int32_t begin, int32_t end,  \
                         void* scratch) {                                                   \
    (void)scratch;                                                                          \
    if (begin < end)                                                                        \
      fn##_rows(p, (const T*)a->input, (const T*)a->filter, (const B*)a->bias, (T*)a->output, \
                begin, end);                                                                \
  }                                                                                         \
  const Kernel desc = {#desc + 4 /* without qie_ */, NULL, NULL, NULL, NULL, desc##_items, desc##_run}

REF_KERNEL(qie_qs8_conv_kernel, qie_qs8_conv_params, qie_qs8_conv_nhwc__ref,
           qie_qs8_conv2d_nhwc__ref, conv_rows(&p->g), int8_t, int32_t);
REF_KERNEL(qie_f32_conv_kernel, qie_f32_conv_params, qie_f32_conv_nhwc__ref,
           qie_f32_conv2d_nhwc__ref, conv_rows(&p->g), float, float);
REF_KERNEL(qie_qs8_conv_kernel, qie_qs8_conv_params, qie_qs8_dwconv_nhwc__ref,
           qie_qs8_dwconv2d_nhwc__ref, conv_rows(&p->g), int8_t, int32_t);
REF_KERNEL(qie_f32_conv_kernel, qie_f32_conv_params, qie_f32_dwconv_nhwc__ref,
           qie_f32_dwconv2d_nhwc__ref, conv_rows(&p->g), float, float);
REF_KERNEL(qie_qs8_fc_kernel, qie_qs8_fc_params, qie_qs8_fc__ref, qie_qs8_fc__ref_full,
           p->batches, int8_t, int32_t);
REF_KERNEL(qie_f32_fc_kernel, qie_f32_fc_params, qie_f32_fc__ref, qie_f32_fc__ref_full,
           p->batches, float, float);
