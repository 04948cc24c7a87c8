/* STRIDED_SLICE: in = input, begin, end, strides? (const int32/int64, one entry per
 * slice spec). Per axis, start and stop follow TFLite's StridedSliceStartForAxis /
 * StridedSliceEndForAxis (negative indices from the end, clamping by stride sign,
 * begin/end masks, `offset`: end is relative to begin, shrink takes one element).
 * ellipsis_mask and new_axis_mask are expanded as TensorFlow defines them (TFLite
 * Micro ignores both; with both 0 the two agree). */
#include "../kernels/shape_ops.h"
#include "../runtime/runtime.h"

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

static qie_status check_spec(qie_ctx* ctx, const qie_op* op, const qie_tensor* t,
                             const char* role, size_t n) {
  if (t->dtype != QIE_DT_INT32 && t->dtype != QIE_DT_INT64)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %s is %s, expected int32", qie_op_label(op), role,
                    qie_dtype_name(t->dtype));
  if (!(t->flags & QIE_TF_CONST) || !t->data)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %s must be constant", qie_op_label(op), role);
  if (t->rank != 1 || t->elems != n || t->bytes < n * qie_dtype_size(t->dtype))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s must be 1-D with %zu entries", qie_op_label(op),
                    role, n);
  return QIE_OK;
}

