/* Fully connected and pooling: reference kernels on hand-worked cases, then the
 * ops' prepare/eval (validation, per-channel multipliers, shapes). */
#include <math.h>
#include <string.h>

#include "../kernels/conv.h"
#include "../kernels/dispatch.h"
#include "../kernels/quant.h"
#include "../runtime/runtime.h"
#include "check.h"

extern const qie_op_impl qie_op_fully_connected;
extern const qie_op_impl qie_op_average_pool2d;
extern const qie_op_impl qie_op_max_pool2d;

/* input [10,-3,7] - zp 2 = [8,-5,5]; weights (zp 1) row0 [2,1,0] -> [1,0,-1],
 * row1 [-1,3,2] -> [-2,2,1]. acc0 = 8 - 5 = 3, + bias 2 = 5; acc1 = -16-10+5 = -21,
 * + bias -1 = -22. Multiplier 0.25 (2^30, shift -1):
 *   5: srdhm 2.5 -> 3, then 3/2 = 1.5 -> 2 (double rounding; a single rounding of
 *      1.25 would give 1);
 *   -22: srdhm -11 exactly, then -5.5 -> -6 (ties away from zero).
 * + output zp -3 -> -1, -9. */
static void test_qs8_fc(void) {
  int32_t m[2], s[2];
  int sh;
  qie_quantize_multiplier(0.25, &m[0], &sh);
  m[1] = m[0];
  s[0] = s[1] = sh;
  qie_qs8_fc_params p = {1, 3, 2, {2, 1, -3, m, s, -128, 127}};
  const int8_t in[3] = {10, -3, 7};
  const int8_t w[6] = {2, 1, 0, -1, 3, 2};
  const int32_t bias[2] = {2, -1};
  int8_t out[2];
  qie_qs8_fc__ref_full(&p, in, w, bias, out);
  CHECK_EQ_INT(out[0], -1);
  CHECK_EQ_INT(out[1], -9);
  /* RELU: lower bound = output zp */
  p.rq.act_min = -3;
  qie_qs8_fc__ref_full(&p, in, w, bias, out);
  CHECK_EQ_INT(out[0], -1);
  CHECK_EQ_INT(out[1], -3);
  /* no bias: 3 -> srdhm 1.5 -> 2 -> 1; -21 -> srdhm -10.5 -> -10 (srdhm's negative
   * tie goes toward zero) -> -5 */
  p.rq.act_min = -128;
  qie_qs8_fc__ref_full(&p, in, w, NULL, out);
  CHECK_EQ_INT(out[0], 1 - 3);
  CHECK_EQ_INT(out[1], -5 - 3);
}

/* Two batches, saturation: (127+128)*(127+128)*3 = 195075 * 0.25 -> 127; the
 * second batch's input -128 (zp -128 -> 0) gives just the output zp 5. */
static void test_qs8_fc_batches_saturate(void) {
  int32_t m[1], s[1];
  int sh;
  qie_quantize_multiplier(0.25, &m[0], &sh);
  s[0] = sh;
  qie_qs8_fc_params p = {2, 3, 1, {-128, -128, 5, m, s, -128, 127}};
  const int8_t in[6] = {127, 127, 127, -128, -128, -128};
  const int8_t w[3] = {127, 127, 127};
  int8_t out[2];
  qie_qs8_fc__ref_full(&p, in, w, NULL, out);
  CHECK_EQ_INT(out[0], 127);
  CHECK_EQ_INT(out[1], 5);
  const int8_t wn[3] = {-128, -128, -128};
  p.rq.filter_zp = 127;
  qie_qs8_fc__ref_full(&p, in, wn, NULL, out);
  CHECK_EQ_INT(out[0], -128);
}

static void test_f32_fc(void) {
  qie_f32_fc_params p = {2, 2, 2, -INFINITY, INFINITY};
  const float in[4] = {1, 2, -3, 0.5f};
  const float w[4] = {1, -1, 2, 4};
  const float bias[2] = {0.25f, -1};
  float out[4];
  /* b0: [1-2, 2+8] + bias = -0.75, 9; b1: [-3-0.5, -6+2] + bias = -3.25, -5 */
  qie_f32_fc__ref_full(&p, in, w, bias, out);
  CHECK(out[0] == -0.75f && out[1] == 9.0f && out[2] == -3.25f && out[3] == -5.0f);
  p.act_min = -1.0f;
  p.act_max = 1.0f;
  qie_f32_fc__ref_full(&p, in, w, bias, out);
  CHECK(out[0] == -0.75f && out[1] == 1.0f && out[2] == -1.0f && out[3] == -1.0f);
}

