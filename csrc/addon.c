/* The only Node-aware C: exposes the runtime to JavaScript (src/engine/native.ts).
 * Inference never runs on the event loop: each model has its own runner thread
 * (platform/runner.h), which stays warm between back-to-back runs, and a run's
 * result comes back through a thread-safe function. Should the thread not start,
 * runs go through napi async work (the libuv pool) instead. */
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "include/qie.h"
#include "platform/runner.h"
#include "platform/sd_notify.h"

/* how long a model's runner thread spins for the next run before it sleeps; the
 * same bound as the kernel threads' (csrc/runtime/threadpool.c) */
#define RUNNER_SPIN_NS 200000

typedef struct {
  qie_model* model;
  int busy;          /* a run is queued or executing */
  int dispose_asked; /* destroy once the run completes */
  double last_run_ms; /* qie_model_run's own time in the last run (worker side) */
  qie_runner* runner; /* started at the first run; NULL: runs use napi async work */
  int runner_failed;
} handle_t;

typedef struct {
  handle_t* h;
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep; /* keeps the handle alive while the run is in flight */
  napi_threadsafe_function done; /* runner path: settles the run on the loop */
  qie_status status;
  char err[QIE_ERR_LEN];
} run_t;

#define CALL(env, expr)                                               \
  do {                                                                \
    if ((expr) != napi_ok) {                                          \
      napi_throw_error((env), "internal", "N-API call failed: " #expr); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static const char* code_of(qie_status s) {
  switch (s) {
    case QIE_ERR_INVALID_PLAN: return "model_invalid";
    case QIE_ERR_UNSUPPORTED: return "unsupported_op";
    case QIE_ERR_BAD_INPUT: return "bad_option";
    default: return "internal";
  }
}

static napi_value make_error(napi_env env, const char* code, const char* msg) {
  napi_value c, m, e;
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, c, m, &e);
  return e;
}

/* The model and its runner thread go together (the thread is idle here). */
static void destroy_model(handle_t* h) {
  qie_runner_stop(h->runner);
  h->runner = NULL;
  qie_model_destroy(h->model);
  h->model = NULL;
}

static void finalize_handle(napi_env env, void* data, void* hint) {
  handle_t* h = data;
  /* a pending run holds a reference to the handle object, so busy is 0 here
   * (at environment teardown, stopping the runner waits for a run to finish) */
  destroy_model(h);
  free(h);
}

static handle_t* get_handle(napi_env env, napi_value v) {
  handle_t* h = NULL;
  if (napi_get_value_external(env, v, (void**)&h) != napi_ok || !h) {
    napi_throw_type_error(env, "bad_input", "not a qie model handle");
    return NULL;
  }
  if (!h->model) {
    napi_throw_error(env, "disposed", "the model was disposed");
    return NULL;
  }
  return h;
}

/* create(plan: Uint8Array, kernels: string | undefined, threads: number | undefined) -> handle */
static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* data = NULL;
  size_t len = 0;
  bool is_ta = false;
  napi_is_typedarray(env, argv[0], &is_ta);
  if (!is_ta) {
    napi_throw_type_error(env, "bad_input", "plan must be a Uint8Array");
    return NULL;
  }
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  CALL(env, napi_get_typedarray_info(env, argv[0], &type, &len, &data, &ab, &off));
  char kernels[32] = {0};
  napi_valuetype vt = napi_undefined;
  if (argc > 1) napi_typeof(env, argv[1], &vt);
  if (vt == napi_string) {
    size_t klen = 0;
    CALL(env, napi_get_value_string_utf8(env, argv[1], kernels, sizeof kernels, &klen));
  }
  int32_t threads = 1;
  vt = napi_undefined;
  if (argc > 2) napi_typeof(env, argv[2], &vt);
  if (vt == napi_number) CALL(env, napi_get_value_int32(env, argv[2], &threads));
  qie_options opts = {threads, kernels[0] ? kernels : NULL};
  qie_model* model = NULL;
  char err[QIE_ERR_LEN] = {0};
  qie_status s = qie_model_create(data, len, &opts, &model, err);
  if (s != QIE_OK) {
    napi_throw(env, make_error(env, code_of(s), err));
    return NULL;
  }
  handle_t* h = calloc(1, sizeof *h);
  if (!h) {
    qie_model_destroy(model);
    napi_throw_error(env, "internal", "out of memory");
    return NULL;
  }
  h->model = model;
  napi_value ext;
  CALL(env, napi_create_external(env, h, finalize_handle, NULL, &ext));
  return ext;
}

