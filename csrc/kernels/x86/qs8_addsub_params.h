/* What the x86 int8 ADD/SUB kernels' vector arithmetic covers; other parameters go
 * to the reference. */
#ifndef QIE_KERNELS_X86_QS8_ADDSUB_PARAMS_H
#define QIE_KERNELS_X86_QS8_ADDSUB_PARAMS_H

#include <stdbool.h>

#include "../elementwise.h"

static inline bool qie_x86_addsub_params_ok(const qie_addsub_q_params* p) {
  const int32_t m[3] = {p->a_multiplier, p->b_multiplier, p->out_multiplier};
  const int s[3] = {p->a_shift, p->b_shift, p->out_shift};
  for (int i = 0; i < 3; ++i)
    if (m[i] < 0 || s[i] < -31 || s[i] > 30) return false;
  return p->left_shift >= 0 && p->left_shift <= 24;
}

#endif