/* 2x3 input [-3 -2 4; 5 1 -6], 2x2 window, stride 1, pad bottom/right 1 -> 2x3.
 * Windows clip to the input and count only real positions:
 *   (0,0) -3-2+5+1 = 1 /4 -> (1+2)/4 = 0     (0,1) -2+4+1-6 = -3 /4 -> (-3-2)/4 = -1
 *   (0,2) 4-6 = -2 /2 -> -1                   (1,0) 5+1 = 6 /2 -> 3
 *   (1,1) 1-6 = -5 /2 -> (-5-1)/2 = -3        (1,2) -6 /1 -> -6
 * Max: 5, 4, 4, 5, 1, -6. */
static qie_pool_geom pool_geom(void) {
  qie_pool_geom g = {1, 2, 3, 1, 2, 3, 2, 2, 1, 1, 0, 0};
  return g;
}
static const int8_t pool_in[6] = {-3, -2, 4, 5, 1, -6};

static void test_qs8_pool(void) {
  qie_qs8_pool_params p = {pool_geom(), -128, 127};
  int8_t out[6];
  qie_qs8_avgpool2d_nhwc__ref(&p, pool_in, out);
  const int avg[6] = {0, -1, -1, 3, -3, -6};
  for (int i = 0; i < 6; ++i) CHECK_EQ_INT(out[i], avg[i]);
  qie_qs8_maxpool2d_nhwc__ref(&p, pool_in, out);
  const int mx[6] = {5, 4, 4, 5, 1, -6};
  for (int i = 0; i < 6; ++i) CHECK_EQ_INT(out[i], mx[i]);
  /* activation bounds */
  p.act_min = -2;
  p.act_max = 3;
  qie_qs8_maxpool2d_nhwc__ref(&p, pool_in, out);
  const int mxc[6] = {3, 3, 3, 3, 1, -2};
  for (int i = 0; i < 6; ++i) CHECK_EQ_INT(out[i], mxc[i]);
  /* a positive tie rounds up: (2 + 3) / 2 = 2.5 -> 3 */
  qie_qs8_pool_params q = {{1, 1, 2, 1, 1, 1, 1, 2, 1, 1, 0, 0}, -128, 127};
  const int8_t in2[2] = {2, 3};
  qie_qs8_avgpool2d_nhwc__ref(&q, in2, out);
  CHECK_EQ_INT(out[0], 3);
  /* extremes: mean of -128,-128 stays -128; mean of 127,127 stays 127 */
  const int8_t lo[2] = {-128, -128}, hi[2] = {127, 127};
  qie_qs8_avgpool2d_nhwc__ref(&q, lo, out);
  CHECK_EQ_INT(out[0], -128);
  qie_qs8_avgpool2d_nhwc__ref(&q, hi, out);
  CHECK_EQ_INT(out[0], 127);
}

static void test_f32_pool(void) {
  qie_f32_pool_params p = {pool_geom(), -INFINITY, INFINITY};
  float in[6], out[6];
  for (int i = 0; i < 6; ++i) in[i] = pool_in[i];
  qie_f32_avgpool2d_nhwc__ref(&p, in, out);
  const float avg[6] = {0.25f, -0.75f, -1.0f, 3.0f, -2.5f, -6.0f};
  for (int i = 0; i < 6; ++i) CHECK(out[i] == avg[i]);
  qie_f32_maxpool2d_nhwc__ref(&p, in, out);
  const float mx[6] = {5, 4, 4, 5, 1, -6};
  for (int i = 0; i < 6; ++i) CHECK(out[i] == mx[i]);
}

/* Two channels interleaved (NHWC): each channel pools on its own. 1x2x2x2 input,
 * 2x2 window, no padding: channel 0 = 1,2,3,4 -> avg (10+2)/4 = 3, max 4; channel
 * 1 = -1,-2,-3,-5 -> avg (-11-2)/4 = -3, max -1. */
