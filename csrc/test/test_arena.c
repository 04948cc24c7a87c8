/* The greedy arena planner: buffers alive at the same time never overlap, and
 * buffers with disjoint lifetimes share memory. */
#include "../runtime/arena.h"
#include "check.h"

static int overlap(const qie_buffer_req* a, const qie_buffer_req* b) {
  int time = a->first <= b->last && b->first <= a->last;
  int space = a->offset < b->offset + b->size && b->offset < a->offset + a->size;
  return time && space && a->size && b->size;
}

int main(void) {
  /* a chain a -> b -> c: a and c can share */
  qie_buffer_req chain[3] = {{100, 0, 1, 0}, {50, 1, 2, 0}, {100, 2, 3, 0}};
  int order[16];
  size_t total = qie_plan_arena(chain, 3, order, 16);
  CHECK_EQ_INT(total, 176); /* a and c at 0, b at 112 (100 aligned to 16), 162 aligned to 176 */
  CHECK_EQ_INT(chain[0].offset, chain[2].offset);
  CHECK(!overlap(&chain[0], &chain[1]) && !overlap(&chain[1], &chain[2]));

  /* a random-ish set: check the invariant and that offsets are aligned */
  qie_buffer_req many[12];
  unsigned seed = 12345;
  for (int i = 0; i < 12; ++i) {
    seed = seed * 1103515245u + 12345u;
    int first = (int)(seed >> 16) % 10;
    seed = seed * 1103515245u + 12345u;
    many[i] = (qie_buffer_req){(size_t)((seed >> 16) % 1000) + 1, first, first + (int)(seed % 4), 0};
  }
  total = qie_plan_arena(many, 12, order, 16);
  for (int i = 0; i < 12; ++i) {
    CHECK(many[i].offset % 16 == 0);
    CHECK(many[i].offset + many[i].size <= total);
    for (int j = i + 1; j < 12; ++j) CHECK(!overlap(&many[i], &many[j]));
  }
  /* zero-sized buffers take no space */
  qie_buffer_req empty[2] = {{0, 0, 5, 0}, {32, 0, 5, 0}};
  CHECK_EQ_INT(qie_plan_arena(empty, 2, order, 16), 32);
  return CHECK_DONE("test_arena");
}
