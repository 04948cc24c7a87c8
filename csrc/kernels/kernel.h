/* The contract between ops and optimized kernels (every ISA family).
 *
 * An op's prepare picks, from the active kernel table, the first kernel whose
 * `supports` accepts its parameters (the reference kernel accepts everything and
 * is always last; a kernel that packs is passed over when the weights or bias are
 * not constants of the model), asks it for the bytes of its prepacked weights and
 * per-thread scratch, and packs the weights once into the model's persistent
 * memory (csrc/ops/kernel_bind.c, which first checks the weights' and bias's
 * types and sizes, the same for every family). eval
 * then splits the kernel's work items [0, work_items) across the thread pool;
 * each thread calls `run` on a contiguous range [begin, end) with its own scratch.
 * A kernel must write exactly the bytes the reference kernel writes, whatever the
 * range split: a work item's output may not depend on which thread computed it.
 *
 * Requantization has two modes (qie_qs8_requant.mode, see conv.h):
 *   QIE_RQ_FIXED  TFLite: qie_requant_to_i8 (Q31 multiplier + shift, double rounding)
 *   QIE_RQ_FLOAT  ONNX:   qie_requant_f32_to_i8 (float32 scale, round half to even)
 * Both are defined in conv.h; SIMD epilogues implement them exactly. */
#ifndef QIE_KERNELS_KERNEL_H
#define QIE_KERNELS_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conv.h"

/* Data pointers handed to a conv-family kernel at eval. `packed` is what `pack`
 * produced (NULL when packed_bytes is 0); filter and bias are the plan's. */
typedef struct {
  const void* input;
  const void* filter;
  const void* bias;
  const void* packed;
  void* output;
} qie_kernel_args;

/* One kernel for conv / depthwise conv (P = qie_qs8_conv_params or
 * qie_f32_conv_params) or fully connected (P = qie_qs8_fc_params or
 * qie_f32_fc_params). Unused hooks may be NULL: supports (= always), packed_bytes
 * and pack (= no packing), scratch_bytes (= none). */
#define QIE_DECLARE_KERNEL_TYPE(type_name, P)                                              \
  typedef struct type_name {                                                               \
    const char* name; /* op, types, layout, tile, ISA: qs8_conv_nhwc_4x16__neondot */     \
    bool (*supports)(const P* p);                                                          \
    size_t (*packed_bytes)(const P* p);                                                    \
    void (*pack)(const P* p, const void* filter, const void* bias, void* packed);          \
    size_t (*scratch_bytes)(const P* p);                                                   \
    int32_t (*work_items)(const P* p);                                                     \
    void (*run)(const P* p, const qie_kernel_args* a, int32_t begin, int32_t end,         \
                void* scratch);                                                            \
  } type_name

QIE_DECLARE_KERNEL_TYPE(qie_qs8_conv_kernel, qie_qs8_conv_params);
QIE_DECLARE_KERNEL_TYPE(qie_f32_conv_kernel, qie_f32_conv_params);
QIE_DECLARE_KERNEL_TYPE(qie_qs8_fc_kernel, qie_qs8_fc_params);
QIE_DECLARE_KERNEL_TYPE(qie_f32_fc_kernel, qie_f32_fc_params);

#endif