static void test_qs8_pool_channels(void) {
  qie_qs8_pool_params p = {{1, 2, 2, 2, 1, 1, 2, 2, 1, 1, 0, 0}, -128, 127};
  const int8_t in[8] = {1, -1, 2, -2, 3, -3, 4, -5};
  int8_t out[2];
  qie_qs8_avgpool2d_nhwc__ref(&p, in, out);
  CHECK_EQ_INT(out[0], 3);
  CHECK_EQ_INT(out[1], -3);
  qie_qs8_maxpool2d_nhwc__ref(&p, in, out);
  CHECK_EQ_INT(out[0], 4);
  CHECK_EQ_INT(out[1], -1);
}

/* ---- op level ---- */

static void set_tensor(qie_tensor* t, qie_dtype dt, int rank, const int32_t* dims, void* data,
                       uint32_t flags, int q_count, const float* scales, const int32_t* zps,
                       int q_axis) {
  memset(t, 0, sizeof *t);
  t->dtype = dt;
  t->rank = rank;
  t->elems = 1;
  for (int i = 0; i < rank; ++i) {
    t->dims[i] = dims[i];
    t->elems *= (size_t)dims[i];
  }
  t->bytes = t->elems * qie_dtype_size(dt);
  t->data = data;
  t->flags = flags;
  t->q_count = q_count;
  t->q_axis = q_axis;
  t->scales = scales;
  t->zero_points = zps;
}

static void free_persist(qie_ctx* ctx) {
  for (int i = 0; i < ctx->n_persist; ++i) qie_free(ctx->persist[i]);
  qie_free(ctx->persist);
  ctx->persist = NULL;
  ctx->n_persist = ctx->cap_persist = 0;
}

static void init_ctx(qie_ctx* ctx, qie_tensor* t, int n, char* err) {
  memset(ctx, 0, sizeof *ctx);
  ctx->tensors = t;
  ctx->n_tensors = n;
  ctx->err = err;
  ctx->kernels = qie_select_kernels("ref");
}

/* FULLY_CONNECTED with per-channel weights: input scale 0.5, weight scales 0.5
 * and 1, output scale 1 -> multipliers 0.25 and 0.5. Input [2,3] = 2 batches of
 * depth 3, weights [2,3].
 *   b0 [4,-2,6] (zp 0): u0 w [1,1,1] -> 8 * 0.25 = 2; u1 w [1,0,-1] -> -2 * 0.5 = -1
 *   b1 [-7,3,1]:        u0 -> -3 * 0.25 = -0.75 -> srdhm(-3 at 2^30) = -1.5 -> -1,
 *                       then /2: -0.5 -> -1 (away from zero); u1 -> -8 * 0.5 = -4
 * output zp 0. */
