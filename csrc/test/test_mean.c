/* MEAN: TFLite (Micro)'s int8 paths bit for bit, float, and prepare's checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/quant.h"
#include "../kernels/shape_ops.h"
#include "../runtime/runtime.h"
#include "check.h"

extern const qie_op_impl qie_op_mean;

static qie_tensor mk(qie_dtype dt, int rank, const int32_t* dims, void* data) {
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
  t.q_axis = -1;
  t.data = data;
  return t;
}

static void quant(qie_tensor* t, const float* scale, const int32_t* zp) {
  t->q_count = 1;
  t->scales = scale;
  t->zero_points = zp;
}

/* Prepares (and when run, evaluates) a MEAN over tensors 0 (input), 1 (axes) -> 2. */
static qie_status run_mean(qie_tensor* ts, int keep, int run, char* err) {
  qie_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.tensors = ts;
  ctx.n_tensors = 3;
  ctx.err = err;
  err[0] = 0;
  static const int32_t ins[2] = {0, 1}, outs[1] = {2};
  qie_op op;
  memset(&op, 0, sizeof op);
  op.code = QIE_OP_MEAN;
  op.n_in = 2;
  op.n_out = 1;
  op.in = ins;
  op.out = outs;
  op.iattr[QIE_MEAN_KEEP_DIMS] = keep;
  op.impl = &qie_op_mean;
  qie_status st = qie_op_mean.prepare(&ctx, &op);
  if (st == QIE_OK && run) {
    op.scratch = op.scratch_bytes ? malloc(op.scratch_bytes) : NULL;
    st = qie_op_mean.eval(&ctx, &op);
    free(op.scratch);
  }
  for (int i = 0; i < ctx.n_persist; ++i) qie_free(ctx.persist[i]);
  qie_free(ctx.persist);
  return st;
}

static void test_equal_params_requantize(void) {
  /* Global average pool as in mobilenet_v2 (input and output share scale and zero
   * point): TFLM still requantizes. Multiplier for 1.0 is 2^30 << 1; 1/4 folds in as
   * k = 2: (2^30 << 2) / 4 = 2^30, shift 1 - 2 = -1. With zp -9, centred sums c:
   * ch0: -7 + 36 = 29: srdhm 14.5 -> 15, /2 = 7.5 -> 8, -9 -> -1;
   * ch1: 23 + 36 = 59: 29.5 -> 30, /2 -> 15, -> 6;
   * ch2: -512 + 36 = -476: -238, -119, -> -128 (clamped);
   * ch3: 508 + 36 = 544: 272, 136, -> 127 (clamped). */
  int8_t in[16] = {-1, 5, -128, 127, -2, 6, -128, 127, -2, 6, -128, 127, -2, 6, -128, 127};
  int8_t out[4] = {9, 9, 9, 9};
  int32_t axes[2] = {1, 2};
  const int32_t di[4] = {1, 2, 2, 4}, da[1] = {2}, dout[4] = {1, 1, 1, 4};
  float s = 0.0705f;
  int32_t zp = -9;
  qie_tensor ts[3] = {mk(QIE_DT_INT8, 4, di, in), mk(QIE_DT_INT32, 1, da, axes),
                      mk(QIE_DT_INT8, 4, dout, out)};
  ts[1].flags = QIE_TF_CONST;
  quant(&ts[0], &s, &zp);
  quant(&ts[2], &s, &zp);
  char err[QIE_ERR_LEN];
  CHECK_EQ_INT(run_mean(ts, 1, 1, err), QIE_OK);
  CHECK_EQ_INT(out[0], -1);
  CHECK_EQ_INT(out[1], 6);
  CHECK_EQ_INT(out[2], -128);
  CHECK_EQ_INT(out[3], 127);

  /* axes given negative and repeated resolve to the same {1, 2} */
  int32_t axes2[3] = {-2, 1, -3};
  const int32_t da2[1] = {3};
  ts[1] = mk(QIE_DT_INT32, 1, da2, axes2);
  ts[1].flags = QIE_TF_CONST;
  memset(out, 9, sizeof out);
  CHECK_EQ_INT(run_mean(ts, 1, 1, err), QIE_OK);
  CHECK_EQ_INT(out[0], -1);
  CHECK_EQ_INT(out[1], 6);

  /* keep_dims = 0: output [1, 4] */
  const int32_t dout2[2] = {1, 4};
  ts[2] = mk(QIE_DT_INT8, 2, dout2, out);
  quant(&ts[2], &s, &zp);
  CHECK_EQ_INT(run_mean(ts, 0, 1, err), QIE_OK);
  CHECK_EQ_INT(out[1], 6);
  /* ...but then a 4-D output is wrong */
  ts[2] = mk(QIE_DT_INT8, 4, dout, out);
  quant(&ts[2], &s, &zp);
  CHECK_EQ_INT(run_mean(ts, 0, 0, err), QIE_ERR_INVALID_PLAN);
  CHECK(strstr(err, "MEAN") != NULL);
}

