/* The model object shared by the plan reader (plan.c) and the lifecycle (model.c). */
#ifndef QIE_MODEL_H
#define QIE_MODEL_H

#include "runtime.h"

#define QIE_ALIGN 16
#define QIE_MAX_TENSOR_BYTES ((uint64_t)1 << 31)
#define QIE_MAX_COUNT (1 << 24) /* tensors, ops, indices: far above any real model */

struct qie_model {
  qie_ctx ctx;
  uint8_t* plan; /* aligned private copy: constants and quant params point into it */
  size_t plan_size;
  qie_tensor* tensors;
  int n_tensors;
  qie_op* ops;
  int n_ops;
  const int32_t* inputs;
  const int32_t* outputs;
  int n_inputs, n_outputs;
  uint8_t* arena;
  size_t arena_bytes;
  uint8_t* state; /* variable tensors */
  size_t state_bytes;
  int max_threads; /* fixed at load: the pool's size and the scratch copies planned */
  char errbuf[QIE_ERR_LEN];
};

/* Reads and validates m->plan (m->plan_size bytes): every offset, count, index,
 * shape and byte range, and the dataflow (each activation written once, before it
 * is read). Fills tensors, ops, graph inputs/outputs and tensor lifetimes. On
 * failure m->errbuf says why. */
qie_status qie_plan_read(qie_model* m);

#endif
