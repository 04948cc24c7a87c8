#include "dispatch.h"

#include <stdio.h>
#include <string.h>

#include "cpu.h"

#define LIST(T, ...) ((const T* const[]){__VA_ARGS__, NULL})

static const qie_kernel_table ref_table = {
    "ref",
    LIST(qie_qs8_conv_kernel, &qie_qs8_conv_nhwc__ref),
    LIST(qie_f32_conv_kernel, &qie_f32_conv_nhwc__ref),
    LIST(qie_qs8_conv_kernel, &qie_qs8_dwconv_nhwc__ref),
    LIST(qie_f32_conv_kernel, &qie_f32_dwconv_nhwc__ref),
    LIST(qie_qs8_fc_kernel, &qie_qs8_fc__ref),
    LIST(qie_f32_fc_kernel, &qie_f32_fc__ref),
};

/* Weak so a build without an ISA family's sources still links; each family's
 * file defines the real detector. */
__attribute__((weak)) void qie_cpu_detect_x86(qie_cpu_features* f) { (void)f; }
__attribute__((weak)) void qie_cpu_detect_arm(qie_cpu_features* f) { (void)f; }

static qie_cpu_features detect(void) {
  qie_cpu_features f;
  memset(&f, 0, sizeof f);
  qie_cpu_detect_x86(&f);
  qie_cpu_detect_arm(&f);
  return f;
}

#if defined(__aarch64__) || (defined(__arm__) && defined(__ARM_FP))
/* Arm: "auto" takes the best family HWCAP reports (neondot > neon; none: NULL,
 * and the caller falls back on ref); a named family only where the core runs it. */
static const qie_kernel_table* select_arm(const char* name) {
  const bool any = !name || strcmp(name, "auto") == 0;
  if (!any && strcmp(name, "neon") != 0 && strcmp(name, "neondot") != 0) return NULL;
  const qie_cpu_features f = detect();
#if defined(__aarch64__)
  if (f.neondot && (any || strcmp(name, "neondot") == 0)) return &qie_kernels_neondot;
#endif
  if (f.neon && (any || strcmp(name, "neon") == 0)) return &qie_kernels_neon;
  return NULL;
}
#endif

const qie_kernel_table* qie_select_kernels(const char* name) {
#if defined(__aarch64__) || (defined(__arm__) && defined(__ARM_FP))
  const qie_kernel_table* arm = select_arm(name);
  if (arm) return arm;
#endif
  /* "auto" picks by CPU features once optimized tables are registered here */
  if (!name || strcmp(name, "auto") == 0 || strcmp(name, "ref") == 0) return &ref_table;
  (void)detect;
  return NULL;
}

const char* qie_kernels_unavailable_reason(const char* name) {
  static const char* const known[] = {"avx2", "avx512vnni", "neon", "neondot"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; ++i)
    if (name && strcmp(name, known[i]) == 0) return "this CPU or build does not run that family";
  return "unknown kernel family (ref, auto, avx2, avx512vnni, neon, neondot)";
}
