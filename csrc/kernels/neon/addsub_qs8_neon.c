/* int8 ADD/SUB (TFLite's integer scheme, as qie_addsub_s8_ref) eight elements at
 * a time, NEON, for aarch64 and armv7: rows whose inputs are both contiguous; any
 * other walk goes to the reference. Each of the three rescalings is the
 * reference's multiply: a wrapping left shift, vqrdmulh (equal to its rounding
 * doubling high multiply everywhere) and its rounding right shift, ties away from
 * zero (the fix-up of qie_neon_requant_fixed). */
#include "neon_common.h"

#if defined(QIE_NEON_ENABLED)

typedef struct {
  int32x4_t m, left, right; /* right <= 0: vrshl's shift count */
} rescale;

static rescale rescale_of(int32_t multiplier, int shift) {
  rescale r = {vdupq_n_s32(multiplier), vdupq_n_s32(shift > 0 ? shift : 0), vdupq_n_s32(shift > 0 ? 0 : shift)};
  return r;
}

static inline int32x4_t apply(int32x4_t x, const rescale* r) {
  x = vqrdmulhq_s32(vshlq_s32(x, r->left), r->m);
  x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, r->right), 31));
  return vrshlq_s32(x, r->right);
}

typedef struct {
  int32x4_t a_off, b_off, shift, out_off, lo, hi;
  rescale a, b, out;
  int subtract;
} consts;

/* four elements of each input (int16 lanes widened) to four int32 results */
static inline int32x4_t four(const consts* k, int16x4_t xa, int16x4_t xb) {
  const int32x4_t sx = vshlq_s32(vaddq_s32(vmovl_s16(xa), k->a_off), k->shift);
  const int32x4_t sy = vshlq_s32(vaddq_s32(vmovl_s16(xb), k->b_off), k->shift);
  const int32x4_t x = apply(sx, &k->a), y = apply(sy, &k->b);
  const int32x4_t raw = k->subtract ? vsubq_s32(x, y) : vaddq_s32(x, y);
  const int32x4_t v = vaddq_s32(apply(raw, &k->out), k->out_off);
  return vminq_s32(vmaxq_s32(v, k->lo), k->hi);
}

static inline int8x8_t eight(const consts* k, int8x8_t a, int8x8_t b) {
  const int16x8_t xa = vmovl_s8(a), xb = vmovl_s8(b);
  const int32x4_t lo = four(k, vget_low_s16(xa), vget_low_s16(xb));
  const int32x4_t hi = four(k, vget_high_s16(xa), vget_high_s16(xb));
  return vqmovn_s16(vcombine_s16(vqmovn_s32(lo), vqmovn_s32(hi)));
}

/* the reference's multiply takes shifts in [-31, 30]; the left shift wraps alike */
static bool params_ok(const qie_addsub_q_params* p) {
  const int s[3] = {p->a_shift, p->b_shift, p->out_shift};
  for (int i = 0; i < 3; ++i)
    if (s[i] < -31 || s[i] > 30) return false;
  return p->left_shift >= 0 && p->left_shift <= 30;
}

static void addsub_run(const qie_addsub_q_params* p, const qie_bcast* bc, const int8_t* a,
                       const int8_t* b, int8_t* out) {
  const size_t ia = bc->sa[QIE_BCAST_RANK - 1], ib = bc->sb[QIE_BCAST_RANK - 1];
  if (ia != 1 || ib != 1 || !params_ok(p)) {
    qie_addsub_s8_ref(p, bc, a, b, out);
    return;
  }
  consts k;
  k.a_off = vdupq_n_s32(p->a_offset), k.b_off = vdupq_n_s32(p->b_offset);
  k.shift = vdupq_n_s32(p->left_shift), k.out_off = vdupq_n_s32(p->out_offset);
  k.lo = vdupq_n_s32(p->act_min), k.hi = vdupq_n_s32(p->act_max);
  k.a = rescale_of(p->a_multiplier, p->a_shift);
  k.b = rescale_of(p->b_multiplier, p->b_shift);
  k.out = rescale_of(p->out_multiplier, p->out_shift);
  k.subtract = p->subtract;
  QIE_BCAST_FOR_ROWS(bc, {
    (void)ia, (void)ib; /* both 1 here */
    size_t i = 0;
    for (; i + 8 <= n; i += 8) vst1_s8(out + oo + i, eight(&k, vld1_s8(a + oa + i), vld1_s8(b + ob + i)));
    if (i < n) {
      const int32_t rest = (int32_t)(n - i);
      qie_neon_store_i8(out + oo + i, eight(&k, qie_neon_load_i8(a + oa + i, rest), qie_neon_load_i8(b + ob + i, rest)),
                        rest);
    }
  });
}

const qie_qs8_addsub_kernel qie_qs8_addsub_8__neon = {"qs8_addsub_8__neon", addsub_run};

#endif
