/* A loop is published as one atomic ticket: generation, part count and the next
 * unclaimed part. The caller and the workers claim parts by compare-and-swap, so
 * a part runs exactly once, on whichever thread gets it first. There are a few
 * parts per thread: when a worker is slow to wake or is preempted (a loaded
 * machine, more threads than cores), the others take the parts it did not get to,
 * and uneven parts even out. A part always covers the same items, and a thread
 * uses its own scratch slot, so the bytes never depend on who ran what. Workers
 * spin briefly between loops (ops follow each other within microseconds), then
 * sleep on a condition variable, so an idle model costs no CPU. */
#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "../platform/cpu_relax.h"
#include "runtime.h"

#define SPIN_ROUNDS 4000 /* pause instructions before the caller yields */
#ifndef WORKER_SPIN_NS
/* How long an idle worker spins before it sleeps. Longer than a run's gaps
 * between ops and between back-to-back runs (Node's hand-off through its own
 * thread pool takes tens of microseconds): a worker that slept there wakes
 * through the kernel, and on a virtual machine an idle vCPU is halted by the
 * host too, which made 2-thread runs after a pause ~1.5x slower. Bounded, so
 * no inference means no CPU after this long. */
#define WORKER_SPIN_NS 200000 /* 0.2 ms */
#endif
#define PARTS_PER_THREAD 4
#define MAX_PARTS 255 /* the ticket's 8 bits */

/* ticket: generation << 16 | parts << 8 | next part */
#define T_NEXT(t) ((unsigned)((t) & 0xff))
#define T_PARTS(t) ((unsigned)(((t) >> 8) & 0xff))
#define T_GEN(t) ((t) >> 16)

typedef struct {
  qie_threadpool* pool;
  int slot; /* 1..max-1; the caller is 0 */
  pthread_t tid;
} worker;

struct qie_threadpool {
  int max, active;
  worker* workers; /* max - 1 */
  int started;
  pthread_mutex_t mu;
  pthread_cond_t wake;
  _Atomic uint64_t ticket;
  atomic_int done; /* parts finished in the current loop */
  atomic_int stop;
  /* the current loop: written before its ticket is published */
  qie_range_fn fn;
  void* job;
  int32_t items;
};

/* Claims and runs parts of the loop `t` belongs to until none is left or a newer
 * loop was published. Returns the generation it worked on. */
static uint64_t claim_parts(qie_threadpool* p, uint64_t t, int slot) {
  const uint64_t gen = T_GEN(t);
  while (T_GEN(t) == gen && T_NEXT(t) < T_PARTS(t)) {
    if (atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel,
                                              memory_order_acquire)) {
      const int part = (int)T_NEXT(t), parts = (int)T_PARTS(t);
      const int32_t b = (int32_t)((int64_t)p->items * part / parts);
      const int32_t e = (int32_t)((int64_t)p->items * (part + 1) / parts);
      if (b < e) p->fn(p->job, b, e, slot);
      atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
      t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    }
  }
  return gen;
}

static uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void* worker_main(void* arg) {
  qie_threadpool* p = ((worker*)arg)->pool;
  const int slot = ((worker*)arg)->slot;
  /* generation 0 is the pool's state before any loop; reading the ticket here
   * instead could skip a loop published before this thread got to run */
  uint64_t seen = 0;
  for (;;) {
    uint64_t t;
    unsigned spins = 0;
    const uint64_t spin_until = monotonic_ns() + WORKER_SPIN_NS;
    while (T_GEN(t = atomic_load_explicit(&p->ticket, memory_order_acquire)) == seen) {
      if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return NULL;
      /* the clock is read once per 64 pauses: a pause is 10-150 cycles */
      if (++spins % 64 != 0 || monotonic_ns() < spin_until) {
        qie_cpu_relax();
        continue;
      }
      pthread_mutex_lock(&p->mu);
      while (T_GEN(atomic_load(&p->ticket)) == seen && !atomic_load(&p->stop))
        pthread_cond_wait(&p->wake, &p->mu);
      pthread_mutex_unlock(&p->mu);
      spins = 0;
    }
    seen = claim_parts(p, t, slot);
  }
}

qie_threadpool* qie_threadpool_create(int max_threads) {
  if (max_threads < 1) max_threads = 1;
  if (max_threads > MAX_PARTS) max_threads = MAX_PARTS;
  qie_threadpool* p = qie_alloc(sizeof *p);
  if (!p) return NULL;
  memset(p, 0, sizeof *p);
  p->max = max_threads;
  p->active = max_threads;
  atomic_init(&p->ticket, 0);
  atomic_init(&p->done, 0);
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
    p->workers[i].slot = i + 1;
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

void qie_threadpool_run(qie_threadpool* p, int32_t items, int max_parts, qie_range_fn fn,
                        void* job) {
  if (items <= 0) return;
  if (p->active <= 1 || items == 1 || max_parts <= 1) {
    fn(job, 0, items, 0);
    return;
  }
  int parts = p->active * PARTS_PER_THREAD;
  if (parts > MAX_PARTS) parts = MAX_PARTS;
  if (parts > max_parts) parts = max_parts;
  if (parts > items) parts = (int)items;
  p->fn = fn;
  p->job = job;
  p->items = items;
  atomic_store_explicit(&p->done, 0, memory_order_relaxed);
  const uint64_t gen = T_GEN(atomic_load(&p->ticket)) + 1;
  atomic_store_explicit(&p->ticket, gen << 16 | (uint64_t)parts << 8, memory_order_release);
  pthread_mutex_lock(&p->mu);
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  claim_parts(p, atomic_load_explicit(&p->ticket, memory_order_acquire), 0);
  int spins = 0;
  while (atomic_load_explicit(&p->done, memory_order_acquire) < parts) {
    if (++spins < SPIN_ROUNDS) qie_cpu_relax();
    else sched_yield(); /* a claimed part's thread may be waiting for this core */
  }
}
