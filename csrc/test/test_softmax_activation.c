/* SOFTMAX and the unary activations: hand-derived points, accuracy sweeps over every
 * int8 input, and prepare rejections. */
#include <math.h>
#include <string.h>

#include "../kernels/activation.h"
#include "../kernels/softmax.h"
#include "../runtime/runtime.h"
#include "check.h"

extern const qie_op_impl qie_op_softmax, qie_op_logistic, qie_op_tanh, qie_op_relu, qie_op_relu6,
    qie_op_relu_n1_to_1, qie_op_leaky_relu, qie_op_hard_swish;

static qie_tensor mk(qie_dtype dt, int rank, const int32_t* dims, void* data, const float* scale,
                     const int32_t* zp) {
  qie_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = dt;
  t.rank = rank;
  t.elems = 1;
  for (int i = 0; i < rank; ++i) {
    t.dims[i] = dims[i];
    t.elems *= (size_t)dims[i];
  }
  t.bytes = t.elems * qie_dtype_size(dt);
  t.q_count = scale ? 1 : 0;
  t.q_axis = -1;
  t.scales = scale;
  t.zero_points = zp;
  t.data = data;
  return t;
}

/* Runs a unary op on t[0] -> t[1] with fattr[0] = f. */
static qie_status run1(const qie_op_impl* impl, qie_tensor* t, float f, char* err) {
  static const int32_t in_idx = 0, out_idx = 1;
  qie_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.tensors = t;
  ctx.n_tensors = 2;
  ctx.err = err;
  qie_op op;
  memset(&op, 0, sizeof op);
  op.code = impl->code;
  op.impl = impl;
  op.n_in = 1;
  op.n_out = 1;
  op.in = &in_idx;
  op.out = &out_idx;
  op.fattr[0] = f;
  err[0] = 0;
  qie_status st = impl->prepare(&ctx, &op);
  if (st == QIE_OK) st = impl->eval(&ctx, &op);
  for (int i = 0; i < ctx.n_persist; ++i) qie_free(ctx.persist[i]);
  qie_free(ctx.persist);
  return st;
}

static const float k_out_scale_256 = 1.0f / 256;
static const int32_t k_zp_m128 = -128, k_zp0 = 0;

