/* A persistent pool of worker threads owned by one model. Created at load with
 * the model's maximum thread count; the active count can change between runs.
 * A parallel loop splits [0, items) into a few contiguous parts per active thread,
 * each always the same range, which the caller and the workers claim one by one;
 * no work item's result depends on timing or on which thread ran it. */
#ifndef QIE_THREADPOOL_H
#define QIE_THREADPOOL_H

#include <stdint.h>

typedef struct qie_threadpool qie_threadpool;

/* Runs items [begin, end) on the thread with scratch slot `slot` (0 = the caller,
 * 1..max-1 the workers); a slot is never used by two parts at once. */
typedef void (*qie_range_fn)(void* job, int32_t begin, int32_t end, int slot);

/* max_threads in 1..255; 1 starts no worker. NULL when out of memory or threads. */
qie_threadpool* qie_threadpool_create(int max_threads);
void qie_threadpool_destroy(qie_threadpool* pool);
int qie_threadpool_max(const qie_threadpool* pool);
int qie_threadpool_active(const qie_threadpool* pool);
/* 1..max; must not be called while a loop runs. Returns 0, or -1 if out of range. */
int qie_threadpool_set_active(qie_threadpool* pool, int n);
/* Calls fn over [0, items) split across the active threads; returns when all are
 * done. With one active thread, one item or max_parts <= 1 that is a single call
 * on the caller; otherwise part t of n (n = min(items, 4 * active, max_parts, 255))
 * is always items [items*t/n, items*(t+1)/n). */
void qie_threadpool_run(qie_threadpool* pool, int32_t items, int max_parts, qie_range_fn fn,
                        void* job);

#endif
