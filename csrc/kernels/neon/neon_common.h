/* Shared pieces of the Arm NEON kernels (aarch64 and armv7): the packed layout of
 * requantization constants, the exact requantizing epilogue and the GEMM
 * micro-kernel signature. Every file in this folder compiles to nothing off Arm
 * and on soft-float armv7 builds. */
#ifndef QIE_KERNELS_NEON_COMMON_H
#define QIE_KERNELS_NEON_COMMON_H

#if defined(__aarch64__) || (defined(__arm__) && defined(__ARM_FP))
#define QIE_NEON_ENABLED 1
#if defined(__arm__) && !defined(__ARM_NEON)
/* An armv7 build for plain VFP (no -mfpu=neon): NEON in these files only, which
 * run only where HWCAP_NEON says so; the rest of the library stays VFP. */
#pragma GCC target("fpu=neon")
#endif
#include <arm_neon.h>
#include <string.h>

#include "../dispatch.h"

/* Tile names as the kernels run them: the SMLAL GEMM pairs its 8-channel blocks
 * where 32 registers allow it; the SDOT GEMM always does. */
#if defined(__aarch64__)
#define QIE_NEON_MLAL_TILE "4x16"
#define QIE_NEON_C8_TILE "2x8c8"
#else
#define QIE_NEON_MLAL_TILE "4x8"
#define QIE_NEON_C8_TILE "1x8c8"
#endif
#define QIE_NEONDOT_TILE "4x16c4"

/* Output channels are processed 8 at a time; packed arrays are padded to that. */
#define QIE_NEON_NR 8
#define QIE_NEON_MR 4

static inline int32_t qie_neon_round_up(int32_t v, int32_t m) { return (v + m - 1) / m * m; }

/* Whether n channels x k int16 weights plus their constants are addressable
 * here (a 32-bit size_t is the limit on armv7), so packed sizes never wrap. */
static inline bool qie_neon_packed_fits(int32_t n, int64_t k) {
  const uint64_t np = (uint64_t)n + 8;
  return np * (uint64_t)k * 2 + np * 20 <= (uint64_t)(SIZE_MAX / 2);
}

/* Per-channel constants at the head of every packed buffer, np entries each:
 * bias (adjusted by the kernel if it needs to), Q31 multiplier, left shift,
 * negated right shift (vrshl's convention), float scale. */
typedef struct {
  int32_t* bias;
  int32_t* mult;
  int32_t* lsh;
  int32_t* rsh;
  float* scale;
  void* weights; /* the kernel's own layout follows */
} qie_neon_packed;

static inline size_t qie_neon_requant_bytes(int32_t np) { return (size_t)np * 5 * sizeof(int32_t); }

static inline qie_neon_packed qie_neon_packed_view(const void* packed, int32_t np) {
  qie_neon_packed v;
  int32_t* base = (int32_t*)packed;
  v.bias = base;
  v.mult = base + np;
  v.lsh = base + 2 * (size_t)np;
  v.rsh = base + 3 * (size_t)np;
  v.scale = (float*)(base + 4 * (size_t)np);
  v.weights = base + 5 * (size_t)np;
  return v;
}

/* Fills the constants for n channels (padding channels get zeros). */
void qie_neon_pack_requant(const qie_qs8_requant* rq, const int32_t* bias, int32_t n, int32_t np,
                           void* packed);
/* The checks every NEON qs8 kernel needs: zero points and bounds in int8 range
 * (so int8 - zp fits int16 and the narrowing cannot wrap), shifts vshl can apply. */
bool qie_neon_requant_ok(const qie_qs8_requant* rq, int32_t channels);

/* Kernels on raw int8 (c8, SDOT) compute sum x * w and correct it with
 *   sum (x - izp)(w - fzp) = sum x w - izp sum w - fzp sum x + k izp fzp,
 * exact in wrapping int32 arithmetic (padded taps hold izp and add zero). The
 * per-channel terms go into the packed bias here; -fzp * sum x is per row. */
void qie_neon_fold_zero_points(const qie_qs8_requant* rq, int32_t n, int32_t k, const int8_t* w,
                               int32_t* bias);

