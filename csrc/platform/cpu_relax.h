/* The spin-wait hint for busy loops (the kernel threads' and the runner's). */
#ifndef QIE_CPU_RELAX_H
#define QIE_CPU_RELAX_H

static inline void qie_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

#endif
