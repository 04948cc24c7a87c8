/* Kernel tables: one per instruction set, all computing exactly what the
 * reference table computes. Ops pick their kernels from ctx->kernels in prepare. */
#ifndef QIE_KERNELS_DISPATCH_H
#define QIE_KERNELS_DISPATCH_H

#include "conv.h"

typedef struct qie_kernel_table {
  const char* isa;
  qie_qs8_conv_fn qs8_conv2d;
  const char* qs8_conv2d_name;
  qie_f32_conv_fn f32_conv2d;
  const char* f32_conv2d_name;
  qie_qs8_conv_fn qs8_dwconv2d;
  const char* qs8_dwconv2d_name;
  qie_f32_conv_fn f32_dwconv2d;
  const char* f32_dwconv2d_name;
  qie_qs8_fc_fn qs8_fc;
  const char* qs8_fc_name;
  qie_f32_fc_fn f32_fc;
  const char* f32_fc_name;
} qie_kernel_table;

/* NULL, "auto" or "ref": the reference table (the only one so far); NULL for an
 * unknown name. */
const qie_kernel_table* qie_select_kernels(const char* name);

#endif