static napi_value tensor_info_js(napi_env env, const qie_tensor_info* ti) {
  napi_value o, v, shape;
  napi_create_object(env, &o);
  napi_create_uint32(env, ti->dtype, &v);
  napi_set_named_property(env, o, "dtype", v);
  napi_create_array_with_length(env, (size_t)ti->rank, &shape);
  for (int d = 0; d < ti->rank; ++d) {
    napi_create_int32(env, ti->dims[d], &v);
    napi_set_element(env, shape, (uint32_t)d, v);
  }
  napi_set_named_property(env, o, "shape", shape);
  napi_create_double(env, (double)ti->bytes, &v);
  napi_set_named_property(env, o, "bytes", v);
  return o;
}

/* info(handle) -> { arenaBytes, persistentBytes, inputs, outputs, kernels, family } */
static napi_value js_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  handle_t* h = get_handle(env, argv[0]);
  if (!h) return NULL;
  napi_value o, v, arr;
  CALL(env, napi_create_object(env, &o));
  napi_create_double(env, (double)qie_model_arena_bytes(h->model), &v);
  napi_set_named_property(env, o, "arenaBytes", v);
  napi_create_double(env, (double)qie_model_persistent_bytes(h->model), &v);
  napi_set_named_property(env, o, "persistentBytes", v);
  qie_tensor_info ti;
  int n = qie_model_num_inputs(h->model);
  napi_create_array_with_length(env, (size_t)n, &arr);
  for (int i = 0; i < n; ++i) {
    qie_model_input_info(h->model, i, &ti);
    napi_set_element(env, arr, (uint32_t)i, tensor_info_js(env, &ti));
  }
  napi_set_named_property(env, o, "inputs", arr);
  n = qie_model_num_outputs(h->model);
  napi_create_array_with_length(env, (size_t)n, &arr);
  for (int i = 0; i < n; ++i) {
    qie_model_output_info(h->model, i, &ti);
    napi_set_element(env, arr, (uint32_t)i, tensor_info_js(env, &ti));
  }
  napi_set_named_property(env, o, "outputs", arr);
  n = qie_model_num_ops(h->model);
  napi_create_array_with_length(env, (size_t)n, &arr);
  for (int i = 0; i < n; ++i) {
    napi_create_string_utf8(env, qie_model_op_kernel(h->model, i), NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, arr, (uint32_t)i, v);
  }
  napi_set_named_property(env, o, "kernels", arr);
  napi_create_string_utf8(env, qie_model_kernel_family(h->model), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, "family", v);
  return o;
}

/* A fresh typed array of the output's dtype holding a copy of its bytes. */
static napi_value output_array(napi_env env, const qie_tensor_info* ti, const void* src) {
  napi_typedarray_type type = napi_uint8_array;
  size_t elem = 1;
  switch (ti->dtype) {
    case QIE_DT_FLOAT32: type = napi_float32_array; elem = 4; break;
    case QIE_DT_INT8: type = napi_int8_array; break;
    case QIE_DT_INT16: type = napi_int16_array; elem = 2; break;
    case QIE_DT_UINT16: type = napi_uint16_array; elem = 2; break;
    case QIE_DT_INT32: type = napi_int32_array; elem = 4; break;
    case QIE_DT_INT64: type = napi_bigint64_array; elem = 8; break;
    default: break; /* uint8, bool */
  }
  void* dst = NULL;
  napi_value ab, ta;
  napi_create_arraybuffer(env, ti->bytes, &dst, &ab);
  if (ti->bytes) memcpy(dst, src, ti->bytes);
  napi_create_typedarray(env, type, ti->bytes / elem, ab, 0, &ta);
  return ta;
}

static void run_execute(napi_env env, void* data) {
  run_t* r = data;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  r->status = qie_model_run(r->h->model, r->err);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  r->h->last_run_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
}

