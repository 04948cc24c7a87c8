/* Minimal test harness for the C unit tests: CHECK records a failure and goes on. */
#ifndef QIE_CHECK_H
#define QIE_CHECK_H
#include <stdio.h>
#include <stdlib.h>

static int qie_test_failures __attribute__((unused)) = 0;
static int qie_test_checks __attribute__((unused)) = 0;

#define CHECK(cond)                                                          \
  do {                                                                       \
    ++qie_test_checks;                                                       \
    if (!(cond)) {                                                           \
      ++qie_test_failures;                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                        \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                            \
  do {                                                                                \
    ++qie_test_checks;                                                                \
    long long qa_ = (long long)(a), qb_ = (long long)(b);                             \
    if (qa_ != qb_) {                                                                 \
      ++qie_test_failures;                                                            \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, \
              #b, qa_, qb_);                                                          \
    }                                                                                 \
  } while (0)

/* Prints the summary line and returns the process exit code. */
#define CHECK_DONE(name)                                                              \
  (printf("%s: %d checks, %d failed\n", name, qie_test_checks, qie_test_failures),    \
   qie_test_failures ? 1 : 0)

#endif
