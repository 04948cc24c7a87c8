/* Workers wait for a new generation number, spinning briefly (ops of a model
 * follow each other within microseconds) and then sleeping on a condition
 * variable, so an idle model costs no CPU. */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "runtime.h"

#define SPIN_ROUNDS 20000 /* ~ tens of microseconds before a worker sleeps */

typedef struct {
  qie_threadpool* pool;
  int index;
  pthread_t tid;
} worker;

struct qie_threadpool {
  int max, active;
  worker* workers; /* max - 1 */
  int started;
  pthread_mutex_t mu;
  pthread_cond_t wake;
  atomic_uint generation;
  atomic_int pending; /* workers still running the current loop */
  atomic_int stop;
  /* the current loop */
  qie_range_fn fn;
  void* job;
  int32_t items;
  int parts;
};

static void range_of(int32_t items, int parts, int t, int32_t* b, int32_t* e) {
  *b = (int32_t)((int64_t)items * t / parts);
  *e = (int32_t)((int64_t)items * (t + 1) / parts);
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static void* worker_main(void* arg) {
  worker* w = arg;
  qie_threadpool* p = w->pool;
  unsigned seen = atomic_load(&p->generation);
  for (;;) {
    unsigned g;
    int spins = 0;
    while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen &&
           !atomic_load(&p->stop)) {
      if (++spins < SPIN_ROUNDS) {
        cpu_relax();
        continue;
      }
      pthread_mutex_lock(&p->mu);
      while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop))
        pthread_cond_wait(&p->wake, &p->mu);
      pthread_mutex_unlock(&p->mu);
    }
    if (atomic_load(&p->stop)) return NULL;
    seen = g;
    if (w->index < p->parts) {
      int32_t b, e;
      range_of(p->items, p->parts, w->index, &b, &e);
      if (b < e) p->fn(p->job, b, e, w->index);
    }
    /* every worker acknowledges every generation, so none can lag into the next loop */
    atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
  }
}

qie_threadpool* qie_threadpool_create(int max_threads) {
  if (max_threads < 1) max_threads = 1;
  qie_threadpool* p = qie_alloc(sizeof *p);
  if (!p) return NULL;
  memset(p, 0, sizeof *p);
  p->max = max_threads;
  p->active = max_threads;
  atomic_init(&p->generation, 0);
  atomic_init(&p->pending, 0);
  atomic_init(&p->stop, 0);
  if (max_threads == 1) return p;
  p->workers = qie_alloc(sizeof(worker) * (size_t)(max_threads - 1));
  if (!p->workers || pthread_mutex_init(&p->mu, NULL) != 0) {
    qie_free(p->workers);
    qie_free(p);
    return NULL;
  }
  pthread_cond_init(&p->wake, NULL);
  for (int i = 0; i < max_threads - 1; ++i) {
    p->workers[i].pool = p;
    p->workers[i].index = i + 1;
    if (pthread_create(&p->workers[i].tid, NULL, worker_main, &p->workers[i]) != 0) break;
    ++p->started;
  }
  if (p->started != max_threads - 1) {
    qie_threadpool_destroy(p);
    return NULL;
  }
  return p;
}

void qie_threadpool_destroy(qie_threadpool* p) {
  if (!p) return;
  if (p->max > 1) {
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; ++i) pthread_join(p->workers[i].tid, NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
  }
  qie_free(p->workers);
  qie_free(p);
}

int qie_threadpool_max(const qie_threadpool* p) { return p->max; }
int qie_threadpool_active(const qie_threadpool* p) { return p->active; }

int qie_threadpool_set_active(qie_threadpool* p, int n) {
  if (n < 1 || n > p->max) return -1;
  p->active = n;
  return 0;
}

void qie_threadpool_run(qie_threadpool* p, int32_t items, qie_range_fn fn, void* job) {
  if (items <= 0) return;
  int parts = p->active < items ? p->active : (int)items;
  if (parts <= 1) {
    fn(job, 0, items, 0);
    return;
  }
  p->fn = fn;
  p->job = job;
  p->items = items;
  p->parts = parts;
  /* every worker wakes for a generation; those past `parts` only acknowledge it */
  atomic_store(&p->pending, p->max - 1);
  pthread_mutex_lock(&p->mu);
  atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  int32_t b, e;
  range_of(items, parts, 0, &b, &e);
  fn(job, b, e, 0);
  while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) cpu_relax();
}
