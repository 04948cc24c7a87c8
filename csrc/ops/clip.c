/* CLIP: clamps every element to [lo, hi] (ONNX Clip with constant bounds). For
 * quantized tensors the bounds are the quantized values and input and output share
 * the quantization, so the clamp is exact. */
#include "../runtime/runtime.h"

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 1, 1, 1);
  if (st != QIE_OK) return st;
  const char* l = qie_op_label(op);
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* out = qie_out(ctx, op, 0);
  if (in->dtype != out->dtype || !qie_same_shape(in, out))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output type or shape differs from input", l);
  if (in->q_count != out->q_count ||
      (in->q_count == 1 && (in->scales[0] != out->scales[0] || in->zero_points[0] != out->zero_points[0])))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: input and output quantization differ", l);
  if (in->dtype == QIE_DT_FLOAT32) {
    if (!(op->fattr[QIE_CLIP_FLO] <= op->fattr[QIE_CLIP_FHI]))
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: bounds %g > %g", l, (double)op->fattr[QIE_CLIP_FLO],
                      (double)op->fattr[QIE_CLIP_FHI]);
    op->kernel = "f32_clip__ref";
    return QIE_OK;
  }
  int32_t lo, hi;
  if (in->dtype == QIE_DT_INT32 || !qie_dtype_qrange(in->dtype, &lo, &hi))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %s not supported", l, qie_dtype_name(in->dtype));
  if (op->iattr[QIE_CLIP_LO] > op->iattr[QIE_CLIP_HI] || op->iattr[QIE_CLIP_LO] < lo ||
      op->iattr[QIE_CLIP_HI] > hi)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: bounds [%d, %d] invalid for %s", l,
                    op->iattr[QIE_CLIP_LO], op->iattr[QIE_CLIP_HI], qie_dtype_name(in->dtype));
  op->kernel = "int_clip__ref";
  return QIE_OK;
}

#define CLAMP_LOOP(T)                                                \
  do {                                                               \
    const T* x = in->data;                                           \
    T* y = out->data;                                                \
    for (size_t i = 0; i < in->elems; ++i)                           \
      y[i] = (T)(x[i] < lo ? lo : (x[i] > hi ? hi : x[i]));          \
  } while (0)

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const qie_tensor* in = qie_in(ctx, op, 0);
  qie_tensor* out = qie_out(ctx, op, 0);
  if (in->dtype == QIE_DT_FLOAT32) {
    const float lo = op->fattr[QIE_CLIP_FLO], hi = op->fattr[QIE_CLIP_FHI];
    CLAMP_LOOP(float);
    return QIE_OK;
  }
  const int32_t lo = op->iattr[QIE_CLIP_LO], hi = op->iattr[QIE_CLIP_HI];
  switch (in->dtype) {
    case QIE_DT_INT8: CLAMP_LOOP(int8_t); break;
    case QIE_DT_UINT8: CLAMP_LOOP(uint8_t); break;
    case QIE_DT_INT16: CLAMP_LOOP(int16_t); break;
    default: CLAMP_LOOP(uint16_t); break;
  }
  return QIE_OK;
}

const qie_op_impl qie_op_clip = {QIE_OP_CLIP, "CLIP", prepare, eval};
