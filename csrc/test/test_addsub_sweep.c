/* Every family's int8 ADD/SUB kernel against qie_addsub_s8_ref, bit for bit:
 * random lengths (tails of every size), rows, broadcasts (which the vector
 * kernels hand back to the reference), offsets, multipliers and shifts at their
 * extremes, activation bounds, add and subtract. */
#include <stdint.h>
#include <string.h>

#include "../kernels/dispatch.h"
#include "check.h"

static uint64_t state = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return (uint32_t)(state >> 11);
}
static int32_t range(int32_t lo, int32_t hi) { return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1)); }

#define MAX_N 300
#define ROWS_MAX 4

static qie_addsub_q_params random_params(void) {
  qie_addsub_q_params p;
  memset(&p, 0, sizeof p);
  p.a_offset = range(-127, 128);
  p.b_offset = range(-127, 128);
  p.out_offset = range(-128, 127);
  p.left_shift = 20;
  const int32_t extremes[3] = {1 << 30, INT32_MAX, 0};
  p.a_multiplier = range(0, 9) == 0 ? extremes[range(0, 2)] : range(1 << 30, INT32_MAX);
  p.b_multiplier = range(0, 9) == 0 ? extremes[range(0, 2)] : range(1 << 30, INT32_MAX);
  p.out_multiplier = range(0, 9) == 0 ? extremes[range(0, 2)] : range(1 << 30, INT32_MAX);
  p.a_shift = range(0, 9) == 0 ? -31 : range(-24, 0);
  p.b_shift = range(0, 9) == 0 ? -31 : range(-24, 0);
  p.out_shift = range(0, 9) == 0 ? range(-31, -28) : range(-20, 0);
  p.act_min = range(0, 1) ? -128 : range(-128, 0);
  p.act_max = range(0, 1) ? 127 : range(p.act_min, 127);
  p.subtract = range(0, 1);
  return p;
}

int main(void) {
  static const char* const families[] = {"ref", "avx2", "avx512vnni", "neon", "neondot"};
  int compared = 0;
  for (size_t f = 0; f < sizeof families / sizeof families[0]; ++f) {
    const qie_kernel_table* kt = qie_select_kernels(families[f]);
    if (!kt || !kt->qs8_addsub) continue;
    for (int round = 0; round < 600; ++round) {
      const qie_addsub_q_params p = random_params();
      const int32_t n = range(1, MAX_N), rows = range(1, ROWS_MAX);
      const int broadcast = range(0, 4) == 0; /* b is one row repeated */
      int8_t a[ROWS_MAX * MAX_N], b[ROWS_MAX * MAX_N];
      int8_t want[ROWS_MAX * MAX_N + 16], got[ROWS_MAX * MAX_N + 16];
      for (int32_t i = 0; i < rows * n; ++i) {
        const int mode = range(0, 9);
        a[i] = (int8_t)(mode == 0 ? -128 : mode == 1 ? 127 : range(-128, 127));
        b[i] = (int8_t)range(-128, 127);
      }
      qie_bcast bc;
      memset(&bc, 0, sizeof bc);
      for (int d = 0; d < QIE_BCAST_RANK; ++d) bc.dims[d] = 1;
      bc.dims[QIE_BCAST_RANK - 2] = (size_t)rows;
      bc.dims[QIE_BCAST_RANK - 1] = (size_t)n;
      bc.sa[QIE_BCAST_RANK - 2] = (size_t)n;
      bc.sa[QIE_BCAST_RANK - 1] = 1;
      bc.sb[QIE_BCAST_RANK - 2] = broadcast ? 0 : (size_t)n;
      bc.sb[QIE_BCAST_RANK - 1] = 1;
      bc.count = (size_t)rows * (size_t)n;
      memset(want, 0x5A, sizeof want);
      memset(got, 0x5A, sizeof got);
      qie_addsub_s8_ref(&p, &bc, a, b, want);
      kt->qs8_addsub->run(&p, &bc, a, b, got);
      if (memcmp(want, got, sizeof want) != 0) {
        fprintf(stderr, "  %s: differs (n %d rows %d broadcast %d subtract %d)\n",
                kt->qs8_addsub->name, n, rows, broadcast, p.subtract);
        CHECK(0);
      } else {
        CHECK(1);
      }
      ++compared;
    }
  }
  printf("addsub sweep: %d cases compared\n", compared);
  return CHECK_DONE("test_addsub_sweep");
}
