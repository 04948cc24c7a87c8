#include "dispatch.h"

#include <string.h>

static const qie_kernel_table ref_table = {
    "ref",
    qie_qs8_conv2d_nhwc__ref,   "qs8_conv2d_nhwc__ref",
    qie_f32_conv2d_nhwc__ref,   "f32_conv2d_nhwc__ref",
    qie_qs8_dwconv2d_nhwc__ref, "qs8_dwconv2d_nhwc__ref",
    qie_f32_dwconv2d_nhwc__ref, "f32_dwconv2d_nhwc__ref",
    qie_qs8_fc__ref,            "qs8_fc__ref",
    qie_f32_fc__ref,            "f32_fc__ref",
};

const qie_kernel_table* qie_select_kernels(const char* name) {
  /* "auto" will pick by CPU features once optimized tables exist */
  if (!name || strcmp(name, "auto") == 0 || strcmp(name, "ref") == 0) return &ref_table;
  return NULL;
}