static void test_softmax_s8(void) {
  char err[QIE_ERR_LEN];
  /* all equal, depth 4: every exp is One -> 2^19 in Q12; sum 2^21 = 4.0; reciprocal of
   * the normalized 1.0 is ~One with 2 bits over unit; exponent 2 + 31 - 8 = 25;
   * One / 2^25 = 64 -> -128 + 64 = -64 (probability 1/4). */
  const float s_in = 0.1f;
  const int32_t d4[2] = {2, 4};
  int8_t in[8] = {5, 5, 5, 5, -100, 100, -100, -100}, out[8];
  qie_tensor t[2] = {mk(QIE_DT_INT8, 2, d4, in, &s_in, &k_zp0),
                     mk(QIE_DT_INT8, 2, d4, out, &k_out_scale_256, &k_zp_m128)};
  CHECK_EQ_INT(run1(&qie_op_softmax, t, 1.0f, err), QIE_OK);
  for (int i = 0; i < 4; ++i) CHECK_EQ_INT(out[i], -64);
  /* row 2: diffs of -200 at scale 0.1 are exp(-20) ~ 2e-9: 0 probability; max row 1 */
  CHECK_EQ_INT(out[4], -128);
  CHECK_EQ_INT(out[5], 127);

  /* scale 1, beta 1: multiplier 2^26 -> (2^30, shift 27); diff_min = -floor(31*2^26/2^27)
   * = -15. A diff of -16 is skipped (exactly -128); the max alone sums to 1.0 -> 256,
   * saturating at 127. */
  const float s_one = 1.0f;
  const int32_t d2[1] = {2};
  int8_t in2[2] = {0, -16}, out2[2];
  qie_tensor t2[2] = {mk(QIE_DT_INT8, 1, d2, in2, &s_one, &k_zp0),
                      mk(QIE_DT_INT8, 1, d2, out2, &k_out_scale_256, &k_zp_m128)};
  CHECK_EQ_INT(run1(&qie_op_softmax, t2, 1.0f, err), QIE_OK);
  CHECK_EQ_INT(out2[0], 127);
  CHECK_EQ_INT(out2[1], -128);

  /* accuracy: random-ish rows against the float formula, within one step */
  const float s = 0.0625f;
  const int32_t d10[1] = {10};
  int worst = 0;
  for (int row = 0; row < 200; ++row) {
    int8_t x[10], y[10];
    int16_t y16[10];
    double e[10], sum = 0.0;
    for (int c = 0; c < 10; ++c) x[c] = (int8_t)(((row * 37 + c * 101) * 7919) % 256 - 128);
    int mx = -128;
    for (int c = 0; c < 10; ++c) mx = x[c] > mx ? x[c] : mx;
    for (int c = 0; c < 10; ++c) sum += e[c] = exp((x[c] - mx) * (double)s);
    qie_tensor tr[2] = {mk(QIE_DT_INT8, 1, d10, x, &s, &k_zp0),
                        mk(QIE_DT_INT8, 1, d10, y, &k_out_scale_256, &k_zp_m128)};
    CHECK_EQ_INT(run1(&qie_op_softmax, tr, 1.0f, err), QIE_OK);
    const float s16 = 1.0f / 65536;
    const int32_t zp16 = -32768;
    qie_tensor tr16[2] = {mk(QIE_DT_INT8, 1, d10, x, &s, &k_zp0), mk(QIE_DT_INT16, 1, d10, y16, &s16, &zp16)};
    CHECK_EQ_INT(run1(&qie_op_softmax, tr16, 1.0f, err), QIE_OK);
    for (int c = 0; c < 10; ++c) {
      int want = (int)lround(e[c] / sum * 256.0) - 128;
      want = want > 127 ? 127 : want;
      const int diff = abs(y[c] - want);
      worst = diff > worst ? diff : worst;
      CHECK(abs((int)lround(e[c] / sum * 65536.0) - 32768 - y16[c]) <= 2);
    }
  }
  CHECK(worst <= 1);

  /* rejects: wrong output quantization, int16 input, depth too large, shape mismatch */
  const float s255 = 1.0f / 255;
  t[1] = mk(QIE_DT_INT8, 2, d4, out, &s255, &k_zp_m128);
  CHECK_EQ_INT(run1(&qie_op_softmax, t, 1.0f, err), QIE_ERR_UNSUPPORTED);
  CHECK(strstr(err, "SOFTMAX") != NULL);
  t[1] = mk(QIE_DT_INT8, 2, d4, out, &k_out_scale_256, &k_zp0);
  CHECK_EQ_INT(run1(&qie_op_softmax, t, 1.0f, err), QIE_ERR_UNSUPPORTED);
  t[1] = mk(QIE_DT_INT8, 1, d4, out, &k_out_scale_256, &k_zp_m128);
  CHECK_EQ_INT(run1(&qie_op_softmax, t, 1.0f, err), QIE_ERR_INVALID_PLAN);
  int16_t i16[8] = {0};
  t[0] = mk(QIE_DT_INT16, 2, d4, i16, &s_in, &k_zp0);
  t[1] = mk(QIE_DT_INT16, 2, d4, i16, &s_in, &k_zp0);
  CHECK_EQ_INT(run1(&qie_op_softmax, t, 1.0f, err), QIE_ERR_UNSUPPORTED);
  const int32_t dbig[1] = {5000};
  t[0] = mk(QIE_DT_INT8, 1, dbig, NULL, &s_in, &k_zp0);
  t[1] = mk(QIE_DT_INT8, 1, dbig, NULL, &k_out_scale_256, &k_zp_m128);
  CHECK_EQ_INT(run1(&qie_op_softmax, t, 1.0f, err), QIE_ERR_UNSUPPORTED);
}

static void test_softmax_f32(void) {
  char err[QIE_ERR_LEN];
  const int32_t d3[1] = {3};
  float in[3] = {1.0f, 2.0f, 3.0f}, out[3];
  qie_tensor t[2] = {mk(QIE_DT_FLOAT32, 1, d3, in, NULL, NULL), mk(QIE_DT_FLOAT32, 1, d3, out, NULL, NULL)};
  CHECK_EQ_INT(run1(&qie_op_softmax, t, 2.0f, err), QIE_OK);
  /* max-subtract, exp((x - max) * beta) in float, then divide by the float sum */
  const float e0 = expf(-4.0f), e1 = expf(-2.0f), e2 = expf(0.0f);
  const float sum = e0 + e1 + e2;
  CHECK(out[0] == e0 / sum && out[1] == e1 / sum && out[2] == e2 / sum);
}

