/* A persistent pool of worker threads owned by one model. Created at load with
 * the model's maximum thread count; the active count can change between runs.
 * A parallel loop splits [0, items) into one contiguous range per active thread
 * (the caller runs range 0), so no work item's result depends on timing. */
#ifndef QIE_THREADPOOL_H
#define QIE_THREADPOOL_H

#include <stdint.h>

typedef struct qie_threadpool qie_threadpool;

/* Runs items [begin, end) on thread `thread` (0 = the caller). */
typedef void (*qie_range_fn)(void* job, int32_t begin, int32_t end, int thread);

/* max_threads in 1..255; 1 starts no worker. NULL when out of memory or threads. */
qie_threadpool* qie_threadpool_create(int max_threads);
void qie_threadpool_destroy(qie_threadpool* pool);
int qie_threadpool_max(const qie_threadpool* pool);
int qie_threadpool_active(const qie_threadpool* pool);
/* 1..max; must not be called while a loop runs. Returns 0, or -1 if out of range. */
int qie_threadpool_set_active(qie_threadpool* pool, int n);
/* Calls fn over [0, items) split across the active threads; returns when all are done.
 * Part t of n is always items [items*t/n, items*(t+1)/n) and runs with thread
 * slot t (whichever thread claims it); empty ranges are skipped. */
void qie_threadpool_run(qie_threadpool* pool, int32_t items, qie_range_fn fn, void* job);

#endif
