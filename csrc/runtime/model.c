/* A model: the validated plan, its tensors and ops, one arena, prepared ops. */
#include <stdio.h>
#include <string.h>

#include "../kernels/dispatch.h"
#include "arena.h"
#include "model.h"
#include "threadpool.h"

#define QIE_MAX_THREADS 64
#define QIE_SCRATCH_ALIGN 64 /* per-thread scratch slices start on their own cache line */

static void set_err(char* err, const char* msg) {
  if (err) snprintf(err, QIE_ERR_LEN, "%s", msg);
}

static qie_status prepare_ops(qie_model* m) {
  for (int i = 0; i < m->n_ops; ++i) {
    qie_op* op = &m->ops[i];
    m->ctx.err[0] = 0;
    qie_status s = op->impl->prepare(&m->ctx, op);
    if (s != QIE_OK) {
      char inner[QIE_ERR_LEN];
      snprintf(inner, sizeof inner, "%s", m->ctx.err[0] ? m->ctx.err : "prepare failed");
      snprintf(m->errbuf, QIE_ERR_LEN, "op #%d %s (%s): %s", i, op->impl->name, op->name, inner);
      return s;
    }
    if (op->scratch_bytes > QIE_MAX_TENSOR_BYTES / (uint64_t)m->max_threads) {
      snprintf(m->errbuf, QIE_ERR_LEN, "op #%d %s: scratch too large", i, op->impl->name);
      return QIE_ERR_INVALID_PLAN;
    }
    if (!op->kernel) op->kernel = op->impl->name;
  }
  return QIE_OK;
}

/* Lays activations and scratch buffers into one arena, state into its own region. */
static qie_status plan_memory(qie_model* m) {
  int n = 0;
  for (int i = 0; i < m->n_tensors; ++i)
    if (!m->tensors[i].flags && m->tensors[i].first_use >= 0) ++n;
  for (int i = 0; i < m->n_ops; ++i)
    if (m->ops[i].scratch_bytes) ++n;
  qie_buffer_req* reqs = qie_alloc(sizeof(qie_buffer_req) * (size_t)(n ? n : 1));
  int* order = qie_alloc(sizeof(int) * (size_t)(n ? n : 1));
  void** owners = qie_alloc(sizeof(void*) * (size_t)(n ? n : 1));
  if (!reqs || !order || !owners) {
    qie_free(reqs);
    qie_free(order);
    qie_free(owners);
    return QIE_ERR_NO_MEMORY;
  }
  int k = 0;
  for (int i = 0; i < m->n_tensors; ++i) {
    qie_tensor* t = &m->tensors[i];
    if (t->flags || t->first_use < 0) continue;
    reqs[k] = (qie_buffer_req){t->bytes, t->first_use, t->last_use, 0};
    owners[k++] = t;
  }
  const int n_tensor_reqs = k;
  for (int i = 0; i < m->n_ops; ++i) {
    if (!m->ops[i].scratch_bytes) continue;
    /* one slice per thread the model may ever run with */
    qie_op* op = &m->ops[i];
    op->scratch_stride = (op->scratch_bytes + QIE_SCRATCH_ALIGN - 1) / QIE_SCRATCH_ALIGN * QIE_SCRATCH_ALIGN;
    reqs[k] = (qie_buffer_req){op->scratch_stride * (size_t)m->max_threads, i, i, 0};
    owners[k++] = &m->ops[i];
  }
  m->arena_bytes = qie_plan_arena(reqs, n, order, QIE_ALIGN);
  m->arena = qie_alloc(m->arena_bytes ? m->arena_bytes : 1);
  qie_status s = m->arena ? QIE_OK : QIE_ERR_NO_MEMORY;
  if (s == QIE_OK) {
    memset(m->arena, 0, m->arena_bytes);
    for (int j = 0; j < n; ++j) {
      if (j < n_tensor_reqs) {
        qie_tensor* t = owners[j];
        t->arena_offset = reqs[j].offset;
        t->data = m->arena + reqs[j].offset;
      } else {
        qie_op* op = owners[j];
        op->scratch_offset = reqs[j].offset;
        op->scratch = m->arena + reqs[j].offset;
      }
    }
  }
  qie_free(reqs);
  qie_free(order);
  qie_free(owners);
  if (s != QIE_OK) return s;

  size_t state = 0;
  for (int i = 0; i < m->n_tensors; ++i)
    if (m->tensors[i].flags & QIE_TF_VARIABLE) state += (m->tensors[i].bytes + QIE_ALIGN - 1) / QIE_ALIGN * QIE_ALIGN;
  if (state) {
    m->state = qie_alloc(state);
    if (!m->state) return QIE_ERR_NO_MEMORY;
    m->state_bytes = state;
    size_t off = 0;
    for (int i = 0; i < m->n_tensors; ++i) {
      qie_tensor* t = &m->tensors[i];
      if (!(t->flags & QIE_TF_VARIABLE)) continue;
      t->data = m->state + off;
      off += (t->bytes + QIE_ALIGN - 1) / QIE_ALIGN * QIE_ALIGN;
    }
    qie_model_reset_state(m);
  }
  return QIE_OK;
}

