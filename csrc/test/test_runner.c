/* The runner thread: every posted job runs exactly once on another thread, one at
 * a time (a second post is refused until the first has finished), back-to-back
 * jobs are taken both while it spins and after it has gone to sleep, and stop()
 * waits for a job still running. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "../platform/runner.h"
#include "check.h"

typedef struct {
  atomic_int runs;
  atomic_int done;
  atomic_int release; /* a blocking job waits for this */
  pthread_t ran_on;
  long sleep_us;
} job_t;

static void sleep_us(long us) {
  struct timespec t = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&t, NULL);
}

static void work(void* arg) {
  job_t* j = arg;
  j->ran_on = pthread_self();
  atomic_fetch_add(&j->runs, 1);
  while (j->sleep_us < 0 && !atomic_load(&j->release)) sleep_us(100);
  if (j->sleep_us > 0) sleep_us(j->sleep_us);
  atomic_store(&j->done, 1);
}

/* waits (bounded) for the job to finish and the runner to be idle again */
static int wait_done(job_t* j) {
  for (int i = 0; i < 200000 && !atomic_load(&j->done); ++i) sleep_us(10);
  return atomic_load(&j->done);
}

static int post_when_idle(qie_runner* r, job_t* j) {
  for (int i = 0; i < 100000; ++i) {
    if (qie_runner_post(r, work, j) == 0) return 0;
    sleep_us(10);
  }
  return -1;
}

static void test_jobs_run_once_elsewhere(long spin_ns) {
  qie_runner* r = qie_runner_start(spin_ns);
  CHECK(r != NULL);
  if (!r) return;
  int bad = 0;
  for (int i = 0; i < 300; ++i) {
    job_t j = {0};
    if (post_when_idle(r, &j) != 0 || !wait_done(&j)) ++bad;
    else bad += atomic_load(&j.runs) != 1 || pthread_equal(j.ran_on, pthread_self());
    if (i % 100 == 99) sleep_us(1000); /* longer than the spin: the runner sleeps */
  }
  CHECK_EQ_INT(bad, 0);
  qie_runner_stop(r);
}

static void test_one_at_a_time(void) {
  qie_runner* r = qie_runner_start(200000);
  CHECK(r != NULL);
  if (!r) return;
  job_t a = {0}, b = {0};
  a.sleep_us = -1; /* runs until released */
  CHECK_EQ_INT(qie_runner_post(r, work, &a), 0);
  CHECK_EQ_INT(qie_runner_post(r, work, &b), -1); /* posted or running: refused */
  for (int i = 0; i < 100000 && !atomic_load(&a.runs); ++i) sleep_us(10);
  CHECK_EQ_INT(qie_runner_post(r, work, &b), -1);
  atomic_store(&a.release, 1);
  CHECK(wait_done(&a));
  CHECK_EQ_INT(post_when_idle(r, &b), 0);
  CHECK(wait_done(&b));
  CHECK_EQ_INT(atomic_load(&b.runs), 1);
  qie_runner_stop(r);
}

static void test_stop_waits_for_the_job(void) {
  qie_runner* r = qie_runner_start(0);
  CHECK(r != NULL);
  if (!r) return;
  job_t j = {0};
  j.sleep_us = 20000;
  CHECK_EQ_INT(qie_runner_post(r, work, &j), 0);
  qie_runner_stop(r); /* returns only after the job */
  CHECK_EQ_INT(atomic_load(&j.done), 1);
  CHECK_EQ_INT(atomic_load(&j.runs), 1);
  qie_runner_stop(NULL); /* harmless */
  /* stopped with nothing ever posted */
  qie_runner_stop(qie_runner_start(200000));
}

int main(void) {
  test_jobs_run_once_elsewhere(200000);
  test_jobs_run_once_elsewhere(0);
  test_one_at_a_time();
  test_stop_waits_for_the_job();
  return CHECK_DONE("test_runner");
}
