/* CPU features that select kernel tables at run time. Each ISA family detects
 * its own (x86: cpuid + xgetbv; Arm: getauxval HWCAP); the other family's
 * function leaves the struct untouched, so both can always be called. */
#ifndef QIE_KERNELS_CPU_H
#define QIE_KERNELS_CPU_H

#include <stdbool.h>

typedef struct {
  bool avx2;        /* AVX2 + FMA, with OS support for the ymm state */
  bool avx512vnni;  /* AVX-512 F/BW/VL + VNNI, with OS support for the zmm state */
  bool avxvnni;     /* AVX-VNNI (VEX-encoded VPDPBUSD) */
  bool neon;        /* aarch64 Advanced SIMD, or armv7 NEON */
  bool neondot;     /* aarch64 SDOT/UDOT (HWCAP_ASIMDDP) */
} qie_cpu_features;

void qie_cpu_detect_x86(qie_cpu_features* f); /* kernels/x86/cpu_x86.c */
void qie_cpu_detect_arm(qie_cpu_features* f); /* kernels/neon/cpu_arm.c */

#endif
