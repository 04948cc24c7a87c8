#include "dispatch.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cpu.h"

/* The Arm tables exist where kernels/neon compiles (not on soft-float armv7). */
#if defined(__aarch64__) || (defined(__arm__) && defined(__ARM_FP))
#define QIE_ARM_TABLES 1
#else
#define QIE_ARM_TABLES 0
#endif

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

/* Stubs for the other architecture's detector. The own architecture's detector
 * must not have a weak stub here: from a static library the linker would take
 * the stub and never pull in the family's object file. */
#if !defined(__x86_64__)
void qie_cpu_detect_x86(qie_cpu_features* f) { (void)f; }
#endif
#if !defined(__aarch64__) && !defined(__arm__)
void qie_cpu_detect_arm(qie_cpu_features* f) { (void)f; }
#endif

static qie_cpu_features detect(void) {
  qie_cpu_features f;
  memset(&f, 0, sizeof f);
  qie_cpu_detect_x86(&f);
  qie_cpu_detect_arm(&f);
  return f;
}

/* Families in preference order with the feature each needs. A family whose
 * table this build does not contain is absent from the list. */
typedef struct {
  const char* name;
  const qie_kernel_table* table;
  bool (*runs)(const qie_cpu_features* f);
} family;

#if defined(__x86_64__)
static bool has_avx512vnni(const qie_cpu_features* f) { return f->avx512vnni; }
static bool has_avx2(const qie_cpu_features* f) { return f->avx2; }
#endif
#if QIE_ARM_TABLES
static bool has_neon(const qie_cpu_features* f) { return f->neon; }
#endif
#if defined(__aarch64__)
static bool has_neondot(const qie_cpu_features* f) { return f->neondot; }
#endif

static const family families[] = {
#if defined(__x86_64__)
    {"avx512vnni", &qie_kernels_avx512vnni, has_avx512vnni},
    {"avx2", &qie_kernels_avx2, has_avx2},
#endif
#if defined(__aarch64__)
    {"neondot", &qie_kernels_neondot, has_neondot},
#endif
#if QIE_ARM_TABLES
    {"neon", &qie_kernels_neon, has_neon},
#endif
    {"ref", &ref_table, NULL},
};

static const char* const known[] = {"ref", "auto", "avx2", "avx512vnni", "neon", "neondot"};

static const qie_cpu_features* cpu(void) {
  /* detection is pure: threads racing here compute and store the same value; the
   * release/acquire pair publishes the struct before the flag */
  static qie_cpu_features f;
  static int done;
  if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
    f = detect();
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
  }
  return &f;
}

const qie_kernel_table* qie_select_kernels(const char* name) {
  const bool any = !name || strcmp(name, "auto") == 0;
  for (size_t i = 0; i < sizeof families / sizeof families[0]; ++i) {
    const family* fam = &families[i];
    if (!any && strcmp(name, fam->name) != 0) continue;
    if (!fam->runs || fam->runs(cpu())) return fam->table;
    if (!any) return NULL;
  }
  return NULL;
}

const char* qie_kernels_unavailable_reason(const char* name) {
  for (size_t i = 0; i < sizeof families / sizeof families[0]; ++i)
    if (name && strcmp(name, families[i].name) == 0)
      return "this CPU does not have the instructions that family needs";
  for (size_t i = 0; i < sizeof known / sizeof known[0]; ++i)
    if (name && strcmp(name, known[i]) == 0) return "this build has no kernels of that family (other architecture)";
  return "unknown kernel family (known: ref, auto, avx2, avx512vnni, neon, neondot)";
}