/* Every int8 input against the real function, within one output step. */
static int sweep(const qie_op_impl* impl, float s_in, int32_t z_in, float s_out, int32_t z_out,
                 double (*f)(double), int8_t* out_all) {
  char err[QIE_ERR_LEN];
  const int32_t d[1] = {256};
  int8_t in[256];
  for (int i = 0; i < 256; ++i) in[i] = (int8_t)(i - 128);
  qie_tensor t[2] = {mk(QIE_DT_INT8, 1, d, in, &s_in, &z_in), mk(QIE_DT_INT8, 1, d, out_all, &s_out, &z_out)};
  CHECK_EQ_INT(run1(impl, t, 0.0f, err), QIE_OK);
  int worst = 0;
  for (int i = 0; i < 256; ++i) {
    long want = lround(f((in[i] - z_in) * (double)s_in) / s_out) + z_out;
    want = want > 127 ? 127 : (want < -128 ? -128 : want);
    const int diff = abs((int)(out_all[i] - want));
    worst = diff > worst ? diff : worst;
  }
  return worst;
}

static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }
static double hswish_d(double x) { return x * fmin(6.0, fmax(0.0, x + 3.0)) / 6.0; }

static void test_logistic_tanh_hswish(void) {
  int8_t out[256];
  /* logistic(0) = 1/2 exactly: 2^30 / 2^23 = 128 -> -128 + 128 = 0.
   * scale 0.1: multiplier 0.1 * 2^27 = 0.8 * 2^24 -> shift 24, radius
   * floor(15 * 2^27 / 2^24) = 120: |x| >= 120 saturates. */
  CHECK(sweep(&qie_op_logistic, 0.1f, 0, 1.0f / 256, -128, sigmoid_d, out) <= 1);
  CHECK_EQ_INT(out[128], 0);
  CHECK_EQ_INT(out[255], 127);
  CHECK_EQ_INT(out[0], -128);
  CHECK(sweep(&qie_op_logistic, 0.02f, -7, 1.0f / 256, -128, sigmoid_d, out) <= 1);
  CHECK(sweep(&qie_op_tanh, 0.05f, 3, 1.0f / 128, 0, tanh, out) <= 1);
  CHECK_EQ_INT(out[128 + 3], 0); /* the zero point maps to exactly 0 */
  CHECK(sweep(&qie_op_tanh, 0.01f, -128, 1.0f / 128, 0, tanh, out) <= 1);
  /* hard swish: the zero point maps to the output zero point exactly */
  CHECK(sweep(&qie_op_hard_swish, 0.1f, 0, 0.1f, 0, hswish_d, out) <= 1);
  CHECK_EQ_INT(out[128], 0);
  CHECK(sweep(&qie_op_hard_swish, 0.05f, -20, 0.04f, -90, hswish_d, out) <= 1);
  CHECK_EQ_INT(out[128 - 20], -90);

  char err[QIE_ERR_LEN];
  const int32_t d2[1] = {2};
  int8_t buf[2];
  const float s = 0.1f, zero = 0.0f;
  qie_tensor t[2] = {mk(QIE_DT_INT8, 1, d2, buf, &s, &k_zp0), mk(QIE_DT_INT8, 1, d2, buf, &k_out_scale_256, &k_zp0)};
  CHECK_EQ_INT(run1(&qie_op_logistic, t, 0.0f, err), QIE_ERR_UNSUPPORTED); /* zp must be -128 */
  CHECK_EQ_INT(run1(&qie_op_tanh, t, 0.0f, err), QIE_ERR_UNSUPPORTED);     /* scale must be 1/128 */
  t[0] = mk(QIE_DT_INT8, 1, d2, buf, &zero, &k_zp0);
  CHECK_EQ_INT(run1(&qie_op_hard_swish, t, 0.0f, err), QIE_ERR_INVALID_PLAN);

  /* float versions */
  const int32_t d4[1] = {4};
  float fi[4] = {-20.0f, 0.0f, 1.0f, 17.0f}, fo[4];
  qie_tensor tf[2] = {mk(QIE_DT_FLOAT32, 1, d4, fi, NULL, NULL), mk(QIE_DT_FLOAT32, 1, d4, fo, NULL, NULL)};
  CHECK_EQ_INT(run1(&qie_op_logistic, tf, 0.0f, err), QIE_OK);
  CHECK(fo[0] == expf(-20.0f) && fo[1] == 0.5f && fo[3] == 1.0f);
  CHECK_EQ_INT(run1(&qie_op_hard_swish, tf, 0.0f, err), QIE_OK);
  CHECK(fo[0] == -0.0f && fo[1] == 0.0f && fo[2] == 1.0f * 4.0f / 6.0f && fo[3] == 17.0f);
}

/* RELU family with requantization: s_in 0.5 zp 10 -> s_out 0.25 zp -20, M = 2 =
 * (2^30, shift 2). x = 12: (2 * 4) SRDHM 2^30 = 4 -> -16. x = 0: -5 real -> -40 -> RELU
 * clamps at -20. RELU6 top = -20 + 24 = 4; RELU_N1_TO_1 bounds [-24, -16]. */
