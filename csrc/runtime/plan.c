/* Reading a plan: nothing in it is trusted until checked here. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

static uint32_t rd32(const uint8_t* p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t rd16(const uint8_t* p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Is [off, off + count * rec) inside the plan? */
static int in_plan(uint64_t off, uint64_t count, uint64_t rec, uint64_t size) {
  return count <= QIE_MAX_COUNT && off <= size && count * rec <= size - off;
}

static qie_status bad(qie_model* m, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static qie_status bad(qie_model* m, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char msg[QIE_ERR_LEN];
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(m->errbuf, QIE_ERR_LEN, "invalid plan: %s", msg);
  return QIE_ERR_INVALID_PLAN;
}

static int valid_dtype(uint32_t d) { return d >= QIE_DT_FLOAT32 && d <= QIE_DT_UINT16; }

static qie_status parse_tensors(qie_model* m, const uint32_t* h) {
  const uint8_t* p = m->plan;
  const uint32_t quant_count = h[QIE_H_QUANT_COUNT];
  const uint8_t* names = p + h[QIE_H_NAMES_OFF];
  const uint32_t names_size = h[QIE_H_NAMES_SIZE];
  const uint8_t* blob = p + h[QIE_H_BLOB_OFF];
  const uint32_t blob_size = h[QIE_H_BLOB_SIZE];
  const uint32_t* quant = (const uint32_t*)(p + h[QIE_H_QUANT_OFF]);

  for (int i = 0; i < m->n_tensors; ++i) {
    const uint8_t* r = p + h[QIE_H_TENSORS_OFF] + (size_t)i * QIE_PLAN_TENSOR_BYTES;
    qie_tensor* t = &m->tensors[i];
    if (!valid_dtype(r[0])) return bad(m, "tensor %d: unknown dtype %u", i, r[0]);
    t->dtype = (qie_dtype)r[0];
    t->rank = r[1];
    t->flags = r[2];
    if (t->rank > QIE_MAX_RANK) return bad(m, "tensor %d: rank %d above %d", i, t->rank, QIE_MAX_RANK);
    if ((t->flags & ~(QIE_TF_CONST | QIE_TF_VARIABLE)) || t->flags == (QIE_TF_CONST | QIE_TF_VARIABLE))
      return bad(m, "tensor %d: bad flags %u", i, t->flags);
    uint64_t elems = 1;
    for (int d = 0; d < t->rank; ++d) {
      int32_t v = (int32_t)rd32(r + 4 + 4 * d);
      if (v <= 0) return bad(m, "tensor %d: dimension %d is %d", i, d, v);
      t->dims[d] = v;
      elems *= (uint64_t)v;
      if (elems * 8 > QIE_MAX_TENSOR_BYTES) return bad(m, "tensor %d: too large", i);
    }
    for (int d = t->rank; d < QIE_MAX_RANK; ++d) t->dims[d] = 1;
    t->elems = (size_t)elems;
    t->bytes = (size_t)elems * qie_dtype_size(t->dtype);

    const uint32_t data_off = rd32(r + 28), data_size = rd32(r + 32);
    if (t->flags & QIE_TF_CONST) {
      if (data_size != t->bytes)
        return bad(m, "tensor %d: constant holds %u bytes, shape needs %zu", i, data_size, t->bytes);
      if (!in_plan(data_off, data_size, 1, blob_size) || data_off % QIE_ALIGN)
        return bad(m, "tensor %d: constant data outside the blob", i);
      t->data = (void*)(blob + data_off);
    }

    const uint32_t q_count = rd32(r + 36);
    const int32_t q_axis = (int32_t)rd32(r + 40);
    const uint32_t q_at = rd32(r + 44);
    if (q_count > 0) {
      if (q_count > (1u << 20) || q_at > quant_count || 2ull * q_count > quant_count - q_at)
        return bad(m, "tensor %d: quantization parameters outside the pool", i);
      if (q_count == 1) {
        if (q_axis != -1 && (q_axis < 0 || q_axis >= t->rank))
          return bad(m, "tensor %d: quantization axis %d", i, q_axis);
      } else if (q_axis < 0 || q_axis >= t->rank || (uint32_t)t->dims[q_axis] != q_count) {
        return bad(m, "tensor %d: %u per-channel parameters do not match axis %d", i, q_count, q_axis);
      }
      t->q_count = (int)q_count;
      t->q_axis = q_count == 1 ? -1 : q_axis;
      t->scales = (const float*)(quant + q_at);
      t->zero_points = (const int32_t*)(quant + q_at + q_count);
      for (uint32_t k = 0; k < q_count; ++k)
        if (!isfinite(t->scales[k]) || t->scales[k] < 0.0f)
          return bad(m, "tensor %d: scale %u is not a finite non-negative number", i, k);
    } else {
      t->q_axis = -1;
    }
    const uint32_t name_off = rd32(r + 48);
    t->name = name_off < names_size ? (const char*)names + name_off : "";
    t->first_use = t->last_use = -1;
  }
  return QIE_OK;
}

static qie_status check_index_list(qie_model* m, const int32_t* idx, int n, int allow_absent,
                                   const char* what, int owner) {
  for (int k = 0; k < n; ++k) {
    if (idx[k] == -1 && allow_absent) continue;
    if (idx[k] < 0 || idx[k] >= m->n_tensors)
      return bad(m, "%s %d: tensor index %d out of range", what, owner, idx[k]);
  }
  return QIE_OK;
}

static qie_status parse_ops(qie_model* m, const uint32_t* h) {
  const uint8_t* p = m->plan;
  const int32_t* index = (const int32_t*)(p + h[QIE_H_INDEX_OFF]);
  const uint32_t index_count = h[QIE_H_INDEX_COUNT];
  const uint8_t* names = p + h[QIE_H_NAMES_OFF];
  const uint32_t names_size = h[QIE_H_NAMES_SIZE];

  for (int i = 0; i < m->n_ops; ++i) {
    const uint8_t* r = p + h[QIE_H_OPS_OFF] + (size_t)i * QIE_PLAN_OP_BYTES;
    qie_op* op = &m->ops[i];
    op->code = rd16(r);
    op->n_in = rd16(r + 2);
    op->n_out = rd16(r + 4);
    const uint32_t at = rd32(r + 8);
    const uint32_t name_off = rd32(r + 12 + 4 * QIE_OP_IATTRS + 4 * QIE_OP_FATTRS);
    op->name = name_off < names_size ? (const char*)names + name_off : "";
    op->impl = qie_find_op(op->code);
    if (!op->impl) {
      snprintf(m->errbuf, QIE_ERR_LEN, "op #%d (%s): op code %u is not supported by this runtime", i,
               op->name, op->code);
      return QIE_ERR_UNSUPPORTED;
    }
    if (op->n_in > QIE_OP_MAX_IO || op->n_out > QIE_OP_MAX_IO || op->n_out == 0)
      return bad(m, "op #%d: %d inputs, %d outputs", i, op->n_in, op->n_out);
    if (at > index_count || (uint32_t)(op->n_in + op->n_out) > index_count - at)
      return bad(m, "op #%d: inputs outside the index pool", i);
    op->in = index + at;
    op->out = index + at + op->n_in;
    for (int k = 0; k < QIE_OP_IATTRS; ++k) op->iattr[k] = (int32_t)rd32(r + 12 + 4 * k);
    for (int k = 0; k < QIE_OP_FATTRS; ++k) {
      uint32_t bits = rd32(r + 12 + 4 * QIE_OP_IATTRS + 4 * k);
      memcpy(&op->fattr[k], &bits, 4);
    }
    qie_status s = check_index_list(m, op->in, op->n_in, 1, "op #", i);
    if (s == QIE_OK) s = check_index_list(m, op->out, op->n_out, 0, "op #", i);
    if (s != QIE_OK) return s;
  }
  return QIE_OK;
}

/* Checks dataflow (every activation is written before it is read, once) and
 * records each tensor's lifetime for the arena planner. */
static qie_status check_dataflow(qie_model* m) {
  for (int k = 0; k < m->n_inputs; ++k) {
    qie_tensor* t = &m->tensors[m->inputs[k]];
    if (t->flags) return bad(m, "graph input %d is a constant or state tensor", k);
    t->first_use = 0;
    t->last_use = 0;
  }
  for (int i = 0; i < m->n_ops; ++i) {
    const qie_op* op = &m->ops[i];
    for (int k = 0; k < op->n_in; ++k) {
      if (op->in[k] < 0) continue;
      qie_tensor* t = &m->tensors[op->in[k]];
      if (t->flags) continue;
      if (t->first_use < 0)
        return bad(m, "op #%d (%s) reads tensor %d (%s) before anything writes it", i, op->name,
                   op->in[k], t->name);
      t->last_use = i;
    }
    for (int k = 0; k < op->n_out; ++k) {
      qie_tensor* t = &m->tensors[op->out[k]];
      if (t->flags) return bad(m, "op #%d writes constant or state tensor %d", i, op->out[k]);
      if (t->first_use >= 0) return bad(m, "tensor %d is written twice (op #%d)", op->out[k], i);
      t->first_use = i;
      t->last_use = i;
    }
  }
  for (int k = 0; k < m->n_outputs; ++k) {
    qie_tensor* t = &m->tensors[m->outputs[k]];
    if (t->flags & QIE_TF_VARIABLE) return bad(m, "graph output %d is a state tensor", k);
    if (!(t->flags & QIE_TF_CONST) && t->first_use < 0)
      return bad(m, "graph output %d is never written", k);
    t->last_use = m->n_ops; /* outputs stay readable after the last op */
  }
  return QIE_OK;
}

qie_status qie_plan_read(qie_model* m) {
  const uint8_t* p = m->plan;
  const size_t size = m->plan_size;
  if (size < QIE_PLAN_HEADER_BYTES) return bad(m, "%zu bytes is shorter than the header", size);
  uint32_t h[QIE_PLAN_HEADER_BYTES / 4];
  for (int k = 0; k < QIE_PLAN_HEADER_BYTES / 4; ++k) h[k] = rd32(p + 4 * k);
  if (h[QIE_H_MAGIC] != QIE_PLAN_MAGIC) return bad(m, "not a qie plan (magic)");
  if (h[QIE_H_VERSION] != QIE_PLAN_VERSION)
    return bad(m, "plan version %u, runtime reads %u", h[QIE_H_VERSION], QIE_PLAN_VERSION);
  if (h[QIE_H_TOTAL_SIZE] != size) return bad(m, "plan says %u bytes, got %zu", h[QIE_H_TOTAL_SIZE], size);
  if (h[QIE_H_SEMANTICS] > QIE_SEMANTICS_ONNX) return bad(m, "unknown semantics %u", h[QIE_H_SEMANTICS]);
  if (!in_plan(h[QIE_H_TENSORS_OFF], h[QIE_H_N_TENSORS], QIE_PLAN_TENSOR_BYTES, size) ||
      !in_plan(h[QIE_H_OPS_OFF], h[QIE_H_N_OPS], QIE_PLAN_OP_BYTES, size) ||
      !in_plan(h[QIE_H_INDEX_OFF], h[QIE_H_INDEX_COUNT], 4, size) ||
      !in_plan(h[QIE_H_QUANT_OFF], h[QIE_H_QUANT_COUNT], 4, size) ||
      !in_plan(h[QIE_H_NAMES_OFF], h[QIE_H_NAMES_SIZE], 1, size) ||
      !in_plan(h[QIE_H_BLOB_OFF], h[QIE_H_BLOB_SIZE], 1, size))
    return bad(m, "a section lies outside the plan");
  if (h[QIE_H_INDEX_OFF] % 4 || h[QIE_H_QUANT_OFF] % 4 || h[QIE_H_BLOB_OFF] % QIE_ALIGN)
    return bad(m, "a section is misaligned");
  if (h[QIE_H_NAMES_SIZE] == 0 || p[h[QIE_H_NAMES_OFF] + h[QIE_H_NAMES_SIZE] - 1] != 0)
    return bad(m, "name table is not NUL-terminated");
  if (h[QIE_H_N_INPUTS] > QIE_OP_MAX_IO || h[QIE_H_N_OUTPUTS] > QIE_OP_MAX_IO || h[QIE_H_N_OUTPUTS] == 0)
    return bad(m, "%u inputs, %u outputs", h[QIE_H_N_INPUTS], h[QIE_H_N_OUTPUTS]);
  const uint32_t io_at = h[QIE_H_GRAPH_IO_AT];
  if (io_at > h[QIE_H_INDEX_COUNT] || h[QIE_H_N_INPUTS] + h[QIE_H_N_OUTPUTS] > h[QIE_H_INDEX_COUNT] - io_at)
    return bad(m, "graph inputs/outputs outside the index pool");

  m->ctx.semantics = h[QIE_H_SEMANTICS];
  m->n_tensors = (int)h[QIE_H_N_TENSORS];
  m->n_ops = (int)h[QIE_H_N_OPS];
  m->n_inputs = (int)h[QIE_H_N_INPUTS];
  m->n_outputs = (int)h[QIE_H_N_OUTPUTS];
  const int32_t* index = (const int32_t*)(p + h[QIE_H_INDEX_OFF]);
  m->inputs = index + io_at;
  m->outputs = index + io_at + m->n_inputs;

  m->tensors = qie_alloc(sizeof(qie_tensor) * (size_t)(m->n_tensors ? m->n_tensors : 1));
  m->ops = qie_alloc(sizeof(qie_op) * (size_t)(m->n_ops ? m->n_ops : 1));
  if (!m->tensors || !m->ops) return QIE_ERR_NO_MEMORY;
  memset(m->tensors, 0, sizeof(qie_tensor) * (size_t)m->n_tensors);
  memset(m->ops, 0, sizeof(qie_op) * (size_t)m->n_ops);
  m->ctx.tensors = m->tensors;
  m->ctx.n_tensors = m->n_tensors;

  qie_status s = parse_tensors(m, h);
  if (s == QIE_OK) s = check_index_list(m, m->inputs, m->n_inputs, 0, "graph input", 0);
  if (s == QIE_OK) s = check_index_list(m, m->outputs, m->n_outputs, 0, "graph output", 0);
  if (s == QIE_OK) s = parse_ops(m, h);
  if (s == QIE_OK) s = check_dataflow(m);
  return s;
}

