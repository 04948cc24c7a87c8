/* ONNX's quantization kernels (kernels/onnx_quant.h): rounding, per-axis and
 * blocked parameters, dynamic quantization, integer matmul and conv. Expected
 * values are worked out by hand from the ONNX operator definitions. */
#include <stdint.h>
#include <string.h>

#include "../kernels/conv.h"
#include "../kernels/onnx_quant.h"
#include "check.h"

static void test_round_sat(void) {
  /* ties go to even, then the zero point, then saturation */
  CHECK_EQ_INT(qie_round_sat(2.5f, 0, -128, 127), 2);
  CHECK_EQ_INT(qie_round_sat(3.5f, 0, -128, 127), 4);
  CHECK_EQ_INT(qie_round_sat(-2.5f, 0, -128, 127), -2);
  CHECK_EQ_INT(qie_round_sat(-0.5f, 10, -128, 127), 10);
  CHECK_EQ_INT(qie_round_sat(1e30f, 0, -128, 127), 127);
  CHECK_EQ_INT(qie_round_sat(-1e30f, 5, 0, 255), 0);
  CHECK_EQ_INT(qie_round_sat(0.0f / 0.0f, 7, 0, 255), 7); /* NaN: the zero point */
  CHECK_EQ_INT(qie_round_sat(8.0f, 0, -8, 7), 7);         /* int4 range */
}

static void test_quantize_per_axis_and_blocked(void) {
  /* x [2, 4], axis 1 per channel: scale[c] = c + 1, zp[c] = c */
  const float x[8] = {1, 2, 3, 4, -1, -2, -3, -4};
  const float scale[4] = {1, 2, 3, 4};
  const int8_t zp[4] = {0, 1, 2, 3};
  qie_quantize_linear_params p = {{2, 4, 1, 0, 1}, QIE_QE_I8, QIE_QE_I8, -128, 127};
  int8_t y[8];
  qie_quantize_linear__ref(&p, x, scale, zp, y);
  const int8_t want[8] = {1, 2, 3, 4, -1, 0, 1, 2};
  CHECK(memcmp(y, want, sizeof want) == 0);
  /* blocked along axis 1, block 2: scale [2, 2] */
  const float bscale[4] = {1, 2, 0.5f, 4};
  qie_quantize_linear_params b = {{2, 4, 1, 2, 1}, QIE_QE_U8, 0, 0, 255};
  uint8_t u[8];
  qie_quantize_linear__ref(&b, x, bscale, NULL, u);
  /* row 0: 1/1, 2/1, 3/2=1.5->2, 4/2; row 1 negative saturates to 0 */
  const uint8_t uwant[8] = {1, 2, 2, 2, 0, 0, 0, 0};
  CHECK(memcmp(u, uwant, sizeof uwant) == 0);
  CHECK_EQ_INT(qie_qparam_index(&b.l, 1, 3, 0), 3);
}

static void test_dequantize(void) {
  const uint16_t x[3] = {0, 100, 65535};
  const float scale[1] = {0.5f};
  const uint16_t zp[1] = {100};
  qie_dequantize_linear_params p = {{1, 1, 3, 0, 0}, QIE_QE_U16, QIE_QE_U16};
  float y[3];
  qie_dequantize_linear__ref(&p, x, scale, zp, y);
  CHECK(y[0] == -50.0f && y[1] == 0.0f && y[2] == 32717.5f);
}

static void test_dynamic_quantize(void) {
  /* range [-1, 2] (0 included): scale 3/255, zero point round(255/3) = 85 */
  const float x[4] = {-1, 0, 1, 2};
  uint8_t y[4], zp;
  float s;
  qie_dynamic_quantize_linear__ref(4, x, y, &s, &zp);
  CHECK(s == 3.0f / 255.0f);
  CHECK_EQ_INT(zp, 85);
  CHECK_EQ_INT(y[0], 0);
  CHECK_EQ_INT(y[1], 85);
  CHECK_EQ_INT(y[3], 255);
  /* all zeros: scale 1, zero point 0 */
  const float z[2] = {0, 0};
  qie_dynamic_quantize_linear__ref(2, z, y, &s, &zp);
  CHECK(s == 1.0f && zp == 0 && y[0] == 0);
}

