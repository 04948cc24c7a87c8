/* The kernel descriptors of one x86 GEMM family (conv 1x1, conv im2col, fully
 * connected). Included at the end of a family's file, which defines before it:
 *   plan                          the tile plan type
 *   plan make_plan(qie_gemm_shape) the plan for a GEMM shape
 *   packed_bytes(const plan*), pack(const plan*, filter, bias, out),
 *   scratch_of(const plan*), items_of(const plan*),
 *   run_tiles(const plan*, const qie_kernel_args*, begin, end, scratch)
 * and then expands QIE_X86_GEMM_DESCRIPTORS(conv_1x1_name, conv_im2col_name, fc_name). */
#ifndef QIE_KERNELS_X86_QS8_GEMM_DESCRIPTORS_H
#define QIE_KERNELS_X86_QS8_GEMM_DESCRIPTORS_H

#define QIE_X86_GEMM_DESC(Kernel, P, name, shape_of, supported)                              \
  static bool name##_supports(const P* p) { return (supported); }                            \
  static size_t name##_packed(const P* p) {                                                  \
    const plan pl = make_plan(shape_of);                                                     \
    return packed_bytes(&pl);                                                                \
  }                                                                                          \
  static void name##_pack(const P* p, const void* f, const void* b, void* o) {               \
    const plan pl = make_plan(shape_of);                                                     \
    pack(&pl, f, b, o);                                                                      \
  }                                                                                          \
  static size_t name##_scratch(const P* p) {                                                 \
    const plan pl = make_plan(shape_of);                                                     \
    return scratch_of(&pl);                                                                  \
  }                                                                                          \
  static int32_t name##_items(const P* p) {                                                  \
    const plan pl = make_plan(shape_of);                                                     \
    return items_of(&pl);                                                                    \
  }                                                                                          \
  static void name##_run(const P* p, const qie_kernel_args* a, int32_t begin, int32_t end,   \
                         void* scratch) {                                                    \
    const plan pl = make_plan(shape_of);                                                     \
    run_tiles(&pl, a, begin, end, scratch);                                                  \
  }                                                                                          \
  const Kernel qie_##name = {#name,         name##_supports, name##_packed, name##_pack,      \
                             name##_scratch, name##_items,   name##_run}

/* Grouped convolutions go to the reference; requantization must fit the epilogue;
 * the GEMM must fit the tile plan's int32 indexing. */
#define QIE_X86_CONV_OK(p)                                                                     \
  ((p)->g.filter_in_c == (p)->g.in_c &&                                                        \
   qie_x86_gemm_fits((int64_t)(p)->g.k_h * (p)->g.k_w * (p)->g.in_c, (p)->g.out_c) &&          \
   qie_x86_requant_ok(&(p)->rq, (p)->g.out_c))

#define QIE_X86_GEMM_DESCRIPTORS(conv_1x1, conv_im2col, fc)                                    \
  QIE_X86_GEMM_DESC(qie_qs8_conv_kernel, qie_qs8_conv_params, conv_1x1,                        \
                    qie_gemm_from_conv(p, QIE_GEMM_ROWS_DIRECT),                               \
                    QIE_X86_CONV_OK(p) && qie_conv_is_pointwise(&p->g));                       \
  QIE_X86_GEMM_DESC(qie_qs8_conv_kernel, qie_qs8_conv_params, conv_im2col,                     \
                    qie_gemm_from_conv(p, QIE_GEMM_ROWS_IM2COL), QIE_X86_CONV_OK(p));          \
  QIE_X86_GEMM_DESC(qie_qs8_fc_kernel, qie_qs8_fc_params, fc, qie_gemm_from_fc(p),             \
                    qie_x86_gemm_fits(p->depth, p->units) && qie_x86_requant_ok(&p->rq, p->units))

#endif
