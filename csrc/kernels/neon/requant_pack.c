/* Requantization constants in the NEON kernels' packed layout, and the parameter
 * checks that make the vector epilogue equal the reference. */
#include "neon_common.h"

#if defined(QIE_NEON_ENABLED)

static bool in_i8(int32_t v) { return v >= -128 && v <= 127; }

bool qie_neon_requant_ok(const qie_qs8_requant* rq, int32_t channels) {
  if (!in_i8(rq->input_zp) || !in_i8(rq->filter_zp) || !in_i8(rq->output_zp)) return false;
  if (!in_i8(rq->act_min) || !in_i8(rq->act_max) || rq->act_min > rq->act_max) return false;
  if (rq->mode == QIE_RQ_FLOAT) return rq->scale != NULL;
  if (rq->mode != QIE_RQ_FIXED || !rq->multiplier || !rq->shift) return false;
  for (int32_t c = 0; c < channels; ++c)
    if (rq->shift[c] < -31 || rq->shift[c] > 30) return false;
  return true;
}

void qie_neon_pack_requant(const qie_qs8_requant* rq, const int32_t* bias, int32_t n, int32_t np,
                           void* packed) {
  qie_neon_packed v = qie_neon_packed_view(packed, np);
  memset(packed, 0, qie_neon_requant_bytes(np));
  for (int32_t c = 0; c < n; ++c) {
    v.bias[c] = bias ? bias[c] : 0;
    if (rq->mode == QIE_RQ_FLOAT) {
      v.scale[c] = rq->scale[c];
    } else {
      const int32_t s = rq->shift[c];
      v.mult[c] = rq->multiplier[c];
      v.lsh[c] = s > 0 ? s : 0;
      v.rsh[c] = s > 0 ? 0 : s; /* negative: a rounding right shift by -s */
    }
  }
}

void qie_neon_fold_zero_points(const qie_qs8_requant* rq, int32_t n, int32_t k, const int8_t* w,
                               int32_t* bias) {
  const uint32_t izp = (uint32_t)rq->input_zp, fzp = (uint32_t)rq->filter_zp;
  for (int32_t oc = 0; oc < n; ++oc) {
    uint32_t sum = 0;
    for (int32_t kk = 0; kk < k; ++kk) sum += (uint32_t)(int32_t)w[(size_t)oc * k + kk];
    bias[oc] = (int32_t)((uint32_t)bias[oc] - izp * sum + (uint32_t)k * izp * fzp);
  }
}

#endif
