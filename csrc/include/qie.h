/* qie — the C runtime's whole public face.
 *
 * A model is created from a plan (bytes written by the TypeScript compiler, see
 * docs in csrc/runtime/plan_format.h), validated bound by bound, planned into one
 * arena, prepared once, then run many times without touching the heap. */
#ifndef QIE_H
#define QIE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  QIE_OK = 0,
  QIE_ERR_INVALID_PLAN = 1, /* a bound, index, shape or byte range in the plan is wrong */
  QIE_ERR_UNSUPPORTED = 2,  /* a valid op/dtype combination the runtime does not run */
  QIE_ERR_BAD_INPUT = 3,    /* caller passed a wrong argument (index, size) */
  QIE_ERR_NO_MEMORY = 4,
  QIE_ERR_INTERNAL = 5
} qie_status;

typedef enum {
  QIE_DT_FLOAT32 = 1,
  QIE_DT_INT8 = 2,
  QIE_DT_UINT8 = 3,
  QIE_DT_INT16 = 4,
  QIE_DT_INT32 = 5,
  QIE_DT_INT64 = 6,
  QIE_DT_BOOL = 7,
  QIE_DT_UINT16 = 8
} qie_dtype;

#define QIE_MAX_RANK 6
#define QIE_ERR_LEN 256

typedef struct qie_model qie_model;

typedef struct {
  int threads;         /* 0 or 1: run on the calling thread; n in 2..64: a pool of n - 1
                          workers plus the caller, started at load; also the most
                          qie_model_set_threads may later ask for */
  const char* kernels; /* NULL or "auto": best family for this CPU; or a family by name:
                          "ref" (portable reference), "avx2", "avx512vnni", "neon", "neondot" */
} qie_options;

typedef struct {
  qie_dtype dtype;
  int rank;
  int32_t dims[QIE_MAX_RANK];
  size_t bytes;
  const char* name;
} qie_tensor_info;

/* Every heap allocation the runtime makes goes through this hook (tests count them). */
typedef struct {
  void* (*alloc)(size_t size, void* user);
  void (*release)(void* ptr, void* user);
  void* user;
} qie_allocator;
void qie_set_allocator(const qie_allocator* allocator); /* NULL restores malloc/free */

/* err (may be NULL) receives a one-line message of at most QIE_ERR_LEN bytes. */
qie_status qie_model_create(const uint8_t* plan, size_t plan_size, const qie_options* options,
                            qie_model** out, char* err);
void qie_model_destroy(qie_model* model);

size_t qie_model_arena_bytes(const qie_model* model);      /* activations + scratch */
size_t qie_model_persistent_bytes(const qie_model* model); /* prepared constants, state */
int qie_model_num_inputs(const qie_model* model);
int qie_model_num_outputs(const qie_model* model);
qie_status qie_model_input_info(const qie_model* model, int index, qie_tensor_info* info);
qie_status qie_model_output_info(const qie_model* model, int index, qie_tensor_info* info);
/* Input buffers live in the arena: write them before run; outputs are valid until the next run. */
void* qie_model_input_data(qie_model* model, int index);
const void* qie_model_output_data(const qie_model* model, int index);

qie_status qie_model_run(qie_model* model, char* err);
/* Runs op `op` alone (0 <= op < qie_model_num_ops): for per-op profiling; a
 * whole inference is every op in order, as qie_model_run does. */
qie_status qie_model_run_op(qie_model* model, int op, char* err);
void qie_model_reset_state(qie_model* model); /* zero variable tensors (recurrent state) */

/* Threads the next runs use: 1..the load-time `threads` option (the pool and the
 * per-thread scratch are sized at load). Call it between runs, never during one.
 * Output bytes do not depend on it. QIE_ERR_BAD_INPUT when out of range. */
qie_status qie_model_set_threads(qie_model* model, int threads);
int qie_model_threads(const qie_model* model);     /* active now */
int qie_model_max_threads(const qie_model* model); /* fixed at load */
/* The kernel family chosen at load: "ref", "avx2", "avx512vnni", "neon", "neondot". */
const char* qie_model_kernel_family(const qie_model* model);

int qie_model_num_ops(const qie_model* model);
const char* qie_model_op_kernel(const qie_model* model, int op); /* kernel chosen for op */
const char* qie_status_name(qie_status status);

#ifdef __cplusplus
}
#endif
#endif
