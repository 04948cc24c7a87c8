/* A persistent thread that runs one posted job at a time, for callers that must
 * not block (the Node addon runs inference on it). Between jobs it spins for a
 * bounded time before it sleeps: back-to-back jobs (a queue of requests) then
 * skip the kernel wake-up, which costs tens of microseconds on a virtual machine,
 * while an idle runner costs no CPU after that time. */
#ifndef QIE_RUNNER_H
#define QIE_RUNNER_H

typedef struct qie_runner qie_runner;
typedef void (*qie_runner_fn)(void* job);

/* NULL when out of memory or threads. spin_ns: the bounded spin between jobs. */
qie_runner* qie_runner_start(long spin_ns);
/* Hands `job` to the thread, which calls fn(job) there. One job at a time: -1
 * (nothing posted) while the previous one has not been taken and finished. */
int qie_runner_post(qie_runner* r, qie_runner_fn fn, void* job);
/* Waits for a posted or running job to finish, then joins the thread. */
void qie_runner_stop(qie_runner* r);

#endif