qie_status qie_model_create(const uint8_t* plan, size_t plan_size, const qie_options* options,
                            qie_model** out, char* err) {
  if (!out || (!plan && plan_size)) {
    set_err(err, "qie_model_create: bad arguments");
    return QIE_ERR_BAD_INPUT;
  }
  *out = NULL;
  qie_model* m = qie_alloc(sizeof(qie_model));
  if (!m) {
    set_err(err, "out of memory");
    return QIE_ERR_NO_MEMORY;
  }
  memset(m, 0, sizeof *m);
  m->ctx.err = m->errbuf;
  const char* family = options ? options->kernels : NULL;
  m->ctx.kernels = qie_select_kernels(family);
  qie_status s = QIE_OK;
  if (!m->ctx.kernels) {
    snprintf(m->errbuf, QIE_ERR_LEN, "kernel family '%s': %s", family,
             qie_kernels_unavailable_reason(family));
    s = QIE_ERR_BAD_INPUT;
  }
  const int threads = options && options->threads > 1 ? options->threads : 1;
  if (s == QIE_OK && (!options || options->threads >= 0) && threads <= QIE_MAX_THREADS) {
    m->max_threads = threads;
  } else if (s == QIE_OK) {
    snprintf(m->errbuf, QIE_ERR_LEN, "threads must be in 0..%d, got %d", QIE_MAX_THREADS,
             options->threads);
    s = QIE_ERR_BAD_INPUT;
  }
  if (s == QIE_OK && threads > 1) {
    m->ctx.pool = qie_threadpool_create(threads);
    if (!m->ctx.pool) {
      snprintf(m->errbuf, QIE_ERR_LEN, "cannot start %d threads", threads);
      s = QIE_ERR_NO_MEMORY;
    }
  }
  if (s == QIE_OK) {
    /* copy so constants are aligned and the caller's buffer can go away */
    m->plan = qie_alloc(plan_size + QIE_ALIGN);
    if (!m->plan) s = QIE_ERR_NO_MEMORY;
  }
  if (s == QIE_OK) {
    m->plan_size = plan_size;
    if (plan_size) memcpy(m->plan, plan, plan_size);
    s = qie_plan_read(m);
  }
  if (s == QIE_OK) s = prepare_ops(m);
  if (s == QIE_OK) s = plan_memory(m);
  if (s != QIE_OK) {
    if (s == QIE_ERR_NO_MEMORY && !m->errbuf[0]) snprintf(m->errbuf, QIE_ERR_LEN, "out of memory");
    set_err(err, m->errbuf);
    qie_model_destroy(m);
    return s;
  }
  *out = m;
  return QIE_OK;
}

void qie_model_destroy(qie_model* m) {
  if (!m) return;
  qie_threadpool_destroy(m->ctx.pool);
  for (int i = 0; i < m->ctx.n_persist; ++i) qie_free(m->ctx.persist[i]);
  qie_free(m->ctx.persist);
  qie_free(m->arena);
  qie_free(m->state);
  qie_free(m->tensors);
  qie_free(m->ops);
  qie_free(m->plan);
  qie_free(m);
}

