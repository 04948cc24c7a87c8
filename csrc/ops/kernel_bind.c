/* Binds conv-family ops to kernels through the kernel contract (kernel.h). */
#include "conv_common.h"

#define DEFINE_BIND(fn, Kernel, P)                                                           \
  qie_status fn(qie_ctx* ctx, qie_op* op, const Kernel* const* list, const P* p,              \
                const void* filter, const void* bias, qie_kernel_binding* b) {                \
    const Kernel* k = NULL;                                                                   \
    for (; list && *list; ++list)                                                             \
      if (!(*list)->supports || (*list)->supports(p)) {                                       \
        k = *list;                                                                            \
        break;                                                                                \
      }                                                                                       \
    if (!k)                                                                                   \
      return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: no kernel for these parameters",            \
                      qie_op_label(op));                                                      \
    b->kernel = k;                                                                            \
    b->packed = NULL;                                                                         \
    const size_t packed = k->packed_bytes ? k->packed_bytes(p) : 0;                           \
    if (packed) {                                                                             \
      if (!(b->packed = qie_persist_alloc(ctx, packed))) return QIE_ERR_NO_MEMORY;            \
      k->pack(p, filter, bias, b->packed);                                                    \
    }                                                                                         \
    b->items = k->work_items(p);                                                              \
    op->scratch_bytes = k->scratch_bytes ? k->scratch_bytes(p) : 0;                           \
    op->kernel = k->name;                                                                     \
    return QIE_OK;                                                                            \
  }

DEFINE_BIND(qie_bind_qs8_conv, qie_qs8_conv_kernel, qie_qs8_conv_params)
DEFINE_BIND(qie_bind_f32_conv, qie_f32_conv_kernel, qie_f32_conv_params)
DEFINE_BIND(qie_bind_qs8_fc, qie_qs8_fc_kernel, qie_qs8_fc_params)
DEFINE_BIND(qie_bind_f32_fc, qie_f32_fc_kernel, qie_f32_fc_params)
