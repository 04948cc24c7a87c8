/* Conv and depthwise conv: reference kernels on hand-worked cases, then the ops'
 * prepare/eval (validation, multipliers, kernel choice). */
#include <math.h>
#include <string.h>

#include "../kernels/conv.h"
#include "../kernels/dispatch.h"
#include "../kernels/quant.h"
#include "../runtime/runtime.h"
#include "check.h"

extern const qie_op_impl qie_op_conv2d;
extern const qie_op_impl qie_op_depthwise_conv2d;

static qie_conv_geom geom(int32_t in_h, int32_t in_w, int32_t in_c, int32_t out_h, int32_t out_w,
                          int32_t out_c, int32_t k_h, int32_t k_w) {
  qie_conv_geom g;
  memset(&g, 0, sizeof g);
  g.batches = 1;
  g.in_h = in_h, g.in_w = in_w, g.in_c = in_c;
  g.out_h = out_h, g.out_w = out_w, g.out_c = out_c;
  g.k_h = k_h, g.k_w = k_w;
  g.filter_in_c = in_c;
  g.depth_multiplier = 1;
  g.stride_h = g.stride_w = g.dilation_h = g.dilation_w = 1;
  return g;
}

/* 3x3 input minus zp 1 = [0 1 2; 3 4 5; 6 7 8], 2x2 filter [1 2; 3 4], no padding:
 * sums 27, 37, 57, 67; + bias 3 = 30, 40, 60, 70. Multiplier 0.25 is Q31 2^30 with
 * shift -1: srdhm halves (15, 20, 30, 35), then a rounding shift halves again with
 * ties away from zero (8, 10, 15, 18); + output zp -5 = 3, 5, 10, 13. */
static void test_qs8_conv_valid(void) {
  int32_t m[1], s[1];
  int sh;
  qie_quantize_multiplier(0.25, &m[0], &sh);
  s[0] = sh;
  CHECK_EQ_INT(m[0], 1 << 30);
  CHECK_EQ_INT(s[0], -1);
  qie_qs8_conv_params p = {geom(3, 3, 1, 2, 2, 1, 2, 2), {1, 0, -5, m, s, -128, 127}};
  const int8_t in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const int8_t w[4] = {1, 2, 3, 4};
  const int32_t bias[1] = {3};
  int8_t out[4];
  qie_qs8_conv2d_nhwc__ref(&p, in, w, bias, out);
  CHECK_EQ_INT(out[0], 3);
  CHECK_EQ_INT(out[1], 5);
  CHECK_EQ_INT(out[2], 10);
  CHECK_EQ_INT(out[3], 13);
  /* activation bounds clamp after the zero point */
  p.rq.act_min = 4;
  p.rq.act_max = 12;
  qie_qs8_conv2d_nhwc__ref(&p, in, w, bias, out);
  CHECK_EQ_INT(out[0], 4);
  CHECK_EQ_INT(out[3], 12);
}

/* 2x2 input [1 2; 3 4] with zp 3 -> [-2 -1; 0 1]; 3x3 filter 1..9; pad 1 on all
 * sides. Padded taps are skipped (as if input == zp): out(0,0) uses filter taps
 * 5,6,8,9: -10-6+0+9 = -7; out(0,1) taps 4,5,7,8: -8-5+8 = -5; out(1,0) taps 2,3,5,6:
 * -4-3+6 = -1; out(1,1) taps 1,2,4,5: -2-2+5 = 1. Multiplier 1.0 (2^30, shift 1). */