/* -fzp * (sum of row a's k values), wrapping; 0 without a weight zero point. */
static inline int32_t qie_neon_row_correction(const int8_t* a, int32_t k, int32_t fzp) {
  if (fzp == 0) return 0;
  int32x4_t acc = vdupq_n_s32(0);
  int32_t i = 0;
  for (; i + 16 <= k; i += 16) acc = vpadalq_s16(acc, vpaddlq_s8(vld1q_s8(a + i)));
  uint32_t sum = (uint32_t)vgetq_lane_s32(acc, 0) + (uint32_t)vgetq_lane_s32(acc, 1) +
                 (uint32_t)vgetq_lane_s32(acc, 2) + (uint32_t)vgetq_lane_s32(acc, 3);
  for (; i < k; ++i) sum += (uint32_t)(int32_t)a[i];
  return (int32_t)(0u - (uint32_t)fzp * sum);
}

/* The epilogue state for one call: per-channel arrays plus broadcast constants. */
typedef struct {
  const int32_t* bias;
  const int32_t* mult;
  const int32_t* lsh;
  const int32_t* rsh;
  const float* scale;
  int32x4_t ozp, vmin, vmax;
  float32x4_t flo, fhi;
  int32_t mode;
} qie_neon_epilogue;

static inline qie_neon_epilogue qie_neon_epilogue_init(const qie_qs8_requant* rq,
                                                       const qie_neon_packed* pk) {
  qie_neon_epilogue e;
  e.bias = pk->bias, e.mult = pk->mult, e.lsh = pk->lsh, e.rsh = pk->rsh, e.scale = pk->scale;
  e.ozp = vdupq_n_s32(rq->output_zp);
  e.vmin = vdupq_n_s32(rq->act_min);
  e.vmax = vdupq_n_s32(rq->act_max);
  e.flo = vdupq_n_f32((float)(rq->act_min - rq->output_zp));
  e.fhi = vdupq_n_f32((float)(rq->act_max - rq->output_zp));
  e.mode = rq->mode;
  return e;
}

/* TFLite's double rounding (qie_requant_to_i8) on four channels starting at c.
 * vqrdmulh equals qie_srdhm everywhere, ties and the saturating case included.
 * vrshl rounds ties up where the reference rounds them away from zero: adding -1
 * to negative values first moves exactly the negative ties down (the fix-up is
 * skipped when the right shift is 0, as r's sign bit is then clear). The zero
 * point is added saturating: the reference adds it in 64 bits, and any value
 * past int32 lies beyond the clamp anyway. */
static inline int32x4_t qie_neon_requant_fixed(int32x4_t acc, const qie_neon_epilogue* e,
                                               int32_t c) {
  acc = vshlq_s32(acc, vld1q_s32(e->lsh + c)); /* wraps, as the reference's uint32 shift */
  acc = vqrdmulhq_s32(acc, vld1q_s32(e->mult + c));
  const int32x4_t r = vld1q_s32(e->rsh + c);
  acc = vqaddq_s32(acc, vshrq_n_s32(vandq_s32(acc, r), 31));
  acc = vrshlq_s32(acc, r);
  acc = vqaddq_s32(acc, e->ozp);
  return vminq_s32(vmaxq_s32(acc, e->vmin), e->vmax);
}

/* ONNX's mode (qie_requant_f32_to_i8): the same float product, clamped to the
 * integer bounds first (rounding commutes with clamping to integers), then
 * rounded half to even. armv7 lacks vrndn: adding and removing 1.5 * 2^23 rounds
 * to even exactly for |v| <= 2^22, which the clamp guarantees. */
static inline int32x4_t qie_neon_requant_float(int32x4_t acc, const qie_neon_epilogue* e,
                                               int32_t c) {
  float32x4_t v = vmulq_f32(vcvtq_f32_s32(acc), vld1q_f32(e->scale + c));
  v = vminq_f32(vmaxq_f32(v, e->flo), e->fhi);
#if defined(__aarch64__)
  v = vrndnq_f32(v);
#else
  const float32x4_t magic = vdupq_n_f32(12582912.0f);
  v = vsubq_f32(vaddq_f32(v, magic), magic);
#endif
  return vaddq_s32(vcvtq_s32_f32(v), e->ozp);
}

/* Eight accumulators (channels c..c+7) to eight int8 outputs. */
static inline int8x8_t qie_neon_requant8(int32x4_t lo, int32x4_t hi, const qie_neon_epilogue* e,
                                         int32_t c) {
  if (e->mode == QIE_RQ_FLOAT) {
    lo = qie_neon_requant_float(lo, e, c);
    hi = qie_neon_requant_float(hi, e, c + 4);
  } else {
    lo = qie_neon_requant_fixed(lo, e, c);
    hi = qie_neon_requant_fixed(hi, e, c + 4);
  }
  return vqmovn_s16(vcombine_s16(vqmovn_s32(lo), vqmovn_s32(hi)));
}

