/* Validation and requantization setup shared by conv, depthwise conv, fully
 * connected and pooling prepare functions. Every helper reports a failure
 * through qie_fail naming the op and returns its status. */
#ifndef QIE_OPS_CONV_COMMON_H
#define QIE_OPS_CONV_COMMON_H

#include "../kernels/dispatch.h"
#include "../runtime/runtime.h"


/* The kernel table to use: ctx->kernels, or the reference one if unset. */
const qie_kernel_table* qie_conv_kernels(const qie_ctx* ctx);

/* Checks one spatial axis: k, stride, dilation >= 1, pads >= 0, all coordinates
 * within int32, and out == (in + pad_a + pad_b - dilated_k) / stride + 1. */
qie_status qie_conv_check_axis(qie_ctx* ctx, const qie_op* op, const char* axis, int32_t in,
                               int32_t k, int32_t stride, int32_t dilation, int32_t pad_a,
                               int32_t pad_b, int32_t out);

/* Requires every dim of t to be >= 1. */
qie_status qie_conv_check_dims(qie_ctx* ctx, const qie_op* op, const qie_tensor* t,
                               const char* role);

/* Per-tensor quantization of an activation: one finite scale > 0, zero point in
 * [qmin, qmax]. */
qie_status qie_conv_check_act_quant(qie_ctx* ctx, const qie_op* op, const qie_tensor* t,
                                    const char* role, int32_t qmin, int32_t qmax);

/* int8 weights: per tensor (any zero point in int8 range) or per channel along
 * axis with `channels` entries (zero points must all be 0). Scales finite >= 0. */
qie_status qie_conv_check_filter_quant(qie_ctx* ctx, const qie_op* op, const qie_tensor* w,
                                       int32_t channels, int axis, int32_t* filter_zp);

/* Fills `channels` multiplier/shift pairs from in_scale * w_scale[c] / out_scale
 * (all in double, as TFLite does). */
qie_status qie_conv_multipliers(qie_ctx* ctx, const qie_op* op, const qie_tensor* in,
                                const qie_tensor* w, const qie_tensor* out, int32_t channels,
                                int32_t* multiplier, int32_t* shift);

/* Optional bias: absent, or dtype with exactly `channels` elements. */
qie_status qie_conv_check_bias(qie_ctx* ctx, const qie_op* op, const qie_tensor* bias,
                               qie_dtype dtype, int32_t channels);

/* Fused activation bounds for a quantized output in [qmin, qmax], or for float. */
qie_status qie_conv_act_range_q(qie_ctx* ctx, const qie_op* op, int32_t activation,
                                const qie_tensor* out, int32_t qmin, int32_t qmax,
                                int32_t* act_min, int32_t* act_max);
qie_status qie_conv_act_range_f(qie_ctx* ctx, const qie_op* op, int32_t activation,
                                float* act_min, float* act_max);

/* The int8 half of every conv-family prepare: checks the int32 bias, the input and
 * output quantization and the weights' (per channel along w_axis), then fills rq
 * with zero points, per-channel multipliers/shifts (persistent memory) and the
 * fused activation's bounds. */
qie_status qie_conv_prepare_requant(qie_ctx* ctx, const qie_op* op, const qie_tensor* in,
                                    const qie_tensor* w, const qie_tensor* bias,
                                    const qie_tensor* out, int32_t channels, int w_axis,
                                    int32_t activation, qie_qs8_requant* rq);


/* ---- binding an op to a kernel of the active table (kernel.h) ---- */

/* The kernel an op picked, its packed weights and its work item count. */
typedef struct {
  const void* kernel; /* one of the qie_*_kernel types */
  void* packed;
  int32_t items;
  qie_op_range_fn run; /* calls the kernel's run with a qie_run_binding job */
} qie_kernel_binding;

/* Runs a bound kernel over all its work items on the thread pool; `work` (the
 * op's multiply-accumulates) lets an op too small to split stay on the caller. */
void qie_run_binding(qie_ctx* ctx, const qie_op* op, const qie_kernel_binding* b,
                     const void* params, const qie_kernel_args* args, uint64_t work);

/* Checks what every kernel of the op reads (weights and bias types and element
 * counts; for int8, scales per tensor or per channel and int8 zero points:
 * QIE_ERR_INVALID_PLAN otherwise, on every family), picks the first kernel in
 * list that supports p (a kernel that packs only when weights and bias are plan
 * constants, else the reference takes the op), packs the weights into
 * persistent memory and sets op->scratch_bytes and op->kernel. One function per
 * kernel type, all the same shape; bias may be NULL. */
qie_status qie_bind_qs8_conv(qie_ctx* ctx, qie_op* op, const qie_qs8_conv_kernel* const* list,
                             const qie_qs8_conv_params* p, const qie_tensor* filter,
                             const qie_tensor* bias, qie_kernel_binding* b);
qie_status qie_bind_f32_conv(qie_ctx* ctx, qie_op* op, const qie_f32_conv_kernel* const* list,
                             const qie_f32_conv_params* p, const qie_tensor* filter,
                             const qie_tensor* bias, qie_kernel_binding* b);
qie_status qie_bind_qs8_fc(qie_ctx* ctx, qie_op* op, const qie_qs8_fc_kernel* const* list,
                           const qie_qs8_fc_params* p, const qie_tensor* filter,
                           const qie_tensor* bias, qie_kernel_binding* b);
qie_status qie_bind_f32_fc(qie_ctx* ctx, qie_op* op, const qie_f32_fc_kernel* const* list,
                           const qie_f32_fc_params* p, const qie_tensor* filter,
                           const qie_tensor* bias, qie_kernel_binding* b);

#endif
