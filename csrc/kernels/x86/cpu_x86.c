/* x86 feature detection: cpuid says what the core has, xgetbv says whether the
 * OS saves the vector state (without that, ymm/zmm instructions fault). */
#if defined(__x86_64__)
#include <cpuid.h>

#include "../cpu.h"

static unsigned long long xcr0(void) {
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((unsigned long long)hi << 32) | lo;
}

void qie_cpu_detect_x86(qie_cpu_features* f) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return;
  const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
  if (!osxsave || !avx) return;
  const unsigned long long x = xcr0();
  const int ymm_os = (x & 0x6) == 0x6;
  const int zmm_os = ymm_os && (x & 0xe0) == 0xe0;
  if (__get_cpuid_max(0, 0) < 7) return;
  __cpuid_count(7, 0, a, b, c, d);
  const int avx2 = (b >> 5) & 1;
  const int avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
  const int avx512vnni = (c >> 11) & 1;
  unsigned a1, b1, c1, d1;
  __cpuid_count(7, 1, a1, b1, c1, d1);
  f->avx2 = ymm_os && avx2 && fma;
  f->avx512vnni = zmm_os && f->avx2 && avx512f && avx512bw && avx512vl && avx512vnni;
  f->avxvnni = f->avx2 && ((a1 >> 4) & 1);
}
#endif
