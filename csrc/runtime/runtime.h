/* Internal structures shared by the runtime and the ops (never seen by users). */
#ifndef QIE_RUNTIME_H
#define QIE_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../include/qie.h"
#include "opcodes.h"
#include "plan_format.h"

typedef struct {
  qie_dtype dtype;
  int rank;
  int32_t dims[QIE_MAX_RANK];
  size_t elems;
  size_t bytes;
  uint32_t flags;        /* QIE_TF_* */
  int q_count;           /* 0: not quantized; 1: per tensor; >1: per channel along q_axis */
  int q_axis;            /* -1 for per tensor */
  const float* scales;   /* q_count entries */
  const int32_t* zero_points;
  void* data;            /* blob for constants, arena or persistent region otherwise */
  const char* name;
  /* memory planning */
  int first_use, last_use; /* op indices; -1: never */
  size_t arena_offset;
} qie_tensor;

typedef struct qie_op {
  uint16_t code;
  int n_in, n_out;
  const int32_t* in;  /* tensor indices, -1: absent */
  const int32_t* out;
  int32_t iattr[QIE_OP_IATTRS];
  float fattr[QIE_OP_FATTRS];
  const char* name;
  const struct qie_op_impl* impl;
  void* data;            /* op's prepared constants (persistent region) */
  size_t scratch_bytes;  /* per thread, asked for by prepare; planned into the arena */
  void* scratch;         /* valid during eval: thread t's scratch at t * scratch_stride */
  size_t scratch_stride;
  size_t scratch_offset;
  const char* kernel;    /* name of the kernel eval uses (reported by inspect) */
} qie_op;

typedef struct qie_ctx {
  uint32_t semantics;
  qie_tensor* tensors;
  int n_tensors;
  char* err;            /* QIE_ERR_LEN bytes, never NULL inside the runtime */
  const struct qie_kernel_table* kernels;
  struct qie_threadpool* pool; /* NULL: run on the calling thread */
  /* persistent allocations made during prepare, freed at destroy */
  void** persist;
  int n_persist, cap_persist;
  size_t persist_bytes;
} qie_ctx;

typedef struct qie_op_impl {
  uint16_t code;
  const char* name;
  /* Validates the op's tensors and attributes, computes constants into op->data,
   * sets op->scratch_bytes and op->kernel. Must check every shape it relies on. */
  qie_status (*prepare)(qie_ctx* ctx, qie_op* op);
  /* Runs the op. Must not allocate. */
  qie_status (*eval)(qie_ctx* ctx, qie_op* op);
} qie_op_impl;

/* ---- helpers for ops (runtime/helpers.c) ---- */

/* Formats a message into ctx->err and returns status. */
qie_status qie_fail(qie_ctx* ctx, qie_status status, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Zeroed persistent memory owned by the model; NULL on failure (ctx->err set). */
void* qie_persist_alloc(qie_ctx* ctx, size_t bytes);

/* The op's name for messages: its plan name, else its kind. */
const char* qie_op_label(const qie_op* op);
/* Integer range of a quantized dtype; false for types without one. */
bool qie_dtype_qrange(qie_dtype dtype, int32_t* lo, int32_t* hi);
/* Requires per-tensor quantization with a finite scale > 0 and a zero point inside
 * the dtype's range; returns them. */
qie_status qie_check_quant(qie_ctx* ctx, const qie_op* op, const qie_tensor* t, const char* role,
                           float* scale, int32_t* zero_point);

/* Input i of op (NULL if absent or i out of range); output i (NULL if out of range). */
qie_tensor* qie_in(qie_ctx* ctx, const qie_op* op, int i);
qie_tensor* qie_out(qie_ctx* ctx, const qie_op* op, int i);
size_t qie_dtype_size(qie_dtype dtype);
const char* qie_dtype_name(qie_dtype dtype);
/* Requires the op to have n_in in [min_in, max_in] and exactly n_out outputs, and
 * every required input present. */
qie_status qie_check_io(qie_ctx* ctx, const qie_op* op, int min_in, int max_in, int n_out);
/* Requires tensor t to have the dtype (and rank, when rank >= 0). */
qie_status qie_check_tensor(qie_ctx* ctx, const qie_op* op, const qie_tensor* t, const char* role,
                            qie_dtype dtype, int rank);
/* Per-tensor scale/zero point (q_count must be >= 1; per tensor uses entry 0). */
bool qie_is_quantized(const qie_tensor* t);
float qie_scale(const qie_tensor* t);
int32_t qie_zero_point(const qie_tensor* t);
/* Reads a constant int32/int64 tensor's element i (caller checked bounds and constness). */
int64_t qie_const_int(const qie_tensor* t, size_t i);
bool qie_same_shape(const qie_tensor* a, const qie_tensor* b);

/* Runs fn over work items [0, items) split across the model's active threads,
 * each range with its own thread's scratch (runtime/parallel.c). `work` (e.g. the
 * op's multiply-accumulates) sizes the split: an op too small to repay handing
 * parts to other threads runs on the caller alone. */
typedef void (*qie_op_range_fn)(const void* job, int32_t begin, int32_t end, void* scratch);
void qie_parallel_for(qie_ctx* ctx, const qie_op* op, int32_t items, uint64_t work,
                      qie_op_range_fn fn, const void* job);

/* ---- allocation hook (runtime/alloc.c) ---- */
void* qie_alloc(size_t bytes);
void qie_free(void* ptr);

/* ---- op registry (ops/registry.c) ---- */
const qie_op_impl* qie_find_op(uint16_t code);

#endif