static void test_requantized(void) {
  /* in scale 0.5 zp 1 -> out scale 0.25 zp -3, 4 elements.
   * ratio 2.0 = 0.5 * 2^2 -> multiplier 2^30, shift 2; folding 1/4: k = log2(4) = 2,
   * multiplier (2^30 << 2) / 4 = 2^30, shift 0.
   * sum 9+3-5+1 = 8, minus zp*count 4 -> 4; srdhm(4, 2^30) = (4*2^30 + 2^30) >> 31 = 2;
   * + zp -3 -> -1.  (Real: mean of 4,1,-3,0 = 0.5 -> 0.5/0.25 - 3 = -1.) */
  int8_t in[4] = {9, 3, -5, 1};
  int8_t out[1] = {0};
  int32_t axes[2] = {1, 2};
  const int32_t di[4] = {1, 2, 2, 1}, da[1] = {2}, dout[4] = {1, 1, 1, 1};
  float si = 0.5f, so = 0.25f;
  int32_t zi = 1, zo = -3;
  qie_tensor ts[3] = {mk(QIE_DT_INT8, 4, di, in), mk(QIE_DT_INT32, 1, da, axes),
                      mk(QIE_DT_INT8, 4, dout, out)};
  ts[1].flags = QIE_TF_CONST;
  quant(&ts[0], &si, &zi);
  quant(&ts[2], &so, &zo);
  char err[QIE_ERR_LEN];
  CHECK_EQ_INT(run_mean(ts, 1, 1, err), QIE_OK);
  CHECK_EQ_INT(out[0], -1);

  /* saturation: out scale 0.01 makes the mean far out of range */
  float tiny = 0.01f;
  quant(&ts[2], &tiny, &zo);
  in[0] = in[1] = in[2] = in[3] = 127;
  CHECK_EQ_INT(run_mean(ts, 1, 1, err), QIE_OK);
  CHECK_EQ_INT(out[0], 127);
  in[0] = in[1] = in[2] = in[3] = -128;
  CHECK_EQ_INT(run_mean(ts, 1, 1, err), QIE_OK);
  CHECK_EQ_INT(out[0], -128);
}

static void test_fold_non_power_of_two(void) {
  /* same scale 0.5, zero points 0 -> 1: ratio 1.0 = 0.5 * 2^1 -> 2^30, shift 1.
   * count 3: k = 1, multiplier (2^30 << 1) / 3 = 715827882, shift 0.
   * sum 10+20+31 = 61; srdhm(61, 715827882) = (43665500802 + 2^30) / 2^31 = 20.83 -> 20;
   * + 1 -> 21. */
  int32_t m = 0;
  int sh = 0;
  qie_quantize_multiplier(1.0, &m, &sh);
  CHECK_EQ_INT(m, 1 << 30);
  CHECK_EQ_INT(sh, 1);
  qie_mean_fold_count(3, &m, &sh);
  CHECK_EQ_INT(m, 715827882);
  CHECK_EQ_INT(sh, 0);

  qie_mean_q_params p;
  memset(&p, 0, sizeof p);
  p.shape.rank = 2;
  p.shape.in_dims[0] = 1;
  p.shape.in_dims[1] = 3;
  p.shape.out_stride[0] = 1;
  p.shape.out_stride[1] = 0;
  p.shape.in_elems = 3;
  p.shape.out_elems = 1;
  p.shape.count = 3;
  p.in_zp = 0;
  p.out_zp = 1;
  p.multiplier = m;
  p.shift = sh;
  const int8_t in[3] = {10, 20, 31};
  int8_t out[1];
  int32_t scratch[1];
  qie_mean_s8_ref(&p, in, out, scratch);
  CHECK_EQ_INT(out[0], 21);

  /* a count needing the 31 + shift limit: shift -31 keeps k at 0 */
  m = 1 << 30;
  sh = -31;
  qie_mean_fold_count(1024, &m, &sh);
  CHECK_EQ_INT(sh, -31);
  CHECK_EQ_INT(m, (1 << 30) / 1024);

  /* int16 over 3 elements, scale ratio 1, zero points 0: 1.0 = 2^30 << 1, 1/3 folds
   * in as k = 1: (2^31) / 3 = 715827882, shift 0; -7 * that / 2^31 = -2.33 -> -2 */
  p.in_zp = 0;
  p.out_zp = 0;
  p.multiplier = 715827882;
  p.shift = 0;
  const int16_t in16[3] = {-7, 0, 0};
  int16_t out16[1];
  qie_mean_s16_ref(&p, in16, out16, scratch);
  CHECK_EQ_INT(out16[0], -2);
}

