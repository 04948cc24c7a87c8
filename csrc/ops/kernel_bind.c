/* Binds conv-family ops to kernels through the kernel contract (kernel.h). */
#include "conv_common.h"

/* What a thread needs to run its range of a bound kernel. */
typedef struct {
  const void* kernel;
  const void* params;
  const qie_kernel_args* args;
} bound_job;

void qie_run_binding(qie_ctx* ctx, const qie_op* op, const qie_kernel_binding* b,
                     const void* params, const qie_kernel_args* args, uint64_t work) {
  const bound_job job = {b->kernel, params, args};
  qie_parallel_for(ctx, op, b->items, work, b->run, &job);
}

/* Per kernel type: the range trampoline and the bind function. */
#define DEFINE_BIND(fn, Kernel, P)                                                           \
  static void fn##_range(const void* job, int32_t begin, int32_t end, void* scratch) {       \
    const bound_job* j = job;                                                                 \
    const Kernel* k = j->kernel;                                                              \
    k->run(j->params, j->args, begin, end, scratch);                                          \
  }                                                                                           \
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
    b->run = fn##_range;                                                                      \
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
