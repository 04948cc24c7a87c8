/* The thread pool: every loop covers each item exactly once in the fixed parts
 * [items*t/n, items*(t+1)/n), slots stay below the maximum, workers really take
 * parts, and the active count is bounded by the maximum. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "../runtime/threadpool.h"
#include "check.h"

#define MAX_ITEMS 64

typedef struct {
  atomic_int hits[MAX_ITEMS];
  atomic_int calls;
  int32_t begin_of[MAX_ITEMS]; /* indexed by a part's first item */
  int32_t end_of[MAX_ITEMS];
  atomic_int max_slot;
} job_t;

static void record(void* arg, int32_t begin, int32_t end, int slot) {
  job_t* j = arg;
  j->begin_of[begin] = begin;
  j->end_of[begin] = end;
  int seen = atomic_load(&j->max_slot);
  while (slot > seen && !atomic_compare_exchange_weak(&j->max_slot, &seen, slot)) {
  }
  for (int32_t i = begin; i < end; ++i) atomic_fetch_add(&j->hits[i], 1);
  atomic_fetch_add(&j->calls, 1);
}

static void test_coverage(void) {
  for (int max = 1; max <= 5; ++max) {
    qie_threadpool* p = qie_threadpool_create(max);
    CHECK(p != NULL);
    if (!p) continue;
    CHECK_EQ_INT(qie_threadpool_max(p), max);
    for (int active = 1; active <= max; ++active) {
      CHECK_EQ_INT(qie_threadpool_set_active(p, active), 0);
      for (int32_t items = 0; items <= 40; items += (items < 10 ? 1 : 7)) {
        job_t j;
        memset(&j, 0, sizeof j);
        qie_threadpool_run(p, items, 1000, record, &j);
        int ok = 1;
        for (int32_t i = 0; i < items; ++i) ok &= atomic_load(&j.hits[i]) == 1;
        CHECK(ok);
        int parts = active * 4 < items ? active * 4 : items;
        if (active == 1 || items == 1) parts = items > 0;
        CHECK_EQ_INT(atomic_load(&j.calls), parts);
        CHECK(atomic_load(&j.max_slot) < max);
        /* part t of n is always [items*t/n, items*(t+1)/n) */
        for (int t = 0; t < parts; ++t) {
          const int32_t b = items * t / parts;
          CHECK_EQ_INT(j.begin_of[b], b);
          CHECK_EQ_INT(j.end_of[b], items * (t + 1) / parts);
        }
      }
    }
    CHECK_EQ_INT(qie_threadpool_set_active(p, 0), -1);
    CHECK_EQ_INT(qie_threadpool_set_active(p, max + 1), -1);
    qie_threadpool_destroy(p);
  }
}

/* Parts that wait for each other can only finish if two threads run them. */
typedef struct {
  atomic_int arrived;
  atomic_int timed_out;
} rendezvous_t;

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Waits for the other part's thread; gives up after 20 s so a broken pool fails
 * the test instead of hanging it (a liveness bound, not a speed check). */
static void meet(void* arg, int32_t begin, int32_t end, int slot) {
  rendezvous_t* r = arg;
  atomic_fetch_add(&r->arrived, 1);
  const double start = seconds();
  while (atomic_load(&r->arrived) < 2)
    if (seconds() - start > 20) {
      atomic_store(&r->timed_out, 1);
      break;
    }
}

static void test_workers_take_parts(void) {
  qie_threadpool* p = qie_threadpool_create(2);
  CHECK(p != NULL);
  if (!p) return;
  for (int round = 0; round < 50; ++round) {
    rendezvous_t r;
    atomic_init(&r.arrived, 0);
    atomic_init(&r.timed_out, 0);
    qie_threadpool_run(p, 2, 2, meet, &r);
    CHECK_EQ_INT(atomic_load(&r.arrived), 2);
    CHECK_EQ_INT(atomic_load(&r.timed_out), 0);
  }
  qie_threadpool_destroy(p);
}

/* Many short loops back to back, as a model's ops run. */
static void test_many_loops(void) {
  qie_threadpool* p = qie_threadpool_create(3);
  CHECK(p != NULL);
  if (!p) return;
  int bad = 0;
  for (int round = 0; round < 3000; ++round) {
    qie_threadpool_set_active(p, 1 + round % 3);
    job_t j;
    memset(&j, 0, sizeof j);
    const int32_t items = 1 + round % 17;
    qie_threadpool_run(p, items, 1 + round % 5, record, &j);
    for (int32_t i = 0; i < items; ++i) bad += atomic_load(&j.hits[i]) != 1;
  }
  CHECK_EQ_INT(bad, 0);
  qie_threadpool_destroy(p);
}

int main(void) {
  test_coverage();
  test_workers_take_parts();
  test_many_loops();
  return CHECK_DONE("test_threadpool");
}