static void test_float(void) {
  /* [2, 3] over the last axis (given as -1 and 1), no keep_dims: 2 and 5 */
  float in[6] = {1, 2, 3, 4, 5, 6};
  float out[2] = {0, 0};
  int32_t axes[2] = {-1, 1};
  const int32_t di[2] = {2, 3}, da[1] = {2}, dout[1] = {2};
  qie_tensor ts[3] = {mk(QIE_DT_FLOAT32, 2, di, in), mk(QIE_DT_INT32, 1, da, axes),
                      mk(QIE_DT_FLOAT32, 1, dout, out)};
  ts[1].flags = QIE_TF_CONST;
  char err[QIE_ERR_LEN];
  CHECK_EQ_INT(run_mean(ts, 0, 1, err), QIE_OK);
  CHECK(out[0] == 2.0f);
  CHECK(out[1] == 5.0f);

  /* over both axes: sum 21 / 6 = 3.5 into a rank-0 output */
  ts[2] = mk(QIE_DT_FLOAT32, 0, dout, out);
  int32_t both[2] = {0, 1};
  ts[1].data = both;
  CHECK_EQ_INT(run_mean(ts, 0, 1, err), QIE_OK);
  CHECK(out[0] == 3.5f);

  /* float order: 0.1f added in input order, then / 3 */
  float in3[3] = {0.1f, 0.2f, 0.3f};
  float expect = ((0.0f + 0.1f) + 0.2f) + 0.3f;
  expect = expect / 3.0f;
  qie_reduce_shape s;
  memset(&s, 0, sizeof s);
  s.rank = 1;
  s.in_dims[0] = 3;
  s.out_stride[0] = 0;
  s.in_elems = 3;
  s.out_elems = 1;
  s.count = 3;
  qie_mean_f32_ref(&s, in3, out);
  CHECK(out[0] == expect);
}

static void test_rejects(void) {
  int8_t in[4] = {0};
  int8_t out[1] = {0};
  int32_t axes[1] = {4};
  const int32_t di[4] = {1, 2, 2, 1}, da[1] = {1}, dout[4] = {1, 1, 2, 1};
  float s = 0.5f, zero = 0.0f;
  int32_t zp = 0;
  qie_tensor ts[3] = {mk(QIE_DT_INT8, 4, di, in), mk(QIE_DT_INT32, 1, da, axes),
                      mk(QIE_DT_INT8, 4, dout, out)};
  ts[1].flags = QIE_TF_CONST;
  quant(&ts[0], &s, &zp);
  quant(&ts[2], &s, &zp);
  char err[QIE_ERR_LEN];
  CHECK_EQ_INT(run_mean(ts, 1, 0, err), QIE_ERR_INVALID_PLAN); /* axis 4 of rank 4 */
  axes[0] = 1;
  CHECK_EQ_INT(run_mean(ts, 1, 0, err), QIE_OK);
  ts[1].flags = 0; /* axes not constant */
  CHECK_EQ_INT(run_mean(ts, 1, 0, err), QIE_ERR_UNSUPPORTED);
  ts[1].flags = QIE_TF_CONST;
  quant(&ts[2], &zero, &zp); /* zero output scale */
  CHECK_EQ_INT(run_mean(ts, 1, 0, err), QIE_ERR_INVALID_PLAN);
  quant(&ts[2], &s, &zp);
  ts[2].dtype = QIE_DT_INT16; /* dtype mismatch */
  CHECK_EQ_INT(run_mean(ts, 1, 0, err), QIE_ERR_INVALID_PLAN);
  ts[0].dtype = ts[2].dtype = QIE_DT_INT32;
  CHECK_EQ_INT(run_mean(ts, 1, 0, err), QIE_ERR_UNSUPPORTED);
}

int main(void) {
  test_equal_params_requantize();
  test_requantized();
  test_fold_non_power_of_two();
  test_float();
  test_rejects();
  return CHECK_DONE("test_mean");
}
