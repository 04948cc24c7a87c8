/* ADD / SUB / MUL kernels and ops, broadcasting, QUANTIZE / DEQUANTIZE. */
#include <math.h>
#include <string.h>

#include "../kernels/elementwise.h"
#include "../kernels/quant.h"
#include "../kernels/quantize.h"
#include "../ops/broadcast.h"
#include "../runtime/runtime.h"
#include "check.h"

extern const qie_op_impl qie_op_add, qie_op_sub, qie_op_mul, qie_op_quantize, qie_op_dequantize;

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

static void free_persist(qie_ctx* ctx) {
  for (int i = 0; i < ctx->n_persist; ++i) qie_free(ctx->persist[i]);
  qie_free(ctx->persist);
  ctx->persist = NULL;
  ctx->n_persist = ctx->cap_persist = 0;
}

/* Runs a 2-in/1-out (or 1-in/1-out) op over tensors[0..n-1]; the last is the output. */
static qie_status run_op(const qie_op_impl* impl, qie_tensor* tensors, int n, int32_t act,
                         uint32_t semantics, char* err) {
  static const int32_t ins[2] = {0, 1};
  int32_t out_idx = n - 1;
  qie_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.tensors = tensors;
  ctx.n_tensors = n;
  ctx.err = err;
  ctx.semantics = semantics;
  qie_op op;
  memset(&op, 0, sizeof op);
  op.code = impl->code;
  op.impl = impl;
  op.n_in = n - 1;
  op.n_out = 1;
  op.in = ins;
  op.out = &out_idx;
  op.iattr[QIE_ELTWISE_ACTIVATION] = act;
  err[0] = 0;
  qie_status st = impl->prepare(&ctx, &op);
  if (st == QIE_OK) {
    CHECK(op.kernel != NULL);
    st = impl->eval(&ctx, &op);
  }
  free_persist(&ctx);
  return st;
}

static void test_broadcast_shapes(void) {
  int32_t out[6];
  int rank = 0;
  const int32_t a[2] = {2, 3}, b[1] = {3}, c[1] = {4}, d[3] = {5, 1, 1};
  CHECK(qie_broadcast_shape(a, 2, b, 1, out, &rank));
  CHECK_EQ_INT(rank, 2);
  CHECK_EQ_INT(out[0], 2);
  CHECK_EQ_INT(out[1], 3);
  CHECK(!qie_broadcast_shape(a, 2, c, 1, out, &rank));
  CHECK(qie_broadcast_shape(a, 2, d, 3, out, &rank));
  CHECK_EQ_INT(rank, 3);
  CHECK_EQ_INT(out[0] * 100 + out[1] * 10 + out[2], 523);
  /* a zero extent broadcasts against 1 only */
  const int32_t z[1] = {0}, one[1] = {1};
  CHECK(qie_broadcast_shape(z, 1, one, 1, out, &rank) && out[0] == 0);
  CHECK(!qie_broadcast_shape(z, 1, b, 1, out, &rank));

  /* same shapes collapse to one row; [2,3] + [3] keeps b's stride 0 on the outer dim */
  qie_bcast bc;
  CHECK(qie_broadcast_plan(a, 2, a, 2, a, 2, &bc));
  CHECK_EQ_INT(bc.dims[5], 6);
  CHECK_EQ_INT(bc.dims[4], 1);
  CHECK_EQ_INT(bc.count, 6);
  CHECK(qie_broadcast_plan(a, 2, b, 1, a, 2, &bc));
  CHECK_EQ_INT(bc.dims[5], 3);
  CHECK_EQ_INT(bc.dims[4], 2);
  CHECK_EQ_INT(bc.sb[4], 0);
  CHECK_EQ_INT(bc.sa[4], 3);
  /* plan refuses an output that is not the broadcast */
  const int32_t wrong[2] = {3, 3};
  CHECK(!qie_broadcast_plan(a, 2, b, 1, wrong, 2, &bc));
}