/* The end of a run, on the event loop: settles its promise, frees what it held. */
static void settle_run(napi_env env, run_t* r, int cancelled) {
  handle_t* h = r->h;
  h->busy = 0;
  if (cancelled || r->status != QIE_OK) {
    const char* msg = cancelled ? "run was cancelled" : r->err;
    napi_reject_deferred(env, r->deferred, make_error(env, code_of(r->status), msg));
  } else {
    int n = qie_model_num_outputs(h->model);
    napi_value arr;
    napi_create_array_with_length(env, (size_t)n, &arr);
    for (int i = 0; i < n; ++i) {
      qie_tensor_info ti;
      qie_model_output_info(h->model, i, &ti);
      napi_set_element(env, arr, (uint32_t)i, output_array(env, &ti, qie_model_output_data(h->model, i)));
    }
    napi_resolve_deferred(env, r->deferred, arr);
  }
  if (h->dispose_asked) destroy_model(h);
  napi_delete_reference(env, r->keep);
  free(r);
}

static void run_complete(napi_env env, napi_status status, void* data) {
  run_t* r = data;
  napi_delete_async_work(env, r->work);
  settle_run(env, r, status != napi_ok);
}

/* runner path: the run on the model's thread, then its result to the loop */
static void runner_settle(napi_env env, napi_value cb, void* context, void* data) {
  if (env) settle_run(env, data, 0); /* no env: the environment is going away */
}

static void runner_job(void* job) {
  run_t* r = job;
  const napi_threadsafe_function done = r->done; /* r is freed once settled */
  run_execute(NULL, r);
  napi_call_threadsafe_function(done, r, napi_tsfn_nonblocking);
  napi_release_threadsafe_function(done, napi_tsfn_release);
}

/* Queues r on the model's runner thread; 0 when the runner cannot take it (the
 * caller then uses napi async work). */
static int post_to_runner(napi_env env, run_t* r) {
  handle_t* h = r->h;
  if (!h->runner && !h->runner_failed) {
    h->runner = qie_runner_start(RUNNER_SPIN_NS);
    h->runner_failed = h->runner == NULL;
  }
  if (!h->runner) return 0;
  napi_value name;
  napi_create_string_utf8(env, "qie.run", NAPI_AUTO_LENGTH, &name);
  /* one per run: it keeps the loop alive until the run is settled, like async work */
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, runner_settle, &r->done) != napi_ok)
    return 0;
  if (qie_runner_post(h->runner, runner_job, r) != 0) {
    napi_release_threadsafe_function(r->done, napi_tsfn_abort);
    return 0;
  }
  return 1;
}

/* The model handle of a call (argv[0]), refused while a run is in flight. */
static handle_t* idle_handle(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv) {
  if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, "internal", "N-API call failed: napi_get_cb_info");
    return NULL;
  }
  handle_t* h = get_handle(env, argv[0]);
  if (h && h->busy) {
    napi_throw_error(env, "busy", "a run of this model is already in progress");
    return NULL;
  }
  return h;
}

/* Work on a model begins: its promise, a reference that keeps the handle alive
 * until the work is settled, and the busy mark. NULL (an exception pending) on failure. */
static napi_value begin_work(napi_env env, handle_t* h, napi_value handle_js, napi_deferred* deferred,
                             napi_ref* keep) {
  napi_value promise;
  CALL(env, napi_create_promise(env, deferred, &promise));
  CALL(env, napi_create_reference(env, handle_js, 1, keep));
  h->busy = 1;
  return promise;
}

/* Queues work on the libuv pool; 0, or -1 with an exception pending. */
static int queue_on_pool(napi_env env, handle_t* h, napi_value handle_js, const char* what,
                         napi_async_execute_callback execute, napi_async_complete_callback complete,
                         void* data, napi_async_work* work) {
  napi_value name;
  napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, handle_js, name, execute, complete, data, work) != napi_ok ||
      napi_queue_async_work(env, *work) != napi_ok) {
    h->busy = 0;
    napi_throw_error(env, "internal", "N-API call failed: queueing async work");
    return -1;
  }
  return 0;
}