/* Stores n (1..8) int8 lanes without writing past them. */
static inline void qie_neon_store_i8(int8_t* dst, int8x8_t v, int32_t n) {
  if (n == 8) {
    vst1_s8(dst, v);
  } else {
    int8_t tmp[8];
    vst1_s8(tmp, v);
    memcpy(dst, tmp, (size_t)n);
  }
}

/* Loads n (1..8) int8 values without reading past them (the rest are zero). */
static inline int8x8_t qie_neon_load_i8(const int8_t* src, int32_t n) {
  if (n >= 8) return vld1_s8(src);
  int8_t tmp[8] = {0};
  memcpy(tmp, src, (size_t)n);
  return vld1_s8(tmp);
}

/* A GEMM micro-kernel family: rows a[0..mr) of k int8 values each times the
 * packed weights, channel blocks [nb_begin, nb_end) of 8, requantized into out[r]
 * + channel (n channels in all). Rows past mr may repeat row 0; they are not
 * stored. */
typedef void (*qie_neon_gemm_fn)(int32_t mr, int32_t k, const int8_t* const a[QIE_NEON_MR],
                                 const void* packed, int32_t n, int32_t nb_begin, int32_t nb_end,
                                 const qie_qs8_requant* rq, int8_t* const out[QIE_NEON_MR]);

/* By-lane SMLAL (aarch64 and armv7; layers under 16 deep): weights packed as
 * int16 (w - filter_zp). */
size_t qie_neon_mlal_packed_bytes(int32_t n, int32_t k);
void qie_neon_mlal_pack(const qie_qs8_requant* rq, int32_t n, int32_t k, const int8_t* w,
                        const int32_t* bias, void* packed);
void qie_neon_mlal_gemm(int32_t mr, int32_t k, const int8_t* const a[QIE_NEON_MR],
                        const void* packed, int32_t n, int32_t nb_begin, int32_t nb_end,
                        const qie_qs8_requant* rq, int8_t* const out[QIE_NEON_MR]);

/* SMULL/SMLAL/SADALP on raw int8 (the neon family's GEMM); zero points as
 * qie_neon_fold_zero_points describes. */
size_t qie_neon_c8_packed_bytes(int32_t n, int32_t k);
void qie_neon_c8_pack(const qie_qs8_requant* rq, int32_t n, int32_t k, const int8_t* w,
                      const int32_t* bias, void* packed);
void qie_neon_c8_gemm(int32_t mr, int32_t k, const int8_t* const a[QIE_NEON_MR],
                      const void* packed, int32_t n, int32_t nb_begin, int32_t nb_end,
                      const qie_qs8_requant* rq, int8_t* const out[QIE_NEON_MR]);

#if defined(__aarch64__)
/* SDOT family: raw int8 weights in 4-deep groups; zero points as above. */
size_t qie_neondot_packed_bytes(int32_t n, int32_t k);
void qie_neondot_pack(const qie_qs8_requant* rq, int32_t n, int32_t k, const int8_t* w,
                      const int32_t* bias, void* packed);
void qie_neondot_gemm(int32_t mr, int32_t k, const int8_t* const a[QIE_NEON_MR],
                      const void* packed, int32_t n, int32_t nb_begin, int32_t nb_end,
                      const qie_qs8_requant* rq, int8_t* const out[QIE_NEON_MR]);
#endif

/* The kernels (names carry the tile; see the files for what each takes). */
extern const qie_qs8_conv_kernel qie_qs8_conv_nhwc_1x1__neon;
extern const qie_qs8_conv_kernel qie_qs8_conv_nhwc_im2col__neon;
extern const qie_qs8_conv_kernel qie_qs8_dwconv_nhwc_3x3__neon;
extern const qie_qs8_conv_kernel qie_qs8_dwconv_nhwc__neon;
extern const qie_qs8_addsub_kernel qie_qs8_addsub_8__neon;
extern const qie_qs8_fc_kernel qie_qs8_fc__neon;
extern const qie_qs8_conv_kernel qie_qs8_conv_nhwc_1x1_c8__neon;
extern const qie_qs8_conv_kernel qie_qs8_conv_nhwc_im2col_c8__neon;
extern const qie_qs8_fc_kernel qie_qs8_fc_c8__neon;
#if defined(__aarch64__)
extern const qie_qs8_conv_kernel qie_qs8_conv_nhwc_1x1__neondot;
extern const qie_qs8_conv_kernel qie_qs8_conv_nhwc_im2col__neondot;
extern const qie_qs8_fc_kernel qie_qs8_fc__neondot;
#endif

#endif /* NEON */
#endif
