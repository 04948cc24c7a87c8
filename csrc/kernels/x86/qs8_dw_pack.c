/* Packing for the x86 depthwise kernels (layout in qs8_dw_pack.h). */
#if defined(__x86_64__)
#include <string.h>

#include "qs8_dw_pack.h"

bool qie_dw_supported(const qie_qs8_conv_params* p) {
  /* depth multiplier 1, or one input channel fanned out to all outputs */
  return (p->g.depth_multiplier == 1 || p->g.in_c == 1) && p->g.k_h * p->g.k_w <= QIE_DW_MAX_TAPS &&
         qie_x86_requant_ok(&p->rq, p->g.out_c);
}

void qie_dw_pack(const qie_qs8_conv_params* p, qie_dw_layout l, const int8_t* filter,
                 const int32_t* bias, void* packed) {
  const int32_t C = p->g.out_c;
  memset(packed, 0, qie_dw_packed_bytes(l));
  const qie_rq_arrays a = qie_rq_arrays_at(packed, l.np);
  qie_rq_arrays_fill(a, &p->rq, bias, C);
  int32_t* w = (int32_t*)qie_dw_weights(packed, l);
  for (int32_t t = 0; t < l.taps; ++t)
    for (int32_t c = 0; c < C; ++c) {
      const int8_t v = filter[(size_t)t * C + c];
      w[(size_t)t * l.np + c] = (int32_t)(uint32_t)(uint16_t)(int16_t)v;
      a.bias[c] = (int32_t)((uint32_t)a.bias[c] - (uint32_t)p->rq.input_zp * (uint32_t)(int32_t)v);
    }
  memset((void*)qie_dw_zp_row(packed, l), (int)(int8_t)p->rq.input_zp, (size_t)l.np);
}
#endif