/* 6-D float add with broadcasting on alternating dims against a naive index walk. */
static void test_broadcast_6d(void) {
  const int32_t ad[6] = {2, 1, 3, 1, 2, 1}, bd[6] = {1, 2, 1, 2, 1, 3}, od[6] = {2, 2, 3, 2, 2, 3};
  float a[12], b[12], out[144];
  for (int i = 0; i < 12; ++i) {
    a[i] = (float)(i * 100);
    b[i] = (float)i;
  }
  qie_bcast bc;
  CHECK(qie_broadcast_plan(ad, 6, bd, 6, od, 6, &bc));
  qie_addsub_f32_ref(false, -INFINITY, INFINITY, &bc, a, b, out);
  int bad = 0, o = 0;
  for (int i0 = 0; i0 < 2; ++i0)
    for (int i1 = 0; i1 < 2; ++i1)
      for (int i2 = 0; i2 < 3; ++i2)
        for (int i3 = 0; i3 < 2; ++i3)
          for (int i4 = 0; i4 < 2; ++i4)
            for (int i5 = 0; i5 < 3; ++i5, ++o) {
              const int ia = (i0 * 3 + i2) * 2 + i4; /* a's dims 2,3,2 */
              const int ib = (i1 * 2 + i3) * 3 + i5; /* b's dims 2,2,3 */
              if (out[o] != a[ia] + b[ib]) ++bad;
            }
  CHECK_EQ_INT(bad, 0);
}

/* int8 ADD with s1 = s2 = 0.5, so = 1, zero points 0:
 *   twice_max = 1, input multipliers 0.5 -> (2^30, shift 0),
 *   output 1/2^20 -> (2^30, shift -19).
 *   3 + 5: 3*2^20 -> SRDHM by 2^30 -> 3*2^19; sum 8*2^19 = 2^22; SRDHM -> 2^21;
 *   2^21 / 2^19 = 4 (= 0.5*3 + 0.5*5).
 *   1 + 0: sum 2^19 -> 2^18 -> 2^18 / 2^19 = 0.5 rounds away from zero: 1; -1 + 0 -> -1. */