/* run(handle, inputs: Uint8Array[]) -> Promise<Buffer[]> (raw output bytes) */
static napi_value js_run(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  handle_t* h = idle_handle(env, info, &argc, argv);
  if (!h) return NULL;
  uint32_t n = 0;
  bool is_array = false;
  napi_is_array(env, argv[1], &is_array);
  if (!is_array || napi_get_array_length(env, argv[1], &n) != napi_ok ||
      n != (uint32_t)qie_model_num_inputs(h->model)) {
    napi_throw_error(env, "bad_input", "inputs must be an array with one entry per model input");
    return NULL;
  }
  /* validate everything before touching the arena */
  for (uint32_t i = 0; i < n; ++i) {
    napi_value el;
    bool is_ta = false;
    napi_get_element(env, argv[1], i, &el);
    napi_is_typedarray(env, el, &is_ta);
    qie_tensor_info ti;
    qie_model_input_info(h->model, (int)i, &ti);
    size_t len = 0;
    void* data = NULL;
    napi_typedarray_type type;
    napi_value ab;
    size_t off;
    if (!is_ta || napi_get_typedarray_info(env, el, &type, &len, &data, &ab, &off) != napi_ok ||
        type != napi_uint8_array || len != ti.bytes) {
      char msg[160];
      snprintf(msg, sizeof msg, "input %u must be %zu raw bytes", i, ti.bytes);
      napi_throw_error(env, "bad_input", msg);
      return NULL;
    }
  }
  for (uint32_t i = 0; i < n; ++i) {
    napi_value el, ab;
    void* data = NULL;
    size_t len = 0, off;
    napi_typedarray_type type;
    napi_get_element(env, argv[1], i, &el);
    napi_get_typedarray_info(env, el, &type, &len, &data, &ab, &off);
    if (len) memcpy(qie_model_input_data(h->model, (int)i), data, len);
  }
  run_t* r = calloc(1, sizeof *r);
  if (!r) {
    napi_throw_error(env, "internal", "out of memory");
    return NULL;
  }
  r->h = h;
  napi_value promise = begin_work(env, h, argv[0], &r->deferred, &r->keep);
  if (!promise) return NULL;
  if (post_to_runner(env, r)) return promise;
  if (queue_on_pool(env, h, argv[0], "qie.run", run_execute, run_complete, r, &r->work) != 0) return NULL;
  return promise;
}

static napi_value js_reset_state(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  handle_t* h = get_handle(env, argv[0]);
  if (!h) return NULL;
  if (h->busy) {
    napi_throw_error(env, "busy", "cannot reset state while a run is in progress");
    return NULL;
  }
  qie_model_reset_state(h->model);
  return NULL;
}

/* setThreads(handle, n): between runs only (the TS layer applies it from its queue) */
static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  handle_t* h = get_handle(env, argv[0]);
  if (!h) return NULL;
  int32_t n = 0;
  if (argc < 2 || napi_get_value_int32(env, argv[1], &n) != napi_ok) {
    napi_throw_type_error(env, "bad_option", "threads must be a number");
    return NULL;
  }
  if (h->busy) {
    napi_throw_error(env, "busy", "cannot change threads while a run is in progress");
    return NULL;
  }
  if (qie_model_set_threads(h->model, n) != QIE_OK) {
    char msg[96];
    snprintf(msg, sizeof msg, "threads must be in 1..%d (the load-time threads option); got %d",
             qie_model_max_threads(h->model), n);
    napi_throw_error(env, "bad_option", msg);
  }
  return NULL;
}

static napi_value js_dispose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  handle_t* h = NULL;
  if (napi_get_value_external(env, argv[0], (void**)&h) != napi_ok || !h || !h->model) return NULL;
  if (h->busy) h->dispose_asked = 1;
  else destroy_model(h);
  return NULL;
}

/* ---- profile(handle, runs) -> Promise<Float64Array>: each op's median ms ----
 * Runs the model `runs` times op by op on whatever the inputs hold, off the
 * event loop like run(). The buffers are taken here, before any inference. */
typedef struct {
  handle_t* h;
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep;
  int runs, n_ops;
  double* times; /* [n_ops][runs], then each op's median in times[op * runs] */
  qie_status status;
  char err[QIE_ERR_LEN];
} profile_t;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static void profile_execute(napi_env env, void* data) {
  profile_t* r = data;
  r->status = QIE_OK;
  for (int i = 0; i < r->runs && r->status == QIE_OK; ++i) {
    double prev = now_ms();
    for (int op = 0; op < r->n_ops && r->status == QIE_OK; ++op) {
      r->status = qie_model_run_op(r->h->model, op, r->err);
      const double t = now_ms();
      r->times[(size_t)op * r->runs + i] = t - prev;
      prev = t;
    }
  }
  for (int op = 0; op < r->n_ops; ++op) {
    double* t = r->times + (size_t)op * r->runs;
    qsort(t, (size_t)r->runs, sizeof *t, cmp_double);
    t[0] = t[r->runs / 2];
  }
}

