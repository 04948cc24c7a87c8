/* Kernel tables: one per instruction set, all computing exactly what the
 * reference kernels compute. Each list holds the candidates for one op, most
 * specialised first, NULL-terminated, with the reference kernel last (it supports
 * every parameter set). Ops pick from ctx->kernels in prepare (see kernel.h). */
#ifndef QIE_KERNELS_DISPATCH_H
#define QIE_KERNELS_DISPATCH_H

#include "elementwise.h"
#include "kernel.h"

/* int8 ADD/SUB over a broadcast walk (elementwise.h); a family may take only the
 * cases it vectorizes and hand the rest to qie_addsub_s8_ref. */
typedef struct {
  const char* name;
  void (*run)(const qie_addsub_q_params* p, const qie_bcast* bc, const int8_t* a, const int8_t* b,
              int8_t* out);
} qie_qs8_addsub_kernel;

typedef struct qie_kernel_table {
  const char* isa; /* "ref", "avx2", "avx512vnni", "neon", "neondot" */
  const qie_qs8_conv_kernel* const* qs8_conv;
  const qie_f32_conv_kernel* const* f32_conv;
  const qie_qs8_conv_kernel* const* qs8_dwconv;
  const qie_f32_conv_kernel* const* f32_dwconv;
  const qie_qs8_fc_kernel* const* qs8_fc;
  const qie_f32_fc_kernel* const* f32_fc;
  const qie_qs8_addsub_kernel* qs8_addsub; /* NULL: qie_addsub_s8_ref (the last member, so
                                              tables that omit it keep the reference) */
} qie_kernel_table;

/* Reference kernels as descriptors (kernels/ref). */
extern const qie_qs8_conv_kernel qie_qs8_conv_nhwc__ref;
extern const qie_f32_conv_kernel qie_f32_conv_nhwc__ref;
extern const qie_qs8_conv_kernel qie_qs8_dwconv_nhwc__ref;
extern const qie_f32_conv_kernel qie_f32_dwconv_nhwc__ref;
extern const qie_qs8_fc_kernel qie_qs8_fc__ref;
extern const qie_f32_fc_kernel qie_f32_fc__ref;

/* Tables of the optimized families; each exists only where its ISA compiles. */
#if defined(__x86_64__)
extern const qie_kernel_table qie_kernels_avx2;       /* kernels/x86 */
extern const qie_kernel_table qie_kernels_avx512vnni; /* kernels/x86 */
#endif
#if defined(__aarch64__) || defined(__arm__)
extern const qie_kernel_table qie_kernels_neon;       /* kernels/neon (aarch64 or armv7) */
#endif
#if defined(__aarch64__)
extern const qie_kernel_table qie_kernels_neondot;    /* kernels/neon */
#endif

/* NULL or "auto": the best table this CPU runs; a family name: that table.
 * NULL for an unknown name or a family this CPU cannot run (see qie_kernels_error). */
const qie_kernel_table* qie_select_kernels(const char* name);
/* Why the last qie_select_kernels returned NULL for this name. */
const char* qie_kernels_unavailable_reason(const char* name);

#endif