static void test_add_s8(void) {
  char err[QIE_ERR_LEN];
  const float s_half = 0.5f, s_one = 1.0f;
  const int32_t zp0 = 0;
  const int32_t dims[1] = {5};
  int8_t a[5] = {3, 1, -1, 127, -128}, b[5] = {5, 0, 0, 127, -128}, out[5] = {0};
  qie_tensor t[3] = {mk(QIE_DT_INT8, 1, dims, a, &s_half, &zp0), mk(QIE_DT_INT8, 1, dims, b, &s_half, &zp0),
                     mk(QIE_DT_INT8, 1, dims, out, &s_one, &zp0)};
  CHECK_EQ_INT(run_op(&qie_op_add, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK_EQ_INT(out[0], 4);
  CHECK_EQ_INT(out[1], 1);
  CHECK_EQ_INT(out[2], -1);
  CHECK_EQ_INT(out[3], 127);
  CHECK_EQ_INT(out[4], -128);

  /* output scale 0.5 doubles the result: 127 + 127 saturates; RELU with zero point
   * -10 clamps below at -10 */
  const int32_t zo = -10;
  t[2] = mk(QIE_DT_INT8, 1, dims, out, &s_half, &zo);
  CHECK_EQ_INT(run_op(&qie_op_add, t, 3, QIE_ACT_RELU, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK_EQ_INT(out[0], 8 - 10);
  CHECK_EQ_INT(out[3], 127);
  CHECK_EQ_INT(out[4], -10);

  /* SUB: 3 - 5 = -1 in real terms (0.5 * -2) -> -1 at scale 1 */
  t[2] = mk(QIE_DT_INT8, 1, dims, out, &s_one, &zp0);
  CHECK_EQ_INT(run_op(&qie_op_sub, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK_EQ_INT(out[0], -1);
  CHECK_EQ_INT(out[3], 0);

  /* zero points at the extremes: a zp -128 makes -128 a real 0; b zp 127 likewise */
  const int32_t za = -128, zb = 127;
  int8_t a2[5] = {-128, -127, 127, 0, -128}, b2[5] = {127, 127, 127, 126, 0};
  t[0] = mk(QIE_DT_INT8, 1, dims, a2, &s_half, &za);
  t[1] = mk(QIE_DT_INT8, 1, dims, b2, &s_half, &zb);
  CHECK_EQ_INT(run_op(&qie_op_add, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK_EQ_INT(out[0], 0);
  CHECK_EQ_INT(out[1], 1);   /* 0.5 -> 1 */
  CHECK_EQ_INT(out[2], 127); /* 0.5 * 255 = 127.5 -> 128 -> saturates */
  CHECK_EQ_INT(out[3], 64);  /* 0.5 * 128 - 0.5 = 63.5 -> 64 */
  CHECK_EQ_INT(out[4], -64); /* 0.5 * -127 = -63.5 -> -64 */

  /* broadcast [2,3] + [3]: same per-element function as the flat path */
  const int32_t d23[2] = {2, 3}, d3[1] = {3};
  int8_t x[6] = {1, 2, 3, 4, 5, 6}, y[3] = {10, 20, 30}, z[6] = {0};
  qie_tensor tb[3] = {mk(QIE_DT_INT8, 2, d23, x, &s_half, &zp0), mk(QIE_DT_INT8, 1, d3, y, &s_half, &zp0),
                      mk(QIE_DT_INT8, 2, d23, z, &s_half, &zp0)};
  CHECK_EQ_INT(run_op(&qie_op_add, tb, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  const int8_t want[6] = {11, 22, 33, 14, 25, 36};
  for (int i = 0; i < 6; ++i) CHECK_EQ_INT(z[i], want[i]);
}

/* int8 MUL: sa = 0.5, sb = 0.25, so = 0.125 -> M = 1.0 = 2^30 * 2^1.
 *   3 * -5 = -15 -> 1.5 * -1.25 / 0.125 = -15.
 * With so = 0.25 (M = 0.5): 3 * 1 -> 1.5 -> SRDHM rounds half up -> 2; -3 * 1 -> -1. */
static void test_mul_s8(void) {
  char err[QIE_ERR_LEN];
  const float sa = 0.5f, sb = 0.25f, so = 0.125f, so2 = 0.25f;
  const int32_t zp0 = 0;
  const int32_t dims[1] = {3};
  int8_t a[3] = {3, 3, -3}, b[3] = {-5, 1, 1}, out[3] = {0};
  qie_tensor t[3] = {mk(QIE_DT_INT8, 1, dims, a, &sa, &zp0), mk(QIE_DT_INT8, 1, dims, b, &sb, &zp0),
                     mk(QIE_DT_INT8, 1, dims, out, &so, &zp0)};
  CHECK_EQ_INT(run_op(&qie_op_mul, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK_EQ_INT(out[0], -15);
  t[2] = mk(QIE_DT_INT8, 1, dims, out, &so2, &zp0);
  CHECK_EQ_INT(run_op(&qie_op_mul, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK_EQ_INT(out[1], 2);
  CHECK_EQ_INT(out[2], -1);

  /* float and int32 with a scalar operand */
  const int32_t d1[1] = {1};
  float fa[3] = {1.5f, -2.0f, 4.0f}, fb[1] = {-2.0f}, fo[3];
  qie_tensor tf[3] = {mk(QIE_DT_FLOAT32, 1, dims, fa, NULL, NULL), mk(QIE_DT_FLOAT32, 1, d1, fb, NULL, NULL),
                      mk(QIE_DT_FLOAT32, 1, dims, fo, NULL, NULL)};
  CHECK_EQ_INT(run_op(&qie_op_mul, tf, 3, QIE_ACT_RELU6, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK(fo[0] == 0.0f && fo[1] == 4.0f && fo[2] == 0.0f);
  int32_t ia[3] = {7, -3, INT32_MAX}, ib[1] = {2}, io[3];
  qie_tensor ti[3] = {mk(QIE_DT_INT32, 1, dims, ia, NULL, NULL), mk(QIE_DT_INT32, 1, d1, ib, NULL, NULL),
                      mk(QIE_DT_INT32, 1, dims, io, NULL, NULL)};
  CHECK_EQ_INT(run_op(&qie_op_mul, ti, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK_EQ_INT(io[0], 14);
  CHECK_EQ_INT(io[1], -6);
  CHECK_EQ_INT(io[2], -2); /* wraps */
  CHECK_EQ_INT(run_op(&qie_op_sub, ti, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK_EQ_INT(io[0], 5);
  CHECK_EQ_INT(io[1], -5);
}

/* int16 ADD uses a 15-bit headroom and symmetric zero points. s = 1/1024 each, out 1/512:
 * twice_max = 1/512; inputs (2^30, 0); output 2^-15 -> (2^30, -14).
 * 1000 + 3000: 1000*2^15 -> 1000*2^14; sum 4000*2^14; SRDHM -> 4000*2^13; / 2^14 = 2000. */
static void test_add_s16(void) {
  char err[QIE_ERR_LEN];
  const float s = 1.0f / 1024, so = 1.0f / 512;
  const int32_t zp0 = 0, zp1 = 1;
  const int32_t dims[1] = {2};
  int16_t a[2] = {1000, 32767}, b[2] = {3000, 32767}, out[2];
  qie_tensor t[3] = {mk(QIE_DT_INT16, 1, dims, a, &s, &zp0), mk(QIE_DT_INT16, 1, dims, b, &s, &zp0),
                     mk(QIE_DT_INT16, 1, dims, out, &so, &zp0)};
  CHECK_EQ_INT(run_op(&qie_op_add, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK_EQ_INT(out[0], 2000);
  CHECK_EQ_INT(out[1], 32767);
  t[2] = mk(QIE_DT_INT16, 1, dims, out, &so, &zp1);
  CHECK_EQ_INT(run_op(&qie_op_add, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_ERR_UNSUPPORTED);
}

static void test_prepare_rejects(void) {
  char err[QIE_ERR_LEN];
  const float s = 0.5f, zero = 0.0f;
  const int32_t zp0 = 0, zp_bad = 200;
  const int32_t d23[2] = {2, 3}, d4[1] = {4}, d3[1] = {3};
  int8_t buf[6] = {0};
  float fbuf[6] = {0};
  /* shapes that do not broadcast */
  qie_tensor t[3] = {mk(QIE_DT_INT8, 2, d23, buf, &s, &zp0), mk(QIE_DT_INT8, 1, d4, buf, &s, &zp0),
                     mk(QIE_DT_INT8, 2, d23, buf, &s, &zp0)};
  CHECK_EQ_INT(run_op(&qie_op_add, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_ERR_INVALID_PLAN);
  CHECK(strstr(err, "ADD") != NULL);
  /* output shape not the broadcast of the inputs */
  t[1] = mk(QIE_DT_INT8, 1, d3, buf, &s, &zp0);
  t[2] = mk(QIE_DT_INT8, 1, d3, buf, &s, &zp0);
  CHECK_EQ_INT(run_op(&qie_op_add, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_ERR_INVALID_PLAN);
  /* mixed dtypes */
  t[2] = mk(QIE_DT_INT8, 2, d23, buf, &s, &zp0);
  t[1] = mk(QIE_DT_FLOAT32, 1, d3, fbuf, NULL, NULL);
  CHECK_EQ_INT(run_op(&qie_op_mul, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_ERR_UNSUPPORTED);
  /* zero scale, missing quantization, zero point out of int8 range */
  t[1] = mk(QIE_DT_INT8, 1, d3, buf, &zero, &zp0);
  CHECK_EQ_INT(run_op(&qie_op_add, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_ERR_INVALID_PLAN);
  t[1] = mk(QIE_DT_INT8, 1, d3, buf, NULL, NULL);
  CHECK_EQ_INT(run_op(&qie_op_add, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_ERR_INVALID_PLAN);
  t[1] = mk(QIE_DT_INT8, 1, d3, buf, &s, &zp_bad);
  CHECK_EQ_INT(run_op(&qie_op_add, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_ERR_INVALID_PLAN);
  /* fused TANH has no integer bounds */
  t[1] = mk(QIE_DT_INT8, 1, d3, buf, &s, &zp0);
  CHECK_EQ_INT(run_op(&qie_op_add, t, 3, QIE_ACT_TANH, QIE_SEMANTICS_TFLITE, err), QIE_ERR_UNSUPPORTED);
  /* rank 7 is not a plan the op can take */
  t[0].rank = 7;
  CHECK(run_op(&qie_op_add, t, 3, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err) != QIE_OK);
  /* one input only */
  CHECK_EQ_INT(run_op(&qie_op_add, t, 2, QIE_ACT_NONE, QIE_SEMANTICS_TFLITE, err), QIE_ERR_INVALID_PLAN);
}

/* QUANTIZE float -> int8 at scale 0.5, zp -1: 1.25 / 0.5 = 2.5 -> 3 (TFLite, away from
 * zero) or 2 (ONNX, to even), then -1. Requantize int8 scale 1 -> scale 2: 3 -> 1.5 -> 2,
 * -3 -> -1.5 -> -1 (SRDHM rounds half up). */
static void test_quantize(void) {
  char err[QIE_ERR_LEN];
  const float s_half = 0.5f, s1 = 1.0f, s2 = 2.0f;
  const int32_t zm1 = -1, zp0 = 0, zp128 = 128, zp3 = 3;
  const int32_t dims[1] = {5};
  float in[5] = {1.25f, 1e10f, -1e10f, NAN, -0.75f};
  int8_t out[5];
  qie_tensor t[2] = {mk(QIE_DT_FLOAT32, 1, dims, in, NULL, NULL), mk(QIE_DT_INT8, 1, dims, out, &s_half, &zm1)};
  CHECK_EQ_INT(run_op(&qie_op_quantize, t, 2, 0, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK_EQ_INT(out[0], 2);
  CHECK_EQ_INT(out[1], 127);
  CHECK_EQ_INT(out[2], -128);
  CHECK_EQ_INT(out[3], -1);
  CHECK_EQ_INT(out[4], -3); /* -1.5 -> -2 away from zero */
  CHECK_EQ_INT(run_op(&qie_op_quantize, t, 2, 0, QIE_SEMANTICS_ONNX, err), QIE_OK);
  CHECK_EQ_INT(out[0], 1);
  CHECK_EQ_INT(out[4], -3); /* -1.5 -> -2 (even) */

  int8_t q[5] = {3, -3, 127, -128, 0}, r[5];
  t[0] = mk(QIE_DT_INT8, 1, dims, q, &s1, &zp0);
  t[1] = mk(QIE_DT_INT8, 1, dims, r, &s2, &zp0);
  CHECK_EQ_INT(run_op(&qie_op_quantize, t, 2, 0, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK_EQ_INT(r[0], 2);
  CHECK_EQ_INT(r[1], -1);
  CHECK_EQ_INT(r[2], 64);
  CHECK_EQ_INT(r[3], -64);

  /* uint8 zp 128 -> int8 zp 0 at the same scale is a flip of the top bit */
  uint8_t u[5] = {200, 0, 255, 128, 1};
  t[0] = mk(QIE_DT_UINT8, 1, dims, u, &s1, &zp128);
  t[1] = mk(QIE_DT_INT8, 1, dims, r, &s1, &zp0);
  CHECK_EQ_INT(run_op(&qie_op_quantize, t, 2, 0, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  for (int i = 0; i < 5; ++i) CHECK_EQ_INT(r[i], (int8_t)(u[i] ^ 0x80));

  /* int8 -> int16 at 256x finer scale */
  const float s_fine = 1.0f / 256;
  int16_t w[5];
  t[0] = mk(QIE_DT_INT8, 1, dims, q, &s1, &zp0);
  t[1] = mk(QIE_DT_INT16, 1, dims, w, &s_fine, &zp0);
  CHECK_EQ_INT(run_op(&qie_op_quantize, t, 2, 0, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK_EQ_INT(w[0], 768);
  CHECK_EQ_INT(w[3], -32768);

  /* DEQUANTIZE: 0.5 * (x - 3) */
  float f[5];
  t[0] = mk(QIE_DT_INT8, 1, dims, q, &s_half, &zp3);
  t[1] = mk(QIE_DT_FLOAT32, 1, dims, f, NULL, NULL);
  CHECK_EQ_INT(run_op(&qie_op_dequantize, t, 2, 0, QIE_SEMANTICS_TFLITE, err), QIE_OK);
  CHECK(f[0] == 0.0f && f[1] == -3.0f && f[2] == 62.0f && f[3] == -65.5f && f[4] == -1.5f);

  /* rejects: float -> float, shape mismatch, per-channel output */
  t[0] = mk(QIE_DT_FLOAT32, 1, dims, in, NULL, NULL);
  CHECK_EQ_INT(run_op(&qie_op_quantize, t, 2, 0, QIE_SEMANTICS_TFLITE, err), QIE_ERR_UNSUPPORTED);
  const int32_t d4[1] = {4};
  t[1] = mk(QIE_DT_INT8, 1, d4, out, &s_half, &zm1);
  CHECK_EQ_INT(run_op(&qie_op_quantize, t, 2, 0, QIE_SEMANTICS_TFLITE, err), QIE_ERR_INVALID_PLAN);
  const float two_scales[2] = {0.5f, 0.25f};
  const int32_t two_zps[2] = {0, 0};
  t[1] = mk(QIE_DT_INT8, 1, dims, out, two_scales, two_zps);
  t[1].q_count = 2;
  t[1].q_axis = 0;
  CHECK_EQ_INT(run_op(&qie_op_quantize, t, 2, 0, QIE_SEMANTICS_TFLITE, err), QIE_ERR_UNSUPPORTED);
}

int main(void) {
  test_broadcast_shapes();
  test_broadcast_6d();
  test_add_s8();
  test_mul_s8();
  test_add_s16();
  test_prepare_rejects();
  test_quantize();
  return CHECK_DONE("test_elementwise");
}