static void test_relu(void) {
  char err[QIE_ERR_LEN];
  const float si = 0.5f, so = 0.25f;
  const int32_t zi = 10, zo = -20;
  const int32_t d4[1] = {4};
  int8_t in[4] = {12, 0, 30, 127}, out[4];
  qie_tensor t[2] = {mk(QIE_DT_INT8, 1, d4, in, &si, &zi), mk(QIE_DT_INT8, 1, d4, out, &so, &zo)};
  CHECK_EQ_INT(run1(&qie_op_relu, t, 0.0f, err), QIE_OK);
  CHECK_EQ_INT(out[0], -16);
  CHECK_EQ_INT(out[1], -20);
  CHECK_EQ_INT(out[2], 20);
  CHECK_EQ_INT(out[3], 127);
  CHECK_EQ_INT(run1(&qie_op_relu6, t, 0.0f, err), QIE_OK);
  CHECK_EQ_INT(out[0], -16);
  CHECK_EQ_INT(out[2], 4);
  CHECK_EQ_INT(run1(&qie_op_relu_n1_to_1, t, 0.0f, err), QIE_OK);
  CHECK_EQ_INT(out[0], -16);
  CHECK_EQ_INT(out[1], -24);

  /* LEAKY_RELU alpha 0.5, identical scales: negatives use M(0.5) = (2^30, 0), so
   * -3 -> -1.5 rounds half up to -1; -4 -> -2; positives pass. */
  const float s1 = 1.0f;
  int8_t lin[4] = {-3, -4, 3, -128}, lout[4];
  qie_tensor tl[2] = {mk(QIE_DT_INT8, 1, d4, lin, &s1, &k_zp0), mk(QIE_DT_INT8, 1, d4, lout, &s1, &k_zp0)};
  CHECK_EQ_INT(run1(&qie_op_leaky_relu, tl, 0.5f, err), QIE_OK);
  CHECK_EQ_INT(lout[0], -1);
  CHECK_EQ_INT(lout[1], -2);
  CHECK_EQ_INT(lout[2], 3);
  CHECK_EQ_INT(lout[3], -64);
  /* negative alpha flips the sign */
  CHECK_EQ_INT(run1(&qie_op_leaky_relu, tl, -1.0f, err), QIE_OK);
  CHECK_EQ_INT(lout[1], 4);
  CHECK_EQ_INT(lout[3], 127);

  /* int16 relu (zero points 0) and float */
  const int32_t d2[1] = {2};
  int16_t i16[2] = {-300, 300}, o16[2];
  qie_tensor t16[2] = {mk(QIE_DT_INT16, 1, d2, i16, &s1, &k_zp0), mk(QIE_DT_INT16, 1, d2, o16, &si, &k_zp0)};
  CHECK_EQ_INT(run1(&qie_op_relu, t16, 0.0f, err), QIE_OK);
  CHECK_EQ_INT(o16[0], 0);
  CHECK_EQ_INT(o16[1], 600);
  float fi[2] = {-2.0f, 7.0f}, fo[2];
  qie_tensor tf[2] = {mk(QIE_DT_FLOAT32, 1, d2, fi, NULL, NULL), mk(QIE_DT_FLOAT32, 1, d2, fo, NULL, NULL)};
  CHECK_EQ_INT(run1(&qie_op_relu6, tf, 0.0f, err), QIE_OK);
  CHECK(fo[0] == 0.0f && fo[1] == 6.0f);
  CHECK_EQ_INT(run1(&qie_op_leaky_relu, tf, 0.25f, err), QIE_OK);
  CHECK(fo[0] == -0.5f && fo[1] == 7.0f);

  /* rejects: dtype mismatch, shape mismatch, NaN alpha */
  t[1] = mk(QIE_DT_INT16, 1, d4, out, &so, &k_zp0);
  CHECK_EQ_INT(run1(&qie_op_relu, t, 0.0f, err), QIE_ERR_UNSUPPORTED);
  t[1] = mk(QIE_DT_INT8, 1, d2, out, &so, &zo);
  CHECK_EQ_INT(run1(&qie_op_relu, t, 0.0f, err), QIE_ERR_INVALID_PLAN);
  CHECK_EQ_INT(run1(&qie_op_leaky_relu, tl, NAN, err), QIE_ERR_INVALID_PLAN);
}

int main(void) {
  test_softmax_s8();
  test_softmax_f32();
  test_logistic_tanh_hswish();
  test_relu();
  return CHECK_DONE("test_softmax_activation");
}
