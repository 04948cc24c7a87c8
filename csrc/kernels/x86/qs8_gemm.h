/* Shared, ISA-free parts of the x86 int8 kernels: conv (1x1 and im2col) and
 * fully connected run as one GEMM, out[M][N] = requant(A[M][K] . B[N][K] + bias),
 * with M output pixels (or batch rows), K the patch (kh * kw * in_c, or depth),
 * N output channels (units).
 *
 * Two operand encodings, both exact in 32-bit wrapping arithmetic as the reference:
 *  - VNNI (vpdpbusd, u8 x s8): A holds x ^ 0x80 = x + 128 as u8, K padded to 4;
 *    sum((x + 128) w) - (128 + input_zp) sum(w) = sum((x - input_zp) w), so the
 *    correction is folded into the packed bias; padding taps hold input_zp + 128,
 *    which the same correction cancels.
 *  - AVX2 (vpmaddwd, s16 x s16): A holds x - input_zp as int16 (|.| <= 255, so a
 *    pair of products stays far inside int32), padding taps 0, K padded to 2.
 * filter_zp must be 0 (TFLite's int8 weights always are). */
#ifndef QIE_X86_QS8_GEMM_H
#define QIE_X86_QS8_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../kernel.h"

/* How A rows are formed from the op's input. */
enum { QIE_GEMM_ROWS_DIRECT = 0, QIE_GEMM_ROWS_IM2COL = 1 };

typedef struct {
  int32_t M, K, N;
  int rows; /* QIE_GEMM_ROWS_* */
  const qie_conv_geom* g; /* im2col only */
  const qie_qs8_requant* rq;
} qie_gemm_shape;

qie_gemm_shape qie_gemm_from_conv(const qie_qs8_conv_params* p, int rows);
qie_gemm_shape qie_gemm_from_fc(const qie_qs8_fc_params* p);
/* 1x1, stride 1, no padding: the input pixels are the A rows themselves. */
bool qie_conv_is_pointwise(const qie_conv_geom* g);
/* GEMM sizes the x86 tile plans index in int32 (K and N at most 2^24; larger
 * layers go to the reference, as on Arm). */
static inline bool qie_x86_gemm_fits(int64_t K, int64_t N) {
  return K >= 1 && N >= 1 && K <= (1 << 24) && N <= (1 << 24);
}
/* The requantization the x86 epilogues implement: filter_zp 0 and, in fixed mode,
 * multipliers >= 0 with shifts in [-31, 30] (all qie_quantize_multiplier makes). */
bool qie_x86_requant_ok(const qie_qs8_requant* rq, int32_t channels);

/* Per-channel epilogue constants at the start of every packed buffer, Np entries
 * each (Np = N rounded up to the vector width; padding channels hold zeros). */
typedef struct {
  int32_t* bias;  /* bias with the zero-point corrections folded in */
  int32_t* mult;  /* fixed mode: Q31 multiplier; float mode: the float scale's bits */
  int32_t* left;  /* fixed mode: left shift */
  int32_t* right; /* fixed mode: right shift */
} qie_rq_arrays;

size_t qie_rq_arrays_bytes(int32_t np);
qie_rq_arrays qie_rq_arrays_at(void* packed, int32_t np);
/* Fills mult/left/right from rq and bias[c] = bias_in[c] (0 when absent). */
void qie_rq_arrays_fill(qie_rq_arrays a, const qie_qs8_requant* rq, const int32_t* bias_in,
                        int32_t n);

/* The AVX2 kernels' one-rounding fixed-point epilogue (requant_avx2.h): per
 * 8-channel block, the multiplier, the odd channels' multipliers in the
 * low half of each 64-bit lane, r - 1, and as 64-bit lanes (even channels, odd
 * channels) the addend with and without the negative-product correction. `fused` is 0 when some live channel's right
 * shift is outside [1, QIE_RQ_FUSED_MAX_R] (or in float mode): those layers keep
 * the two-step epilogue. */
#define QIE_RQ_FUSED_MAX_R 20
typedef struct {
  int32_t mult[8], mult_odd[8], rm1[8];
  int64_t add_e[4], add_o[4], addneg_e[4], addneg_o[4];
} qie_rq_fused8;

typedef struct {
  int32_t fused;
  int32_t pad_[15]; /* the blocks start 64-byte aligned from the header */
  qie_rq_fused8 block[];
} qie_rq_fused;

size_t qie_rq_fused_bytes(int32_t np);
void qie_rq_fused_fill(qie_rq_arrays a, const qie_qs8_requant* rq, int32_t n, int32_t np,
                       qie_rq_fused* out);

/* B for vpdpbusd: [Np/16][Kp/4][16 lanes][4 bytes], Kp = K rounded up to 4. */
size_t qie_pack_b_vnni_bytes(int32_t K, int32_t N);
void qie_pack_b_vnni(const int8_t* w, int32_t K, int32_t N, int8_t* out);
/* B for vpmaddwd: [Np/8][Kp/2][8 lanes][2 int16], Kp = K rounded up to 2. */
size_t qie_pack_b_i16_bytes(int32_t K, int32_t N);
void qie_pack_b_i16(const int8_t* w, int32_t K, int32_t N, int16_t* out);
/* The same order with one byte per weight, widened as it is loaded. */
void qie_pack_b_i8_pairs(const int8_t* w, int32_t K, int32_t N, int8_t* out);

/* Rows [m0, m0 + mr) of A (all < M) into dst (row stride kp) in the int16 form;
 * columns past K are zero. (The VNNI kernels pack their u8 rows themselves.) */
void qie_pack_a_i16(const qie_gemm_shape* s, const int8_t* input, int32_t m0, int32_t mr,
                    int32_t kp, int16_t* dst);

static inline int32_t qie_round_up(int32_t v, int32_t to) { return (v + to - 1) / to * to; }

#endif