static int popcount32(uint32_t v) {
  int n = 0;
  for (; v; v &= v - 1) ++n;
  return n;
}

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 3, 4, 1);
  if (st) return st;
  const qie_tensor* in = qie_in(ctx, op, 0);
  const qie_tensor* begin = qie_in(ctx, op, 1);
  const qie_tensor* end = qie_in(ctx, op, 2);
  const qie_tensor* strides = qie_in(ctx, op, 3);
  const qie_tensor* out = qie_out(ctx, op, 0);
  const size_t es = qie_dtype_size(in->dtype);
  const int rank = in->rank;
  if (out->dtype != in->dtype || es == 0)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output is %s, input is %s", qie_op_label(op),
                    qie_dtype_name(out->dtype), qie_dtype_name(in->dtype));
  if (rank < 1 || rank > QIE_SHAPE_MAX_RANK)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: input rank %d", qie_op_label(op), rank);
  const size_t n = begin->elems;
  if (n > 32)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %zu slice entries", qie_op_label(op), n);
  if ((st = check_spec(ctx, op, begin, "begin", n))) return st;
  if ((st = check_spec(ctx, op, end, "end", n))) return st;
  if (strides && (st = check_spec(ctx, op, strides, "strides", n))) return st;
  if (in->q_count != 0 || out->q_count != 0) {
    if (in->q_count != 1 || out->q_count != 1 || in->scales[0] != out->scales[0] ||
        in->zero_points[0] != out->zero_points[0])
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED,
                      "%s: output quantization differs from the input's", qie_op_label(op));
  }

  const uint32_t mask_all = n == 32 ? 0xFFFFFFFFu : ((1u << n) - 1u);
  const uint32_t begin_mask = (uint32_t)op->iattr[QIE_SLICE_BEGIN_MASK] & mask_all;
  const uint32_t end_mask = (uint32_t)op->iattr[QIE_SLICE_END_MASK] & mask_all;
  const uint32_t ellipsis_mask = (uint32_t)op->iattr[QIE_SLICE_ELLIPSIS_MASK] & mask_all;
  const uint32_t new_axis_mask =
      (uint32_t)op->iattr[QIE_SLICE_NEW_AXIS_MASK] & mask_all & ~ellipsis_mask;
  const uint32_t shrink_mask =
      (uint32_t)op->iattr[QIE_SLICE_SHRINK_AXIS_MASK] & mask_all & ~ellipsis_mask & ~new_axis_mask;
  const bool offset = op->iattr[QIE_SLICE_OFFSET] != 0;
  if (popcount32(ellipsis_mask) > 1)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: more than one ellipsis", qie_op_label(op));
  /* spec entries that consume one input dim each; the ellipsis (explicit, or
   * implied at the end) covers the rest */
  const int consuming = (int)n - popcount32(ellipsis_mask) - popcount32(new_axis_mask);
  const int ellipsis_dims = rank - consuming;
  if (ellipsis_dims < 0)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %d sliced axes for rank %d", qie_op_label(op),
                    consuming, rank);

  int64_t start[QIE_SHAPE_MAX_RANK], count[QIE_SHAPE_MAX_RANK], step[QIE_SHAPE_MAX_RANK];
  int32_t want[QIE_SHAPE_MAX_RANK + 32];
  int want_rank = 0, d = 0;
  for (size_t j = 0; j <= n; ++j) {
    const uint32_t bit = j < n ? (1u << j) : 0u;
    /* past the last entry: the implied trailing ellipsis, if none was given */
    const bool is_ellipsis = j < n ? (ellipsis_mask & bit) != 0 : ellipsis_mask == 0;
    if (is_ellipsis) {
      for (int k = 0; k < ellipsis_dims; ++k, ++d) {
        start[d] = 0;
        step[d] = 1;
        count[d] = in->dims[d];
        want[want_rank++] = in->dims[d];
      }
      continue;
    }
    if (j == n) break;
    if (new_axis_mask & bit) {
      want[want_rank++] = 1;
      continue;
    }
    const int64_t size = in->dims[d];
    const int64_t stride = strides ? qie_const_int(strides, j) : 1;
    if (stride == 0 || stride < -INT32_MAX || stride > INT32_MAX)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: stride %lld", qie_op_label(op), (long long)stride);
    int64_t b = qie_const_int(begin, j);
    if (b < 0) b += size;
    b = stride > 0 ? clamp64(b, 0, size) : clamp64(b, -1, size - 1);
    if (begin_mask & bit) b = stride > 0 ? 0 : size - 1;
    int64_t c;
    if (shrink_mask & bit) {
      /* one element at b, whatever the stride's sign */
      if (b < 0 || b >= size)
        return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: shrunk axis %d index is out of range",
                        qie_op_label(op), d);
      c = 1;
    } else {
      int64_t e = qie_const_int(end, j);
      if (offset) e += b;
      if (e < 0) e += size;
      e = stride > 0 ? clamp64(e, 0, size) : clamp64(e, -1, size - 1);
      if (end_mask & bit) e = stride > 0 ? size : -1;
      if (stride > 0)
        c = e > b ? (e - b + stride - 1) / stride : 0;
      else
        c = b > e ? (b - e + (-stride) - 1) / (-stride) : 0;
      want[want_rank++] = (int32_t)c;
    }
    start[d] = b;
    step[d] = stride;
    count[d] = c;
    ++d;
  }
  if (out->rank != want_rank)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output rank %d, expected %d", qie_op_label(op),
                    out->rank, want_rank);
  for (int i = 0; i < want_rank; ++i)
    if (out->dims[i] != want[i])
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output dim %d is %d, expected %d",
                      qie_op_label(op), i, (int)out->dims[i], (int)want[i]);

  qie_gather_params* p = qie_persist_alloc(ctx, sizeof(qie_gather_params));
  if (!p) return QIE_ERR_NO_MEMORY;
  p->rank = rank;
  p->elem_size = es;
  p->start = 0;
  int64_t in_stride = 1;
  for (int k = rank - 1; k >= 0; --k) {
    p->count[k] = count[k];
    p->step[k] = step[k] * in_stride;
    if (count[k] > 0) p->start += start[k] * in_stride;
    in_stride *= in->dims[k];
  }
  op->data = p;
  op->kernel = "copy_strided_slice__ref";
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const qie_tensor* in = qie_in(ctx, op, 0);
  qie_tensor* out = qie_out(ctx, op, 0);
  if (out->elems == 0) return QIE_OK;
  qie_strided_gather_ref(op->data, in->data, out->data);
  return QIE_OK;
}

const qie_op_impl qie_op_strided_slice = {QIE_OP_STRIDED_SLICE, "STRIDED_SLICE", prepare, eval};