static void test_fc_op(void) {
  static char err[QIE_ERR_LEN];
  qie_tensor t[3];
  int8_t in[6] = {4, -2, 6, -7, 3, 1}, w[6] = {1, 1, 1, 1, 0, -1}, out[4] = {0};
  const float s_in = 0.5f, s_out = 1.0f, s_w[2] = {0.5f, 1.0f};
  const int32_t zp0 = 0, zp_w[2] = {0, 0};
  const int32_t d_in[2] = {2, 3}, d_w[2] = {2, 3}, d_out[2] = {2, 2};
  set_tensor(&t[0], QIE_DT_INT8, 2, d_in, in, 0, 1, &s_in, &zp0, -1);
  set_tensor(&t[1], QIE_DT_INT8, 2, d_w, w, QIE_TF_CONST, 2, s_w, zp_w, 0);
  set_tensor(&t[2], QIE_DT_INT8, 2, d_out, out, 0, 1, &s_out, &zp0, -1);
  qie_ctx ctx;
  init_ctx(&ctx, t, 3, err);
  const int32_t ins[3] = {0, 1, -1}, outs[1] = {2};
  qie_op op;
  memset(&op, 0, sizeof op);
  op.n_in = 3;
  op.n_out = 1;
  op.in = ins;
  op.out = outs;
  op.impl = &qie_op_fully_connected;
  CHECK_EQ_INT(qie_op_fully_connected.prepare(&ctx, &op), QIE_OK);
  CHECK(op.kernel && strcmp(op.kernel, "qs8_fc__ref") == 0);
  CHECK_EQ_INT(qie_op_fully_connected.eval(&ctx, &op), QIE_OK);
  CHECK_EQ_INT(out[0], 2);
  CHECK_EQ_INT(out[1], -1);
  CHECK_EQ_INT(out[2], -1);
  CHECK_EQ_INT(out[3], -4);
  /* output [2, 3] is not [batches, units] */
  t[2].dims[1] = 3;
  t[2].elems = 6;
  CHECK_EQ_INT(qie_op_fully_connected.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  CHECK(strstr(err, "FULLY_CONNECTED") != NULL);
  t[2].dims[1] = 2;
  t[2].elems = 4;
  /* 4 input elements do not divide into depth 3 */
  t[0].dims[1] = 2;
  t[0].elems = 4;
  CHECK_EQ_INT(qie_op_fully_connected.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  t[0].dims[1] = 3;
  t[0].elems = 6;
  /* keep_num_dims: [2,3] -> [2,2] is fine, output [4] is not */
  op.iattr[QIE_FC_KEEP_NUM_DIMS] = 1;
  CHECK_EQ_INT(qie_op_fully_connected.prepare(&ctx, &op), QIE_OK);
  t[2].rank = 1;
  t[2].dims[0] = 4;
  CHECK_EQ_INT(qie_op_fully_connected.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  t[2].rank = 2;
  t[2].dims[0] = 2;
  op.iattr[QIE_FC_KEEP_NUM_DIMS] = 0;
  /* int16 input is not supported here */
  t[0].dtype = QIE_DT_INT16;
  CHECK_EQ_INT(qie_op_fully_connected.prepare(&ctx, &op), QIE_ERR_UNSUPPORTED);
  t[0].dtype = QIE_DT_INT8;
  /* a negative weight scale */
  const float s_bad[2] = {0.5f, -1.0f};
  t[1].scales = s_bad;
  CHECK_EQ_INT(qie_op_fully_connected.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  t[1].scales = s_w;
  /* an output scale so small that the effective multiplier needs a huge left shift */
  const float s_tiny = 1e-30f;
  t[2].scales = &s_tiny;
  CHECK_EQ_INT(qie_op_fully_connected.prepare(&ctx, &op), QIE_ERR_UNSUPPORTED);
  t[2].scales = &s_out;
  free_persist(&ctx);

  /* float through the op, weights not constant (allowed for FC) */
  qie_tensor f[4];
  float fin[3] = {1, 2, 3}, fw[3] = {0.5f, 0.25f, -1}, fb[1] = {10}, fout[1] = {0};
  const int32_t df_in[2] = {1, 3}, df_w[2] = {1, 3}, df_b[1] = {1}, df_out[2] = {1, 1};
  set_tensor(&f[0], QIE_DT_FLOAT32, 2, df_in, fin, 0, 0, NULL, NULL, -1);
  set_tensor(&f[1], QIE_DT_FLOAT32, 2, df_w, fw, 0, 0, NULL, NULL, -1);
  set_tensor(&f[2], QIE_DT_FLOAT32, 1, df_b, fb, QIE_TF_CONST, 0, NULL, NULL, -1);
  set_tensor(&f[3], QIE_DT_FLOAT32, 2, df_out, fout, 0, 0, NULL, NULL, -1);
  init_ctx(&ctx, f, 4, err);
  const int32_t fins[3] = {0, 1, 2}, fouts[1] = {3};
  op.in = fins;
  op.out = fouts;
  op.iattr[QIE_FC_ACTIVATION] = QIE_ACT_RELU6;
  CHECK_EQ_INT(qie_op_fully_connected.prepare(&ctx, &op), QIE_OK);
  CHECK(op.kernel && strcmp(op.kernel, "f32_fc__ref") == 0);
  CHECK_EQ_INT(qie_op_fully_connected.eval(&ctx, &op), QIE_OK);
  /* 0.5 + 0.5 - 3 + 10 = 8 -> RELU6 -> 6 */
  CHECK(fout[0] == 6.0f);
  free_persist(&ctx);
}

static void test_pool_ops(void) {
  static char err[QIE_ERR_LEN];
  qie_tensor t[2];
  int8_t in[6] = {-3, -2, 4, 5, 1, -6}, out[6] = {0};
  const float s = 0.1f, s_other = 0.2f;
  const int32_t zp = -2, zp_other = 0;
  const int32_t d_in[4] = {1, 2, 3, 1}, d_out[4] = {1, 2, 3, 1};
  set_tensor(&t[0], QIE_DT_INT8, 4, d_in, in, 0, 1, &s, &zp, -1);
  set_tensor(&t[1], QIE_DT_INT8, 4, d_out, out, 0, 1, &s, &zp, -1);
  qie_ctx ctx;
  init_ctx(&ctx, t, 2, err);
  const int32_t ins[1] = {0}, outs[1] = {1};
  qie_op op;
  memset(&op, 0, sizeof op);
  op.n_in = 1;
  op.n_out = 1;
  op.in = ins;
  op.out = outs;
  op.impl = &qie_op_average_pool2d;
  op.iattr[QIE_POOL_PAD_BOTTOM] = op.iattr[QIE_POOL_PAD_RIGHT] = 1;
  op.iattr[QIE_POOL_STRIDE_H] = op.iattr[QIE_POOL_STRIDE_W] = 1;
  op.iattr[QIE_POOL_FILTER_H] = op.iattr[QIE_POOL_FILTER_W] = 2;
  op.iattr[QIE_POOL_ACTIVATION] = QIE_ACT_RELU; /* floor at zp -2 */
  CHECK_EQ_INT(qie_op_average_pool2d.prepare(&ctx, &op), QIE_OK);
  CHECK(op.kernel && strcmp(op.kernel, "qs8_avgpool2d_nhwc__ref") == 0);
  CHECK_EQ_INT(qie_op_average_pool2d.eval(&ctx, &op), QIE_OK);
  const int avg[6] = {0, -1, -1, 3, -2, -2};
  for (int i = 0; i < 6; ++i) CHECK_EQ_INT(out[i], avg[i]);
  op.impl = &qie_op_max_pool2d;
  CHECK_EQ_INT(qie_op_max_pool2d.prepare(&ctx, &op), QIE_OK);
  CHECK_EQ_INT(qie_op_max_pool2d.eval(&ctx, &op), QIE_OK);
  const int mx[6] = {5, 4, 4, 5, 1, -2};
  for (int i = 0; i < 6; ++i) CHECK_EQ_INT(out[i], mx[i]);

  /* output quantization must equal the input's */
  t[1].scales = &s_other;
  CHECK_EQ_INT(qie_op_max_pool2d.prepare(&ctx, &op), QIE_ERR_UNSUPPORTED);
  CHECK(strstr(err, "MAX_POOL_2D") != NULL);
  t[1].scales = &s;
  t[1].zero_points = &zp_other;
  op.impl = &qie_op_average_pool2d;
  CHECK_EQ_INT(qie_op_average_pool2d.prepare(&ctx, &op), QIE_ERR_UNSUPPORTED);
  t[1].zero_points = &zp;
  /* wrong output width for the padding */
  op.iattr[QIE_POOL_PAD_RIGHT] = 0;
  CHECK_EQ_INT(qie_op_average_pool2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  /* pad right 3, window 2: output width (3+3-2)/1+1 = 5, and the last window
   * (origin 4) lies wholly in the padding */
  op.iattr[QIE_POOL_PAD_RIGHT] = 3;
  op.iattr[QIE_POOL_PAD_BOTTOM] = 1;
  t[1].dims[2] = 5;
  t[1].elems = 10;
  CHECK_EQ_INT(qie_op_average_pool2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  /* ...which max pooling allows (empty windows give the lower bound) */
  op.impl = &qie_op_max_pool2d;
  CHECK_EQ_INT(qie_op_max_pool2d.prepare(&ctx, &op), QIE_OK);
  t[1].dims[2] = 3;
  t[1].elems = 6;
  op.iattr[QIE_POOL_PAD_RIGHT] = 1;
  /* zero-size filter */
  op.iattr[QIE_POOL_FILTER_W] = 0;
  CHECK_EQ_INT(qie_op_max_pool2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  op.iattr[QIE_POOL_FILTER_W] = 2;
  /* mixed dtypes */
  t[1].dtype = QIE_DT_FLOAT32;
  CHECK_EQ_INT(qie_op_max_pool2d.prepare(&ctx, &op), QIE_ERR_UNSUPPORTED);
  t[1].dtype = QIE_DT_INT8;
  /* channels differ */
  t[1].dims[3] = 2;
  CHECK_EQ_INT(qie_op_max_pool2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  t[1].dims[3] = 1;
  CHECK_EQ_INT(qie_op_max_pool2d.prepare(&ctx, &op), QIE_OK);
  free_persist(&ctx);
}

int main(void) {
  test_qs8_fc();
  test_qs8_fc_batches_saturate();
  test_f32_fc();
  test_qs8_pool();
  test_f32_pool();
  test_qs8_pool_channels();
  test_fc_op();
  test_pool_ops();
  return CHECK_DONE("test_fc_pool_kernels");
}