static void test_qmatmul(void) {
  /* a [2, 3] uint8 (zp 1), b [3, 2] int8 per-column zp {0, 1}: int32 results */
  const uint8_t a[6] = {1, 2, 3, 4, 5, 6};
  const int8_t b[6] = {1, 2, 3, 4, 5, 6};
  const int8_t bz[2] = {0, 1};
  const size_t off[1] = {0};
  int32_t y[4];
  qie_qmatmul_params p = {1, 2, 3, 2, off, off, QIE_QE_U8, QIE_QE_I8, QIE_QE_I32, 0, 1, 0, 0, 0};
  qie_qmatmul_args args = {a, b, 1, bz, QIE_QE_I8, 1.0f, 1.0f, NULL, 0, y};
  qie_qmatmul__ref(&p, &args);
  /* row 0: (0,1,2) . (1,3,5) = 13; (0,1,2) . (1,3,5) [b-1] = 13 */
  CHECK_EQ_INT(y[0], 13);
  CHECK_EQ_INT(y[1], 13);
  /* row 1: (3,4,5) . (1,3,5) = 40; . (1,3,5) = 40 */
  CHECK_EQ_INT(y[2], 40);
  /* requantized: scale 0.5 * 0.25 / 1 = 0.125; 13 * 0.125 = 1.625 -> 2; 40 -> 5 */
  int8_t q[4];
  const float bs[1] = {0.25f};
  qie_qmatmul_params r = p;
  r.out_et = QIE_QE_I8;
  r.requant = 1;
  r.qmin = -128;
  r.qmax = 127;
  qie_qmatmul_args ra = {a, b, 1, bz, QIE_QE_I8, 0.5f, 1.0f, bs, -3, q};
  qie_qmatmul__ref(&r, &ra);
  CHECK_EQ_INT(q[0], -1);
  CHECK_EQ_INT(q[2], 2);
}

static void test_qconv(void) {
  /* 3x3 single-channel input, 2x2 filter of ones, pad 1 on top/left only, x zp 1:
   * padded positions must count as the zero point (contribute nothing) */
  const uint8_t x[9] = {2, 2, 2, 2, 2, 2, 2, 2, 2};
  const uint8_t w[4] = {1, 1, 1, 1};
  int32_t y[9];
  qie_qconv_params p;
  memset(&p, 0, sizeof p);
  p.batches = 1;
  p.in_h = p.in_w = 3;
  p.in_c = p.out_c = p.groups = 1;
  p.out_h = p.out_w = 3;
  p.k_h = p.k_w = 2;
  p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
  p.pad_top = p.pad_left = 1;
  p.x_et = p.w_et = QIE_QE_U8;
  p.out_et = QIE_QE_I32;
  qie_qconv_args a;
  memset(&a, 0, sizeof a);
  a.x = x;
  a.w = w;
  a.x_zp = 1;
  a.y = y;
  qie_qconv__ref(&p, &a);
  CHECK_EQ_INT(y[0], 1); /* one real tap */
  CHECK_EQ_INT(y[1], 2);
  CHECK_EQ_INT(y[4], 4);
  /* two groups of one channel each: each output sees its own input channel */
  const int8_t x2[2] = {3, -5};
  const int8_t w2[2] = {2, 7};
  int32_t y2[2];
  memset(&p, 0, sizeof p);
  p.batches = p.in_h = p.in_w = p.out_h = p.out_w = p.k_h = p.k_w = 1;
  p.in_c = p.out_c = p.groups = 2;
  p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
  p.x_et = p.w_et = QIE_QE_I8;
  p.out_et = QIE_QE_I32;
  memset(&a, 0, sizeof a);
  a.x = x2;
  a.w = w2;
  a.y = y2;
  qie_qconv__ref(&p, &a);
  CHECK_EQ_INT(y2[0], 6);
  CHECK_EQ_INT(y2[1], -35);
}

static void test_float_requant_mode(void) {
  /* QIE_RQ_FLOAT: acc * scale rounded half to even, + zp, clamped */
  const float scale[2] = {0.5f, 0.25f};
  qie_qs8_requant rq;
  memset(&rq, 0, sizeof rq);
  rq.mode = QIE_RQ_FLOAT;
  rq.scale = scale;
  rq.output_zp = 1;
  rq.act_min = -128;
  rq.act_max = 127;
  CHECK_EQ_INT(qie_requant_channel(&rq, 5, 0), 3);   /* 2.5 -> 2, + 1 */
  CHECK_EQ_INT(qie_requant_channel(&rq, 7, 0), 5);   /* 3.5 -> 4, + 1 */
  CHECK_EQ_INT(qie_requant_channel(&rq, 10, 1), 3);  /* 2.5 -> 2, + 1 */
  CHECK_EQ_INT(qie_requant_channel(&rq, 100000, 1), 127);
}

int main(void) {
  test_round_sat();
  test_quantize_per_axis_and_blocked();
  test_dequantize();
  test_dynamic_quantize();
  test_qmatmul();
  test_qconv();
  test_float_requant_mode();
  return CHECK_DONE("test_onnx_quant");
}