static void test_qs8_conv_padding(void) {
  int32_t m[1], s[1];
  int sh;
  qie_quantize_multiplier(1.0, &m[0], &sh);
  s[0] = sh;
  qie_conv_geom g = geom(2, 2, 1, 2, 2, 1, 3, 3);
  g.pad_top = g.pad_left = 1;
  qie_qs8_conv_params p = {g, {3, 0, 0, m, s, -128, 127}};
  const int8_t in[4] = {1, 2, 3, 4};
  const int8_t w[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  int8_t out[4];
  qie_qs8_conv2d_nhwc__ref(&p, in, w, NULL, out);
  CHECK_EQ_INT(out[0], -7);
  CHECK_EQ_INT(out[1], -5);
  CHECK_EQ_INT(out[2], -1);
  CHECK_EQ_INT(out[3], 1);
}

/* Extreme zero points and a nonzero weight zero point saturate both ways:
 * (127 - -128) * (127 - -128) * 4 taps = 260100, * 0.25 -> 65025 -> 127;
 * with weights -128 and weight zp 127 the product is negated -> -128. */
static void test_qs8_conv_saturation(void) {
  int32_t m[1], s[1];
  int sh;
  qie_quantize_multiplier(0.25, &m[0], &sh);
  s[0] = sh;
  qie_qs8_conv_params p = {geom(2, 2, 1, 1, 1, 1, 2, 2), {-128, -128, 0, m, s, -128, 127}};
  const int8_t in[4] = {127, 127, 127, 127};
  int8_t w[4] = {127, 127, 127, 127};
  int8_t out[1];
  qie_qs8_conv2d_nhwc__ref(&p, in, w, NULL, out);
  CHECK_EQ_INT(out[0], 127);
  p.rq.filter_zp = 127;
  memset(w, 0x80, sizeof w);
  qie_qs8_conv2d_nhwc__ref(&p, in, w, NULL, out);
  CHECK_EQ_INT(out[0], -128);
}

/* Multiple channels, two output channels per position: input 1x1x2x2 (w=2, c=2)
 * [[1,2],[3,4]], 1x1 filter per output channel: oc0 = [1,1] -> 3, 7; oc1 = [2,-1]
 * -> 0, 2. Output NHWC: [3, 0, 7, 2]. */
static void test_qs8_conv_channels(void) {
  int32_t m[2], s[2];
  int sh;
  qie_quantize_multiplier(1.0, &m[0], &sh);
  s[0] = s[1] = sh;
  m[1] = m[0];
  qie_qs8_conv_params p = {geom(1, 2, 2, 1, 2, 2, 1, 1), {0, 0, 0, m, s, -128, 127}};
  const int8_t in[4] = {1, 2, 3, 4};
  const int8_t w[4] = {1, 1, 2, -1};
  int8_t out[4];
  qie_qs8_conv2d_nhwc__ref(&p, in, w, NULL, out);
  CHECK_EQ_INT(out[0], 3);
  CHECK_EQ_INT(out[1], 0);
  CHECK_EQ_INT(out[2], 7);
  CHECK_EQ_INT(out[3], 2);
}

/* Float: 5x5 input v = 5y + x, 2x2 ones filter, dilation 2, stride 2, no padding:
 * dilated window 3, out 2x2; out = v(2oy,2ox)+v(2oy,2ox+2)+v(2oy+2,2ox)+v(2oy+2,2ox+2)
 * = 40oy + 8ox + 24, + bias 0.5. */
static void test_f32_conv_dilated(void) {
  qie_conv_geom g = geom(5, 5, 1, 2, 2, 1, 2, 2);
  g.stride_h = g.stride_w = 2;
  g.dilation_h = g.dilation_w = 2;
  qie_f32_conv_params p = {g, -INFINITY, INFINITY};
  float in[25];
  for (int i = 0; i < 25; ++i) in[i] = (float)i;
  const float w[4] = {1, 1, 1, 1};
  const float bias[1] = {0.5f};
  float out[4];
  qie_f32_conv2d_nhwc__ref(&p, in, w, bias, out);
  CHECK(out[0] == 24.5f && out[1] == 32.5f && out[2] == 64.5f && out[3] == 72.5f);
  p.act_min = 0.0f;
  p.act_max = 6.0f;
  qie_f32_conv2d_nhwc__ref(&p, in, w, bias, out);
  CHECK(out[0] == 6.0f && out[3] == 6.0f);
}

/* Float, grouped: input [1,2,3,4] (4 channels), 2 groups of 2 input channels:
 * oc0 reads ic0..1 with [1,1] -> 3; oc1 reads ic2..3 with [1,-1] -> -1. */
static void test_f32_conv_grouped(void) {
  qie_conv_geom g = geom(1, 1, 4, 1, 1, 2, 1, 1);
  g.filter_in_c = 2;
  qie_f32_conv_params p = {g, -INFINITY, INFINITY};
  const float in[4] = {1, 2, 3, 4};
  const float w[4] = {1, 1, 1, -1};
  float out[2];
  qie_f32_conv2d_nhwc__ref(&p, in, w, NULL, out);
  CHECK(out[0] == 3.0f && out[1] == -1.0f);
}

/* Depthwise, 2x2x2 input, depth multiplier 2 (4 output channels), 2x2 filter,
 * no padding. Channel 0 = 1,2,3,4 over positions, channel 1 = its negation.
 * oc0 (ic0) taps 1,1,1,1 -> 10; oc1 (ic0) 1,0,0,-1 -> -3; oc2 (ic1) 1,2,3,4 -> -30;
 * oc3 (ic1) 0,0,0,1 -> -4. Bias 0,1,2,3 -> 10,-2,-28,-1. Per-channel scales 1, 1,
 * 0.5, 2 -> 10, -2, -14, -2; + zp 1 -> 11, -1, -13, -1. */
static void test_qs8_depthwise(void) {
  const double scales[4] = {1.0, 1.0, 0.5, 2.0};
  int32_t m[4], s[4];
  for (int i = 0; i < 4; ++i) {
    int sh;
    qie_quantize_multiplier(scales[i], &m[i], &sh);
    s[i] = sh;
  }
  qie_conv_geom g = geom(2, 2, 2, 1, 1, 4, 2, 2);
  g.filter_in_c = 1;
  g.depth_multiplier = 2;
  qie_qs8_conv_params p = {g, {0, 0, 1, m, s, -128, 127}};
  const int8_t in[8] = {1, -1, 2, -2, 3, -3, 4, -4};
  const int8_t w[16] = {1, 1, 1, 0, 1, 0, 2, 0, 1, 0, 3, 0, 1, -1, 4, 1};
  const int32_t bias[4] = {0, 1, 2, 3};
  int8_t out[4];
  qie_qs8_dwconv2d_nhwc__ref(&p, in, w, bias, out);
  CHECK_EQ_INT(out[0], 11);
  CHECK_EQ_INT(out[1], -1);
  CHECK_EQ_INT(out[2], -13);
  CHECK_EQ_INT(out[3], -1);
}

/* Float depthwise with one channel equals the padded conv case above with zp 0:
 * taps 5,6,8,9 -> 1*5+2*6+3*8+4*9 = 77; 4,5,7,8 -> 67; 2,3,5,6 -> 47; 1,2,4,5 -> 37. */
static void test_f32_depthwise_padding(void) {
  qie_conv_geom g = geom(2, 2, 1, 2, 2, 1, 3, 3);
  g.filter_in_c = 1;
  g.pad_top = g.pad_left = 1;
  qie_f32_conv_params p = {g, -INFINITY, INFINITY};
  const float in[4] = {1, 2, 3, 4};
  const float w[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const float bias[1] = {-7.0f};
  float out[4];
  qie_f32_dwconv2d_nhwc__ref(&p, in, w, bias, out);
  CHECK(out[0] == 70.0f && out[1] == 60.0f && out[2] == 40.0f && out[3] == 30.0f);
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

/* The padded int8 case through CONV_2D's prepare/eval: scales 0.5 * 2 / 1 = 1.0. */
static void test_conv_op(void) {
  static char err[QIE_ERR_LEN];
  qie_tensor t[4];
  int8_t in[4] = {1, 2, 3, 4}, w[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, out[4] = {0};
  int32_t bias[1] = {2};
  const float s_in = 0.5f, s_w = 2.0f, s_out = 1.0f;
  const int32_t zp_in = 3, zp_w = 0, zp_out = -1;
  const int32_t d_in[4] = {1, 2, 2, 1}, d_w[4] = {1, 3, 3, 1}, d_b[1] = {1}, d_out[4] = {1, 2, 2, 1};
  set_tensor(&t[0], QIE_DT_INT8, 4, d_in, in, 0, 1, &s_in, &zp_in, -1);
  set_tensor(&t[1], QIE_DT_INT8, 4, d_w, w, QIE_TF_CONST, 1, &s_w, &zp_w, -1);
  set_tensor(&t[2], QIE_DT_INT32, 1, d_b, bias, QIE_TF_CONST, 0, NULL, NULL, -1);
  set_tensor(&t[3], QIE_DT_INT8, 4, d_out, out, 0, 1, &s_out, &zp_out, -1);
  qie_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.tensors = t;
  ctx.n_tensors = 4;
  ctx.err = err;
  ctx.kernels = qie_select_kernels("ref");
  const int32_t ins[3] = {0, 1, 2}, outs[1] = {3};
  qie_op op;
  memset(&op, 0, sizeof op);
  op.code = QIE_OP_CONV_2D;
  op.n_in = 3;
  op.n_out = 1;
  op.in = ins;
  op.out = outs;
  op.impl = &qie_op_conv2d;
  op.iattr[QIE_CONV_PAD_TOP] = op.iattr[QIE_CONV_PAD_LEFT] = 1;
  op.iattr[QIE_CONV_PAD_BOTTOM] = op.iattr[QIE_CONV_PAD_RIGHT] = 1;
  op.iattr[QIE_CONV_STRIDE_H] = op.iattr[QIE_CONV_STRIDE_W] = 1;
  op.iattr[QIE_CONV_DILATION_H] = op.iattr[QIE_CONV_DILATION_W] = 1;
  op.iattr[QIE_CONV_ACTIVATION] = QIE_ACT_RELU; /* lower bound = zp -1 */

  CHECK_EQ_INT(qie_op_conv2d.prepare(&ctx, &op), QIE_OK);
  CHECK(op.kernel && strcmp(op.kernel, "qs8_conv_nhwc__ref") == 0);
  CHECK_EQ_INT(qie_op_conv2d.eval(&ctx, &op), QIE_OK);
  /* -7,-5,-1,1 + bias 2 = -5,-3,1,3; + zp -1 = -6,-4,0,2; RELU floor -1 */
  CHECK_EQ_INT(out[0], -1);
  CHECK_EQ_INT(out[1], -1);
  CHECK_EQ_INT(out[2], 0);
  CHECK_EQ_INT(out[3], 2);

  /* bottom padding 2 would give a 3-row output: the 2-row output is refused */
  op.iattr[QIE_CONV_PAD_BOTTOM] = 2;
  CHECK_EQ_INT(qie_op_conv2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  CHECK(strstr(err, "CONV_2D") != NULL);
  op.iattr[QIE_CONV_PAD_BOTTOM] = 1;
  /* zero stride */
  op.iattr[QIE_CONV_STRIDE_W] = 0;
  CHECK_EQ_INT(qie_op_conv2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  op.iattr[QIE_CONV_STRIDE_W] = 1;
  /* float filter with int8 input */
  t[1].dtype = QIE_DT_FLOAT32;
  CHECK_EQ_INT(qie_op_conv2d.prepare(&ctx, &op), QIE_ERR_UNSUPPORTED);
  t[1].dtype = QIE_DT_INT8;
  /* filter not constant */
  t[1].flags = 0;
  CHECK_EQ_INT(qie_op_conv2d.prepare(&ctx, &op), QIE_ERR_UNSUPPORTED);
  t[1].flags = QIE_TF_CONST;
  /* zero output scale */
  const float zero = 0.0f;
  t[3].scales = &zero;
  CHECK_EQ_INT(qie_op_conv2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  t[3].scales = &s_out;
  /* input rank 3 */
  t[0].rank = 3;
  CHECK_EQ_INT(qie_op_conv2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  t[0].rank = 4;
  /* bias of the wrong length */
  t[2].dims[0] = 2;
  t[2].elems = 2;
  CHECK_EQ_INT(qie_op_conv2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  t[2].dims[0] = 1;
  t[2].elems = 1;
  /* per-channel scales on the wrong axis */
  t[1].q_axis = 3;
  t[1].q_count = 2;
  CHECK_EQ_INT(qie_op_conv2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  t[1].q_axis = -1;
  t[1].q_count = 1;
  /* TANH has no integer bounds */
  op.iattr[QIE_CONV_ACTIVATION] = QIE_ACT_TANH;
  CHECK_EQ_INT(qie_op_conv2d.prepare(&ctx, &op), QIE_ERR_UNSUPPORTED);
  op.iattr[QIE_CONV_ACTIVATION] = QIE_ACT_NONE;
  /* too few inputs */
  op.n_in = 1;
  CHECK_EQ_INT(qie_op_conv2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  op.n_in = 3;
  CHECK_EQ_INT(qie_op_conv2d.prepare(&ctx, &op), QIE_OK);
  free_persist(&ctx);
}

/* DEPTHWISE_CONV_2D: the depthwise case above through prepare/eval, with
 * per-channel weight scales on axis 3 (input 1, out 1: multipliers = weight scales). */
static void test_depthwise_op(void) {
  static char err[QIE_ERR_LEN];
  qie_tensor t[4];
  int8_t in[8] = {1, -1, 2, -2, 3, -3, 4, -4};
  int8_t w[16] = {1, 1, 1, 0, 1, 0, 2, 0, 1, 0, 3, 0, 1, -1, 4, 1};
  int8_t out[4] = {0};
  int32_t bias[4] = {0, 1, 2, 3};
  const float s_in = 1.0f, s_out = 1.0f, s_w[4] = {1.0f, 1.0f, 0.5f, 2.0f};
  const int32_t zp_in = 0, zp_out = 1, zp_w[4] = {0, 0, 0, 0};
  const int32_t d_in[4] = {1, 2, 2, 2}, d_w[4] = {1, 2, 2, 4}, d_b[1] = {4}, d_out[4] = {1, 1, 1, 4};
  set_tensor(&t[0], QIE_DT_INT8, 4, d_in, in, 0, 1, &s_in, &zp_in, -1);
  set_tensor(&t[1], QIE_DT_INT8, 4, d_w, w, QIE_TF_CONST, 4, s_w, zp_w, 3);
  set_tensor(&t[2], QIE_DT_INT32, 1, d_b, bias, QIE_TF_CONST, 0, NULL, NULL, -1);
  set_tensor(&t[3], QIE_DT_INT8, 4, d_out, out, 0, 1, &s_out, &zp_out, -1);
  qie_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.tensors = t;
  ctx.n_tensors = 4;
  ctx.err = err;
  ctx.kernels = qie_select_kernels("ref");
  const int32_t ins[3] = {0, 1, 2}, outs[1] = {3};
  qie_op op;
  memset(&op, 0, sizeof op);
  op.n_in = 3;
  op.n_out = 1;
  op.in = ins;
  op.out = outs;
  op.name = "DEPTHWISE_CONV_2D #7";
  op.iattr[QIE_CONV_STRIDE_H] = op.iattr[QIE_CONV_STRIDE_W] = 1;
  op.iattr[QIE_CONV_DILATION_H] = op.iattr[QIE_CONV_DILATION_W] = 1;
  op.iattr[QIE_CONV_DEPTH_MULTIPLIER] = 2;
  CHECK_EQ_INT(qie_op_depthwise_conv2d.prepare(&ctx, &op), QIE_OK);
  CHECK(op.kernel && strcmp(op.kernel, "qs8_dwconv_nhwc__ref") == 0);
  CHECK_EQ_INT(qie_op_depthwise_conv2d.eval(&ctx, &op), QIE_OK);
  CHECK_EQ_INT(out[0], 11);
  CHECK_EQ_INT(out[1], -1);
  CHECK_EQ_INT(out[2], -13);
  CHECK_EQ_INT(out[3], -1);
  /* a depth multiplier that disagrees with the shapes */
  op.iattr[QIE_CONV_DEPTH_MULTIPLIER] = 3;
  CHECK_EQ_INT(qie_op_depthwise_conv2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  CHECK(strstr(err, "DEPTHWISE_CONV_2D #7") != NULL);
  op.iattr[QIE_CONV_DEPTH_MULTIPLIER] = 2;
  /* per-channel weight zero points must be 0 */
  const int32_t zp_bad[4] = {0, 1, 0, 0};
  t[1].zero_points = zp_bad;
  CHECK_EQ_INT(qie_op_depthwise_conv2d.prepare(&ctx, &op), QIE_ERR_UNSUPPORTED);
  t[1].zero_points = zp_w;
  /* output channels not matching the filter */
  t[3].dims[3] = 2;
  CHECK_EQ_INT(qie_op_depthwise_conv2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  t[3].dims[3] = 4;
  /* filter dim 0 must be 1 */
  t[1].dims[0] = 2;
  CHECK_EQ_INT(qie_op_depthwise_conv2d.prepare(&ctx, &op), QIE_ERR_INVALID_PLAN);
  t[1].dims[0] = 1;
  free_persist(&ctx);
}

static void test_dispatch(void) {
  const qie_kernel_table* ref = qie_select_kernels("ref");
  CHECK(ref != NULL);
  /* auto: the best family this CPU runs (ref only where no other does) */
  CHECK(qie_select_kernels(NULL) != NULL);
  CHECK(qie_select_kernels("auto") == qie_select_kernels(NULL));
  CHECK(qie_select_kernels("bogus") == NULL);
  CHECK(ref && strcmp(ref->isa, "ref") == 0);
  CHECK(ref && ref->qs8_conv[0] && strcmp(ref->qs8_conv[0]->name, "qs8_conv_nhwc__ref") == 0);
}

int main(void) {
  test_qs8_conv_valid();
  test_qs8_conv_padding();
  test_qs8_conv_saturation();
  test_qs8_conv_channels();
  test_f32_conv_dilated();
  test_f32_conv_grouped();
  test_qs8_depthwise();
  test_f32_depthwise_padding();
  test_conv_op();
  test_depthwise_op();
  test_dispatch();
  return CHECK_DONE("test_conv_kernels");
}
