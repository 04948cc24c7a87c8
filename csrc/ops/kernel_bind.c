/* Binds conv-family ops to kernels through the kernel contract (kernel.h), and
 * checks once, for every family, what the packing kernels assume of the tensors
 * they pack from. */
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

/* The weights and bias every kernel reads (the reference at eval, a packer at
 * load): a filter of `elems` elements of `wt`, a bias absent or of `channels`
 * elements of `bt`. A plan that breaks this is invalid on every family. */
static qie_status check_operands(qie_ctx* ctx, const qie_op* op, const qie_tensor* filter,
                                 const qie_tensor* bias, qie_dtype wt, qie_dtype bt, size_t elems,
                                 int32_t channels) {
  const char* l = qie_op_label(op);
  if (!filter || filter->dtype != wt || filter->elems != elems)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: weights must be %zu %s elements", l, elems,
                    qie_dtype_name(wt));
  if (bias && (bias->dtype != bt || bias->elems != (size_t)channels))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: bias must be %d %s elements", l, channels,
                    qie_dtype_name(bt));
  return QIE_OK;
}

/* int8 kernels also take their per-channel requantization from prepare: one
 * scale per tensor or per output channel, zero points in int8, and the arrays of
 * the plan's mode. */
static qie_status check_requant(qie_ctx* ctx, const qie_op* op, const qie_tensor* filter,
                                const qie_qs8_requant* rq, int32_t channels) {
  const char* l = qie_op_label(op);
  if (filter->q_count != 1 && filter->q_count != channels)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: weights have %d scales for %d channels", l,
                    filter->q_count, channels);
  const int32_t zp[3] = {rq->input_zp, rq->filter_zp, rq->output_zp};
  for (int i = 0; i < 3; ++i)
    if (zp[i] < -128 || zp[i] > 127)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: zero point %d outside int8", l, zp[i]);
  if (rq->mode == QIE_RQ_FLOAT ? !rq->scale : !rq->multiplier || !rq->shift)
    return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: requantization not prepared", l);
  return QIE_OK;
}

/* A packer copies weights and bias at load, so it can take them only when both
 * are constants of the plan. Weights or a bias computed at run time (an input,
 * another op's output, state) are the reference kernel's, which reads them at
 * every run: the same bytes on every family. */
static bool packable(const qie_tensor* filter, const qie_tensor* bias) {
  const bool w_const = (filter->flags & QIE_TF_CONST) && filter->data;
  return w_const && (!bias || ((bias->flags & QIE_TF_CONST) && bias->data));
}

static size_t conv_filter_elems(const qie_conv_geom* g) {
  return (size_t)g->out_c * (size_t)g->k_h * (size_t)g->k_w * (size_t)g->filter_in_c;
}

#define CHECK_QS8(p, channels) check_requant(ctx, op, filter, &(p)->rq, channels)
#define CHECK_NONE(p, channels) QIE_OK

/* Per kernel type: the range trampoline and the bind function. */
#define DEFINE_BIND(fn, Kernel, P, WT, BT, ELEMS, CHANNELS, CHECK_Q)                          \
  static void fn##_range(const void* job, int32_t begin, int32_t end, void* scratch) {       \
    const bound_job* j = job;                                                                 \
    const Kernel* k = j->kernel;                                                              \
    k->run(j->params, j->args, begin, end, scratch);                                          \
  }                                                                                           \
  qie_status fn(qie_ctx* ctx, qie_op* op, const Kernel* const* list, const P* p,              \
                const qie_tensor* filter, const qie_tensor* bias, qie_kernel_binding* b) {    \
    qie_status st = check_operands(ctx, op, filter, bias, WT, BT, ELEMS, CHANNELS);           \
    if (st == QIE_OK) st = CHECK_Q(p, CHANNELS);                                              \
    if (st != QIE_OK) return st;                                                              \
    const bool can_pack = packable(filter, bias);                                             \
    const Kernel* k = NULL;                                                                   \
    for (; list && *list; ++list) {                                                           \
      const bool packs = (*list)->pack || (*list)->packed_bytes;                              \
      if (packs && !can_pack) continue;                                                       \
      if (!(*list)->supports || (*list)->supports(p)) {                                       \
        k = *list;                                                                            \
        break;                                                                                \
      }                                                                                       \
    }                                                                                         \
    if (!k)                                                                                   \
      return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: no kernel for these parameters",            \
                      qie_op_label(op));                                                      \
    b->kernel = k;                                                                            \
    b->run = fn##_range;                                                                      \
    b->packed = NULL;                                                                         \
    const size_t packed = k->packed_bytes ? k->packed_bytes(p) : 0;                           \
    if (packed) {                                                                             \
      if (!k->pack)                                                                           \
        return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: kernel %s has no packer", qie_op_label(op), \
                        k->name);                                                             \
      if (!(b->packed = qie_persist_alloc(ctx, packed))) return QIE_ERR_NO_MEMORY;            \
      k->pack(p, filter->data, bias ? bias->data : NULL, b->packed);                          \
    }                                                                                         \
    b->items = k->work_items(p);                                                              \
    op->scratch_bytes = k->scratch_bytes ? k->scratch_bytes(p) : 0;                           \
    op->kernel = k->name;                                                                     \
    return QIE_OK;                                                                            \
  }

DEFINE_BIND(qie_bind_qs8_conv, qie_qs8_conv_kernel, qie_qs8_conv_params, QIE_DT_INT8,
            QIE_DT_INT32, conv_filter_elems(&p->g), p->g.out_c, CHECK_QS8)
DEFINE_BIND(qie_bind_f32_conv, qie_f32_conv_kernel, qie_f32_conv_params, QIE_DT_FLOAT32,
            QIE_DT_FLOAT32, conv_filter_elems(&p->g), p->g.out_c, CHECK_NONE)
DEFINE_BIND(qie_bind_qs8_fc, qie_qs8_fc_kernel, qie_qs8_fc_params, QIE_DT_INT8, QIE_DT_INT32,
            (size_t)p->units * (size_t)p->depth, p->units, CHECK_QS8)
DEFINE_BIND(qie_bind_f32_fc, qie_f32_fc_kernel, qie_f32_fc_params, QIE_DT_FLOAT32,
            QIE_DT_FLOAT32, (size_t)p->units * (size_t)p->depth, p->units, CHECK_NONE)