static void profile_complete(napi_env env, napi_status status, void* data) {
  profile_t* r = data;
  handle_t* h = r->h;
  h->busy = 0;
  if (status != napi_ok || r->status != QIE_OK) {
    napi_reject_deferred(env, r->deferred, make_error(env, code_of(r->status), status != napi_ok ? "profile was cancelled" : r->err));
  } else {
    void* bytes = NULL;
    napi_value ab, arr;
    napi_create_arraybuffer(env, sizeof(double) * (size_t)r->n_ops, &bytes, &ab);
    for (int op = 0; op < r->n_ops; ++op) ((double*)bytes)[op] = r->times[(size_t)op * r->runs];
    napi_create_typedarray(env, napi_float64_array, (size_t)r->n_ops, ab, 0, &arr);
    napi_resolve_deferred(env, r->deferred, arr);
  }
  if (h->dispose_asked) destroy_model(h);
  napi_delete_async_work(env, r->work);
  napi_delete_reference(env, r->keep);
  free(r->times);
  free(r);
}

static napi_value js_profile(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  handle_t* h = idle_handle(env, info, &argc, argv);
  if (!h) return NULL;
  int32_t runs = 0;
  if (argc < 2 || napi_get_value_int32(env, argv[1], &runs) != napi_ok || runs < 1 || runs > 100000) {
    napi_throw_range_error(env, "bad_option", "profile runs must be an integer in 1..100000");
    return NULL;
  }
  profile_t* r = calloc(1, sizeof *r);
  const int n_ops = qie_model_num_ops(h->model);
  if (r) r->times = malloc(sizeof(double) * (size_t)(n_ops > 0 ? n_ops : 1) * (size_t)runs);
  if (!r || !r->times) {
    if (r) free(r);
    napi_throw_error(env, "internal", "out of memory");
    return NULL;
  }
  r->h = h, r->runs = runs, r->n_ops = n_ops;
  napi_value promise = begin_work(env, h, argv[0], &r->deferred, &r->keep);
  if (!promise) return NULL;
  if (queue_on_pool(env, h, argv[0], "qie.profile", profile_execute, profile_complete, r, &r->work) != 0)
    return NULL;
  return promise;
}

/* lastRunMs(handle): the engine's own time in the last completed run, without
 * the hand-off to and from the worker thread (the benchmark reports both). */
static napi_value js_last_run_ms(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  handle_t* h = get_handle(env, argv[0]);
  if (!h) return NULL;
  CALL(env, napi_create_double(env, h->last_run_ms, &out));
  return out;
}

/* sdNotify(socketPath, message): undefined, or the reason it could not be sent. The
 * daemon sends from its own process so the unit can keep NotifyAccess=main. */
static napi_value js_sd_notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[256], msg[1024], err[160];
  size_t len = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok ||
      len >= sizeof path - 1 ||
      napi_get_value_string_utf8(env, argv[1], msg, sizeof msg, &len) != napi_ok ||
      len >= sizeof msg - 1) {
    napi_throw_type_error(env, "bad_option", "sdNotify(socketPath, message) takes two short strings");
    return NULL;
  }
  if (qie_sd_notify(path, msg, err, sizeof err) == 0) return NULL;
  napi_value reason;
  CALL(env, napi_create_string_utf8(env, err, NAPI_AUTO_LENGTH, &reason));
  return reason;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"create", NULL, js_create, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, js_info, NULL, NULL, NULL, napi_default, NULL},
      {"run", NULL, js_run, NULL, NULL, NULL, napi_default, NULL},
      {"resetState", NULL, js_reset_state, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, js_set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"profile", NULL, js_profile, NULL, NULL, NULL, napi_default, NULL},
      {"lastRunMs", NULL, js_last_run_ms, NULL, NULL, NULL, napi_default, NULL},
      {"dispose", NULL, js_dispose, NULL, NULL, NULL, napi_default, NULL},
      {"sdNotify", NULL, js_sd_notify, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