qie_status qie_model_run_op(qie_model* m, int i, char* err) {
  if (i < 0 || i >= m->n_ops) {
    if (err) snprintf(err, QIE_ERR_LEN, "op #%d: no such op (the model has %d)", i, m->n_ops);
    return QIE_ERR_BAD_INPUT;
  }
  qie_op* op = &m->ops[i];
  m->ctx.err[0] = 0;
  qie_status s = op->impl->eval(&m->ctx, op);
  if (s != QIE_OK && err) snprintf(err, QIE_ERR_LEN, "op #%d %s: %s", i, op->impl->name, m->ctx.err);
  return s;
}

qie_status qie_model_run(qie_model* m, char* err) {
  for (int i = 0; i < m->n_ops; ++i) {
    qie_status s = qie_model_run_op(m, i, err);
    if (s != QIE_OK) return s;
  }
  return QIE_OK;
}

/* State starts at "zero" in real terms: an int8 state holds its zero point
 * (as TFLite resets variable tensors), every other type holds 0. */
void qie_model_reset_state(qie_model* m) {
  if (!m->state) return;
  memset(m->state, 0, m->state_bytes);
  for (int i = 0; i < m->n_tensors; ++i) {
    const qie_tensor* t = &m->tensors[i];
    if ((t->flags & QIE_TF_VARIABLE) && t->dtype == QIE_DT_INT8 && t->q_count > 0)
      memset(t->data, (int)(int8_t)t->zero_points[0], t->bytes);
  }
}

qie_status qie_model_set_threads(qie_model* m, int threads) {
  if (threads < 1 || threads > m->max_threads) return QIE_ERR_BAD_INPUT;
  if (m->ctx.pool) qie_threadpool_set_active(m->ctx.pool, threads);
  return QIE_OK;
}

int qie_model_threads(const qie_model* m) {
  return m->ctx.pool ? qie_threadpool_active(m->ctx.pool) : 1;
}

int qie_model_max_threads(const qie_model* m) { return m->max_threads; }

const char* qie_model_kernel_family(const qie_model* m) { return m->ctx.kernels->isa; }

size_t qie_model_arena_bytes(const qie_model* m) { return m->arena_bytes; }
size_t qie_model_persistent_bytes(const qie_model* m) { return m->ctx.persist_bytes + m->state_bytes; }
int qie_model_num_inputs(const qie_model* m) { return m->n_inputs; }
int qie_model_num_outputs(const qie_model* m) { return m->n_outputs; }
int qie_model_num_ops(const qie_model* m) { return m->n_ops; }

static void fill_info(const qie_tensor* t, qie_tensor_info* info) {
  info->dtype = t->dtype;
  info->rank = t->rank;
  for (int d = 0; d < QIE_MAX_RANK; ++d) info->dims[d] = t->dims[d];
  info->bytes = t->bytes;
  info->name = t->name;
}

qie_status qie_model_input_info(const qie_model* m, int index, qie_tensor_info* info) {
  if (index < 0 || index >= m->n_inputs) return QIE_ERR_BAD_INPUT;
  fill_info(&m->tensors[m->inputs[index]], info);
  return QIE_OK;
}

qie_status qie_model_output_info(const qie_model* m, int index, qie_tensor_info* info) {
  if (index < 0 || index >= m->n_outputs) return QIE_ERR_BAD_INPUT;
  fill_info(&m->tensors[m->outputs[index]], info);
  return QIE_OK;
}

void* qie_model_input_data(qie_model* m, int index) {
  if (index < 0 || index >= m->n_inputs) return NULL;
  return m->tensors[m->inputs[index]].data;
}

const void* qie_model_output_data(const qie_model* m, int index) {
  if (index < 0 || index >= m->n_outputs) return NULL;
  return m->tensors[m->outputs[index]].data;
}

const char* qie_model_op_kernel(const qie_model* m, int op) {
  if (op < 0 || op >= m->n_ops) return NULL;
  return m->ops[op].kernel;
}

const char* qie_status_name(qie_status s) {
  switch (s) {
    case QIE_OK: return "ok";
    case QIE_ERR_INVALID_PLAN: return "invalid_plan";
    case QIE_ERR_UNSUPPORTED: return "unsupported";
    case QIE_ERR_BAD_INPUT: return "bad_input";
    case QIE_ERR_NO_MEMORY: return "no_memory";
    case QIE_ERR_INTERNAL: return "internal";
  }
  return "unknown";
}
