/* Arm CPU features from the kernel's HWCAP bits: the OS reports what the core
 * runs (and that it saves the SIMD state), which is all dispatch needs. */
#include "../cpu.h"

#if defined(__aarch64__) || defined(__arm__)
#include <sys/auxv.h>

/* The bit values are the Linux ABI; spelled out so older libc headers build. */
#if defined(__aarch64__)
#define QIE_HWCAP_ASIMD (1UL << 1)
#define QIE_HWCAP_ASIMDDP (1UL << 20)
#else
#define QIE_HWCAP_NEON (1UL << 12)
#endif

void qie_cpu_detect_arm(qie_cpu_features* f) {
  const unsigned long hw = getauxval(AT_HWCAP);
#if defined(__aarch64__)
  f->neon = (hw & QIE_HWCAP_ASIMD) != 0;
  f->neondot = f->neon && (hw & QIE_HWCAP_ASIMDDP) != 0;
#else
  f->neon = (hw & QIE_HWCAP_NEON) != 0;
  f->neondot = false;
#endif
}
#endif
