/* Packed depthwise weights shared by the x86 depthwise kernels (depth multiplier 1):
 *   [epilogue arrays, np entries each (qs8_gemm.h)]
 *   [taps][np] int32 weights, each lane holding w as the low int16 of a pair whose
 *      high half is 0, so vpmaddwd / vpdpwssd with a sign-extended input lane
 *      yields exactly x * w
 *   [np] bytes of input_zp: what a padding tap reads, so every tap is summed and
 *      the bias carries -input_zp * sum(w) */
#ifndef QIE_X86_QS8_DW_PACK_H
#define QIE_X86_QS8_DW_PACK_H

#include "qs8_gemm.h"

#define QIE_DW_MAX_TAPS 64 /* larger windows go to the reference kernel */

typedef struct {
  int32_t np, taps;
} qie_dw_layout;

static inline qie_dw_layout qie_dw_layout_of(const qie_qs8_conv_params* p, int32_t lanes) {
  qie_dw_layout l = {qie_round_up(p->g.out_c, lanes), p->g.k_h * p->g.k_w};
  return l;
}

static inline size_t qie_dw_packed_bytes(qie_dw_layout l) {
  return qie_rq_arrays_bytes(l.np) + sizeof(int32_t) * (size_t)l.taps * l.np + (size_t)l.np;
}

static inline const int32_t* qie_dw_weights(const void* packed, qie_dw_layout l) {
  return (const int32_t*)((const char*)packed + qie_rq_arrays_bytes(l.np));
}

static inline const int8_t* qie_dw_zp_row(const void* packed, qie_dw_layout l) {
  return (const int8_t*)qie_dw_weights(packed, l) + sizeof(int32_t) * (size_t)l.taps * l.np;
}

bool qie_dw_supported(const qie_qs8_conv_params* p);
void qie_dw_pack(const qie_qs8_conv_params* p, qie_dw_layout l, const int8_t* filter,
                 const int32_t* bias, void* packed);

#endif
