/* RESIZE_NEAREST_NEIGHBOR: in = input (NHWC), size (const int32 [2] = out H, W);
 * iattr align_corners, half_pixel_centers. */
#include "../kernels/shape_ops.h"
#include "../runtime/runtime.h"

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 2, 2, 1);
  if (st) return st;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* size = qie_in(ctx, op, 1);
  const qie_tensor* out = qie_out(ctx, op, 0);
  const size_t es = qie_dtype_size(in->dtype);
  if (out->dtype != in->dtype || es == 0)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output is %s, input is %s", qie_op_label(op),
                    qie_dtype_name(out->dtype), qie_dtype_name(in->dtype));
  if (in->rank != 4 || out->rank != 4)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input and output must be 4-D (NHWC)",
                    qie_op_label(op));
  if (size->dtype != QIE_DT_INT32 || !(size->flags & QIE_TF_CONST) || !size->data ||
      size->elems != 2 || size->bytes < 8)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: size must be a constant int32 [2]",
                    qie_op_label(op));
  const int64_t oh = qie_const_int(size, 0), ow = qie_const_int(size, 1);
  if (out->dims[0] != in->dims[0] || out->dims[1] != oh || out->dims[2] != ow ||
      out->dims[3] != in->dims[3])
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN,
                    "%s: output shape must be [%d, %lld, %lld, %d]", qie_op_label(op), (int)in->dims[0],
                    (long long)oh, (long long)ow, (int)in->dims[3]);
  if (out->elems > 0 && (in->dims[1] <= 0 || in->dims[2] <= 0))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: empty input image", qie_op_label(op));
  if (in->q_count != 0 || out->q_count != 0) {
    if (in->q_count != 1 || out->q_count != 1 || in->scales[0] != out->scales[0] ||
        in->zero_points[0] != out->zero_points[0])
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED,
                      "%s: output quantization differs from the input's", qie_op_label(op));
  }
  qie_resize_nn_params* p = qie_persist_alloc(ctx, sizeof(qie_resize_nn_params));
  if (!p) return QIE_ERR_NO_MEMORY;
  p->batches = in->dims[0];
  p->in_h = in->dims[1];
  p->in_w = in->dims[2];
  p->out_h = (int32_t)oh;
  p->out_w = (int32_t)ow;
  p->depth = in->dims[3];
  p->align_corners = op->iattr[QIE_RESIZE_ALIGN_CORNERS] != 0;
  p->half_pixel_centers = op->iattr[QIE_RESIZE_HALF_PIXEL_CENTERS] != 0;
  p->elem_size = es;
  op->data = p;
  op->kernel = "copy_resize_nearest_nhwc__ref";
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const qie_tensor* in = qie_in(ctx, op, 0);
  qie_tensor* out = qie_out(ctx, op, 0);
  if (out->elems == 0) return QIE_OK;
  qie_resize_nn_ref(op->data, in->data, out->data);
  return QIE_OK;
}

const qie_op_impl qie_op_resize_nearest_neighbor = {QIE_OP_RESIZE_NEAREST_NEIGHBOR,
                                                    "RESIZE_NEAREST_NEIGHBOR", prepare, eval};
