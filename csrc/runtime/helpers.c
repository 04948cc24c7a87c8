/* Small helpers the ops share: messages, tensor access, validation. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime.h"

qie_status qie_fail(qie_ctx* ctx, qie_status status, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx->err, QIE_ERR_LEN, fmt, ap);
  va_end(ap);
  return status;
}

void* qie_persist_alloc(qie_ctx* ctx, size_t bytes) {
  if (ctx->n_persist == ctx->cap_persist) {
    int cap = ctx->cap_persist ? ctx->cap_persist * 2 : 16;
    void** grown = qie_alloc((size_t)cap * sizeof(void*));
    if (!grown) {
      qie_fail(ctx, QIE_ERR_NO_MEMORY, "out of memory for prepared data");
      return NULL;
    }
    if (ctx->persist) memcpy(grown, ctx->persist, (size_t)ctx->n_persist * sizeof(void*));
    qie_free(ctx->persist);
    ctx->persist = grown;
    ctx->cap_persist = cap;
  }
  void* p = qie_alloc(bytes);
  if (!p) {
    qie_fail(ctx, QIE_ERR_NO_MEMORY, "out of memory (%zu bytes of prepared data)", bytes);
    return NULL;
  }
  memset(p, 0, bytes);
  ctx->persist[ctx->n_persist++] = p;
  ctx->persist_bytes += bytes;
  return p;
}

qie_tensor* qie_in(qie_ctx* ctx, const qie_op* op, int i) {
  if (i < 0 || i >= op->n_in || op->in[i] < 0) return NULL;
  return &ctx->tensors[op->in[i]];
}

qie_tensor* qie_out(qie_ctx* ctx, const qie_op* op, int i) {
  if (i < 0 || i >= op->n_out || op->out[i] < 0) return NULL;
  return &ctx->tensors[op->out[i]];
}

size_t qie_dtype_size(qie_dtype dtype) {
  switch (dtype) {
    case QIE_DT_FLOAT32:
    case QIE_DT_INT32:
      return 4;
    case QIE_DT_INT8:
    case QIE_DT_UINT8:
    case QIE_DT_BOOL:
      return 1;
    case QIE_DT_INT16:
    case QIE_DT_UINT16:
      return 2;
    case QIE_DT_INT64:
      return 8;
  }
  return 0;
}

const char* qie_dtype_name(qie_dtype dtype) {
  switch (dtype) {
    case QIE_DT_FLOAT32: return "float32";
    case QIE_DT_INT8: return "int8";
    case QIE_DT_UINT8: return "uint8";
    case QIE_DT_INT16: return "int16";
    case QIE_DT_UINT16: return "uint16";
    case QIE_DT_INT32: return "int32";
    case QIE_DT_INT64: return "int64";
    case QIE_DT_BOOL: return "bool";
  }
  return "unknown";
}

const char* qie_op_label(const qie_op* op) {
  if (op->name && op->name[0]) return op->name;
  return op->impl ? op->impl->name : "op";
}

bool qie_dtype_qrange(qie_dtype dtype, int32_t* lo, int32_t* hi) {
  switch (dtype) {
    case QIE_DT_INT8: *lo = -128; *hi = 127; return true;
    case QIE_DT_UINT8: *lo = 0; *hi = 255; return true;
    case QIE_DT_INT16: *lo = -32768; *hi = 32767; return true;
    case QIE_DT_UINT16: *lo = 0; *hi = 65535; return true;
    case QIE_DT_INT32: *lo = INT32_MIN; *hi = INT32_MAX; return true;
    default: return false;
  }
}

qie_status qie_check_quant(qie_ctx* ctx, const qie_op* op, const qie_tensor* t, const char* role,
                           float* scale, int32_t* zero_point) {
  const char* l = qie_op_label(op);
  if (t->q_count < 1 || !t->scales || !t->zero_points)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s has no quantization parameters", l, role);
  if (t->q_count > 1)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: per-channel quantized %s", l, role);
  *scale = t->scales[0];
  *zero_point = t->zero_points[0];
  if (!(isfinite(*scale) && *scale > 0.0f))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s scale %g is not a positive number", l, role,
                    (double)*scale);
  int32_t lo, hi;
  if (qie_dtype_qrange(t->dtype, &lo, &hi) && (*zero_point < lo || *zero_point > hi))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s zero point %d out of range", l, role,
                    (int)*zero_point);
  return QIE_OK;
}

qie_status qie_check_io(qie_ctx* ctx, const qie_op* op, int min_in, int max_in, int n_out) {
  if (op->n_in < min_in || op->n_in > max_in)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: expects %d..%d inputs, has %d", qie_op_label(op),
                    min_in, max_in, op->n_in);
  if (op->n_out != n_out)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: expects %d outputs, has %d", qie_op_label(op),
                    n_out, op->n_out);
  for (int i = 0; i < min_in; ++i)
    if (op->in[i] < 0)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: input %d is required", qie_op_label(op), i);
  for (int i = 0; i < n_out; ++i)
    if (op->out[i] < 0)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output %d is required", qie_op_label(op), i);
  return QIE_OK;
}

qie_status qie_check_tensor(qie_ctx* ctx, const qie_op* op, const qie_tensor* t, const char* role,
                            qie_dtype dtype, int rank) {
  if (!t) return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: missing %s", qie_op_label(op), role);
  if (t->dtype != dtype)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %s is %s, expected %s", qie_op_label(op), role,
                    qie_dtype_name(t->dtype), qie_dtype_name(dtype));
  if (rank >= 0 && t->rank != rank)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %s has rank %d, expected %d", qie_op_label(op),
                    role, t->rank, rank);
  return QIE_OK;
}

bool qie_is_quantized(const qie_tensor* t) { return t->q_count > 0; }
float qie_scale(const qie_tensor* t) { return t->q_count > 0 ? t->scales[0] : 0.0f; }
int32_t qie_zero_point(const qie_tensor* t) { return t->q_count > 0 ? t->zero_points[0] : 0; }

int64_t qie_const_int(const qie_tensor* t, size_t i) {
  if (t->dtype == QIE_DT_INT64) {
    int64_t v;
    memcpy(&v, (const uint8_t*)t->data + i * 8, 8);
    return v;
  }
  int32_t v;
  memcpy(&v, (const uint8_t*)t->data + i * 4, 4);
  return v;
}

bool qie_same_shape(const qie_tensor* a, const qie_tensor* b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; ++i)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}
