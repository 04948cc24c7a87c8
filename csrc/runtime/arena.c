#include "arena.h"

#include <stdlib.h>

static qie_buffer_req* g_sort_reqs; /* qsort has no context argument in C11 */

static int by_size_desc(const void* a, const void* b) {
  const qie_buffer_req* x = &g_sort_reqs[*(const int*)a];
  const qie_buffer_req* y = &g_sort_reqs[*(const int*)b];
  if (x->size != y->size) return x->size < y->size ? 1 : -1;
  if (x->first != y->first) return x->first < y->first ? -1 : 1;
  return *(const int*)a - *(const int*)b;
}

static size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

static int alive_together(const qie_buffer_req* a, const qie_buffer_req* b) {
  return a->first <= b->last && b->first <= a->last;
}

size_t qie_plan_arena(qie_buffer_req* reqs, int n, int* order, size_t alignment) {
  for (int i = 0; i < n; ++i) order[i] = i;
  g_sort_reqs = reqs;
  qsort(order, (size_t)n, sizeof(int), by_size_desc);
  g_sort_reqs = NULL;

  size_t total = 0;
  for (int k = 0; k < n; ++k) {
    qie_buffer_req* r = &reqs[order[k]];
    if (r->size == 0) {
      r->offset = 0;
      continue;
    }
    /* Try candidate offsets: 0 and the end of every conflicting placed buffer;
     * take the lowest one that overlaps none of them. Placed buffers are order[0..k). */
    size_t best = (size_t)-1;
    for (int c = -1; c < k; ++c) {
      size_t candidate = 0;
      if (c >= 0) {
        const qie_buffer_req* p = &reqs[order[c]];
        if (p->size == 0 || !alive_together(p, r)) continue;
        candidate = align_up(p->offset + p->size, alignment);
      }
      if (candidate >= best) continue;
      int fits = 1;
      for (int j = 0; j < k && fits; ++j) {
        const qie_buffer_req* p = &reqs[order[j]];
        if (p->size == 0 || !alive_together(p, r)) continue;
        if (candidate < p->offset + p->size && p->offset < candidate + r->size) fits = 0;
      }
      if (fits) best = candidate;
    }
    r->offset = best;
    if (best + r->size > total) total = best + r->size;
  }
  return align_up(total, alignment);
}
