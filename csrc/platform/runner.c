/* The runner (runner.h): one mutex and condition variable for sleeping, and an
 * atomic state word that the spinning thread polls without the lock. */
#include "runner.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "cpu_relax.h"

enum { IDLE = 0, POSTED = 1, RUNNING = 2 };

struct qie_runner {
  pthread_t tid;
  pthread_mutex_t mu;
  pthread_cond_t wake; /* the thread: a job or stop; stop(): the job finished */
  atomic_int state;
  atomic_int stop;
  long spin_ns;
  qie_runner_fn fn;
  void* job;
};

static long elapsed_ns(const struct timespec* t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/* Spins until a job is posted, stop is asked or spin_ns passed. */
static void spin_for_work(qie_runner* r) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0;; ++i) {
    if (atomic_load_explicit(&r->state, memory_order_acquire) == POSTED ||
        atomic_load_explicit(&r->stop, memory_order_relaxed))
      return;
    qie_cpu_relax();
    if (i % 64 == 63 && elapsed_ns(&t0) >= r->spin_ns) return;
  }
}

static void* thread_main(void* arg) {
  qie_runner* r = arg;
  for (;;) {
    spin_for_work(r);
    pthread_mutex_lock(&r->mu);
    while (atomic_load(&r->state) != POSTED && !atomic_load(&r->stop)) pthread_cond_wait(&r->wake, &r->mu);
    if (atomic_load(&r->state) != POSTED) { /* stop with nothing posted */
      pthread_mutex_unlock(&r->mu);
      return NULL;
    }
    atomic_store(&r->state, RUNNING);
    const qie_runner_fn fn = r->fn;
    void* job = r->job;
    pthread_mutex_unlock(&r->mu);
    fn(job);
    pthread_mutex_lock(&r->mu);
    atomic_store_explicit(&r->state, IDLE, memory_order_release);
    pthread_cond_broadcast(&r->wake); /* a stop() waiting for this job */
    pthread_mutex_unlock(&r->mu);
  }
}

qie_runner* qie_runner_start(long spin_ns) {
  qie_runner* r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->spin_ns = spin_ns > 0 ? spin_ns : 0;
  atomic_init(&r->state, IDLE);
  atomic_init(&r->stop, 0);
  if (pthread_mutex_init(&r->mu, NULL) != 0) {
    free(r);
    return NULL;
  }
  if (pthread_cond_init(&r->wake, NULL) != 0 || pthread_create(&r->tid, NULL, thread_main, r) != 0) {
    pthread_mutex_destroy(&r->mu);
    free(r);
    return NULL;
  }
  return r;
}

int qie_runner_post(qie_runner* r, qie_runner_fn fn, void* job) {
  pthread_mutex_lock(&r->mu);
  if (atomic_load(&r->state) != IDLE || atomic_load(&r->stop)) {
    pthread_mutex_unlock(&r->mu);
    return -1;
  }
  r->fn = fn;
  r->job = job;
  atomic_store_explicit(&r->state, POSTED, memory_order_release);
  pthread_cond_broadcast(&r->wake); /* no system call when the thread is spinning */
  pthread_mutex_unlock(&r->mu);
  return 0;
}

void qie_runner_stop(qie_runner* r) {
  if (!r) return;
  pthread_mutex_lock(&r->mu);
  while (atomic_load(&r->state) != IDLE) pthread_cond_wait(&r->wake, &r->mu);
  atomic_store(&r->stop, 1);
  pthread_cond_broadcast(&r->wake);
  pthread_mutex_unlock(&r->mu);
  pthread_join(r->tid, NULL);
  pthread_cond_destroy(&r->wake);
  pthread_mutex_destroy(&r->mu);
  free(r);
}
