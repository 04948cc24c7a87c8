/* Reference kernels for ONNX's quantization ops (see kernels/onnx_quant.h). */
#include <math.h>

#include "../onnx_quant.h"

void qie_quantize_linear__ref(const qie_quantize_linear_params* p, const float* x,
                              const float* scale, const void* zp, void* y) {
  const qie_qparam_layout* l = &p->l;
  size_t e = 0;
  for (size_t o = 0; o < l->outer; ++o)
    for (size_t d = 0; d < l->dim; ++d)
      for (size_t i = 0; i < l->inner; ++i, ++e) {
        const size_t q = qie_qparam_index(l, o, d, i);
        const int32_t z = p->zp_et ? qie_qe_load(zp, p->zp_et, q) : 0;
        qie_qe_store(y, p->out_et, e, qie_round_sat(x[e] / scale[q], z, p->qmin, p->qmax));
      }
}

void qie_dequantize_linear__ref(const qie_dequantize_linear_params* p, const void* x,
                                const float* scale, const void* zp, float* y) {
  const qie_qparam_layout* l = &p->l;
  size_t e = 0;
  for (size_t o = 0; o < l->outer; ++o)
    for (size_t d = 0; d < l->dim; ++d)
      for (size_t i = 0; i < l->inner; ++i, ++e) {
        const size_t q = qie_qparam_index(l, o, d, i);
        const int32_t z = p->zp_et ? qie_qe_load(zp, p->zp_et, q) : 0;
        /* int64: an int32 input minus its zero point may leave int32 */
        y[e] = (float)((int64_t)qie_qe_load(x, p->in_et, e) - z) * scale[q];
      }
}

void qie_dynamic_quantize_linear__ref(size_t n, const float* x, uint8_t* y, float* scale,
                                      uint8_t* zp) {
  /* the range always includes 0 so that 0 is exactly representable */
  float lo = 0.0f, hi = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  /* a constant-zero input would give scale 0; ONNX Runtime uses 1 then */
  const float s = (hi == lo) ? 1.0f : (hi - lo) / 255.0f;
  float z0 = 0.0f - lo / s;
  z0 = z0 < 0.0f ? 0.0f : (z0 > 255.0f ? 255.0f : z0);
  const int32_t z = (int32_t)__builtin_rintf(z0);
  for (size_t i = 0; i < n; ++i) y[i] = (uint8_t)qie_round_sat(x[i] / s, z, 0, 255);
  *scale = s;
  *zp = (uint8_t)z;
}

/* ONNX accumulates in int32: sums beyond it wrap (summed in 64 bits here so
 * that the wrap is defined behaviour, not signed overflow). */
static int32_t wrap32(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

/* acc * scale rounded half to even, plus zp, saturated (ONNX Runtime's order:
 * float32 product, then rounding, then the zero point). */
static int32_t requant(int32_t acc, float scale, int32_t zp, int32_t qmin, int32_t qmax) {
  return qie_round_sat((float)acc * scale, zp, qmin, qmax);
}

void qie_qmatmul__ref(const qie_qmatmul_params* p, const qie_qmatmul_args* a) {
  for (size_t bt = 0; bt < p->batches; ++bt) {
    const size_t ao = p->a_off[bt], bo = p->b_off[bt];
    for (size_t i = 0; i < p->m; ++i)
      for (size_t j = 0; j < p->n; ++j) {
        const int32_t bz = a->b_zp ? qie_qe_load(a->b_zp, a->b_zp_et, p->bz_per_col ? j : 0) : 0;
        int64_t sum = 0;
        for (size_t k = 0; k < p->k; ++k) {
          const int64_t av = qie_qe_load(a->a, p->a_et, ao + i * p->k + k) - a->a_zp;
          const int64_t bv = qie_qe_load(a->b, p->b_et, bo + k * p->n + j) - bz;
          sum += av * bv;
        }
        const int32_t acc = wrap32(sum);
        const size_t e = (bt * p->m + i) * p->n + j;
        if (p->requant)
          qie_qe_store(a->y, p->out_et, e,
                       requant(acc, a->a_scale * a->b_scale[p->bs_per_col ? j : 0] / a->y_scale, a->y_zp, p->qmin, p->qmax));
        else
          ((int32_t*)a->y)[e] = acc;
      }
  }
}

void qie_qconv__ref(const qie_qconv_params* p, const qie_qconv_args* a) {
  const int32_t fic = p->in_c / p->groups, foc = p->out_c / p->groups;
  size_t e = 0;
  for (int32_t b = 0; b < p->batches; ++b)
    for (int32_t oy = 0; oy < p->out_h; ++oy)
      for (int32_t ox = 0; ox < p->out_w; ++ox)
        for (int32_t oc = 0; oc < p->out_c; ++oc, ++e) {
          const int32_t g = oc / foc;
          const int32_t wz = a->w_zp ? qie_qe_load(a->w_zp, a->w_zp_et, p->wz_per_ch ? (size_t)oc : 0) : 0;
          int64_t sum = a->bias ? a->bias[oc] : 0;
          for (int32_t ky = 0; ky < p->k_h; ++ky) {
            const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
            if (iy < 0 || iy >= p->in_h) continue;
            for (int32_t kx = 0; kx < p->k_w; ++kx) {
              const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
              if (ix < 0 || ix >= p->in_w) continue;
              const size_t xb = (((size_t)b * p->in_h + iy) * p->in_w + ix) * p->in_c + (size_t)g * fic;
              const size_t wb = (((size_t)oc * p->k_h + ky) * p->k_w + kx) * fic;
              for (int32_t c = 0; c < fic; ++c)
                sum += (int64_t)(qie_qe_load(a->x, p->x_et, xb + c) - a->x_zp) *
                       (qie_qe_load(a->w, p->w_et, wb + c) - wz);
            }
          }
          const int32_t acc = wrap32(sum);
          if (p->requant)
            qie_qe_store(a->y, p->out_et, e,
                         requant(acc, a->x_scale * a->w_scale[p->ws_per_ch ? oc : 0] / a->y_scale, a->y_zp, p->qmin, p->qmax));
          else
            ((int32_t*)a->y)[e] = acc;
        }
}
