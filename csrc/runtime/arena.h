/* Greedy, lifetime-aware placement of buffers into one arena. */
#ifndef QIE_ARENA_H
#define QIE_ARENA_H

#include <stddef.h>

typedef struct {
  size_t size;
  int first, last; /* op indices during which the buffer must stay intact */
  size_t offset;   /* result */
} qie_buffer_req;

/* Places every buffer (largest first, each at the lowest aligned offset that does
 * not overlap a placed buffer alive at the same time) and returns the arena size.
 * order is caller-provided scratch of n ints. */
size_t qie_plan_arena(qie_buffer_req* reqs, int n, int* order, size_t alignment);

#endif
