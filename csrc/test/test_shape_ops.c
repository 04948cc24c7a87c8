/* Data-movement ops: kernels on hand-worked cases and ops through prepare/eval,
 * including rejected plans. */
#include <stdlib.h>
#include <string.h>

#include "../kernels/shape_ops.h"
#include "../runtime/runtime.h"
#include "check.h"

extern const qie_op_impl qie_op_reshape, qie_op_pad, qie_op_transpose, qie_op_concatenation,
    qie_op_pack, qie_op_shape, qie_op_strided_slice, qie_op_resize_nearest_neighbor;

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

static qie_tensor mkc(qie_dtype dt, int rank, const int32_t* dims, void* data) {
  qie_tensor t = mk(dt, rank, dims, data);
  t.flags = QIE_TF_CONST;
  return t;
}

static void quant(qie_tensor* t, const float* scale, const int32_t* zp) {
  t->q_count = 1;
  t->scales = scale;
  t->zero_points = zp;
}

static char err[QIE_ERR_LEN];

/* Inputs are tensors 0..n_in-1, the output is tensor n_in. */
static qie_status run(const qie_op_impl* impl, qie_tensor* ts, int n_in, const int32_t* iattr,
                      int n_attr, int do_eval) {
  qie_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.tensors = ts;
  ctx.n_tensors = n_in + 1;
  ctx.err = err;
  err[0] = 0;
  int32_t ins[16], outs[1] = {n_in};
  for (int i = 0; i < n_in; ++i) ins[i] = i;
  qie_op op;
  memset(&op, 0, sizeof op);
  op.code = impl->code;
  op.n_in = n_in;
  op.n_out = 1;
  op.in = ins;
  op.out = outs;
  for (int i = 0; i < n_attr; ++i) op.iattr[i] = iattr[i];
  op.impl = impl;
  qie_status st = impl->prepare(&ctx, &op);
  if (st == QIE_OK && do_eval) {
    CHECK(op.kernel != NULL);
    op.scratch = op.scratch_bytes ? malloc(op.scratch_bytes) : NULL;
    st = impl->eval(&ctx, &op);
    free(op.scratch);
  }
  for (int i = 0; i < ctx.n_persist; ++i) qie_free(ctx.persist[i]);
  qie_free(ctx.persist);
  return st;
}

static void test_reshape(void) {
  int8_t in[6] = {1, 2, 3, 4, 5, 6}, out[6] = {0};
  const int32_t di[2] = {2, 3}, dout[3] = {3, 2, 1};
  float s = 0.5f, s2 = 0.25f;
  int32_t zp = 3;
  qie_tensor ts[2] = {mk(QIE_DT_INT8, 2, di, in), mk(QIE_DT_INT8, 3, dout, out)};
  quant(&ts[0], &s, &zp);
  quant(&ts[1], &s, &zp);
  CHECK_EQ_INT(run(&qie_op_reshape, ts, 1, NULL, 0, 1), QIE_OK);
  CHECK(memcmp(in, out, 6) == 0);
  quant(&ts[1], &s2, &zp); /* requantizing reshape is not a reshape */
  CHECK_EQ_INT(run(&qie_op_reshape, ts, 1, NULL, 0, 0), QIE_ERR_UNSUPPORTED);
  quant(&ts[1], &s, &zp);
  const int32_t bad[2] = {2, 2};
  ts[1] = mk(QIE_DT_INT8, 2, bad, out);
  CHECK_EQ_INT(run(&qie_op_reshape, ts, 1, NULL, 0, 0), QIE_ERR_INVALID_PLAN);
  CHECK(strstr(err, "RESHAPE") != NULL);
}

static void test_pad(void) {
  /* int8 [1,2,2,1] padded by 1 on H and W with the output zero point -14 */
  int8_t in[4] = {1, 2, 3, 4}, out[16];
  int32_t pads[8] = {0, 0, 1, 1, 1, 1, 0, 0};
  const int32_t di[4] = {1, 2, 2, 1}, dp[2] = {4, 2}, dout[4] = {1, 4, 4, 1};
  float s = 0.0186f;
  int32_t zp = -14;
  qie_tensor ts[3] = {mk(QIE_DT_INT8, 4, di, in), mkc(QIE_DT_INT32, 2, dp, pads),
                      mk(QIE_DT_INT8, 4, dout, out)};
  quant(&ts[0], &s, &zp);
  quant(&ts[2], &s, &zp);
  CHECK_EQ_INT(run(&qie_op_pad, ts, 2, NULL, 0, 1), QIE_OK);
  const int8_t want[16] = {-14, -14, -14, -14, -14, 1, 2, -14, -14, 3, 4, -14, -14, -14, -14, -14};
  CHECK(memcmp(out, want, 16) == 0);

  /* PADV2 with a constant value of 7, asymmetric padding: [1,2,2,1] -> [1,3,5,1] */
  int8_t cval = 7, out2[15];
  int32_t pads2[8] = {0, 0, 0, 1, 2, 1, 0, 0};
  const int32_t dout2[4] = {1, 3, 5, 1}, dscalar[1] = {1};
  qie_tensor ts2[4] = {mk(QIE_DT_INT8, 4, di, in), mkc(QIE_DT_INT32, 2, dp, pads2),
                       mkc(QIE_DT_INT8, 0, dscalar, &cval), mk(QIE_DT_INT8, 4, dout2, out2)};
  quant(&ts2[0], &s, &zp);
  quant(&ts2[3], &s, &zp);
  CHECK_EQ_INT(run(&qie_op_pad, ts2, 3, NULL, 0, 1), QIE_OK);
  const int8_t want2[15] = {7, 7, 1, 2, 7, 7, 7, 3, 4, 7, 7, 7, 7, 7, 7};
  CHECK(memcmp(out2, want2, 15) == 0);

  /* float, int64 paddings, rank 1: [a, b] -> [0, a, b, 0, 0] */
  float fin[2] = {1.5f, -2.0f}, fout[5] = {9, 9, 9, 9, 9};
  int64_t fp[2] = {1, 2};
  const int32_t d2[1] = {2}, dp1[2] = {1, 2}, d5[1] = {5};
  qie_tensor ts3[3] = {mk(QIE_DT_FLOAT32, 1, d2, fin), mkc(QIE_DT_INT64, 2, dp1, fp),
                       mk(QIE_DT_FLOAT32, 1, d5, fout)};
  CHECK_EQ_INT(run(&qie_op_pad, ts3, 2, NULL, 0, 1), QIE_OK);
  CHECK(fout[0] == 0.0f && fout[1] == 1.5f && fout[2] == -2.0f && fout[3] == 0.0f &&
        fout[4] == 0.0f);

  /* rejects: wrong output shape, negative padding, non-constant paddings */
  const int32_t wrong[4] = {1, 4, 5, 1};
  ts[2] = mk(QIE_DT_INT8, 4, wrong, out);
  quant(&ts[2], &s, &zp);
  CHECK_EQ_INT(run(&qie_op_pad, ts, 2, NULL, 0, 0), QIE_ERR_INVALID_PLAN);
  ts[2] = mk(QIE_DT_INT8, 4, dout, out);
  quant(&ts[2], &s, &zp);
  pads[2] = -1;
  pads[3] = 3;
  CHECK_EQ_INT(run(&qie_op_pad, ts, 2, NULL, 0, 0), QIE_ERR_INVALID_PLAN);
  pads[2] = 1;
  pads[3] = 1;
  ts[1].flags = 0;
  CHECK_EQ_INT(run(&qie_op_pad, ts, 2, NULL, 0, 0), QIE_ERR_UNSUPPORTED);

  /* rank 6 kernel: [1,1,1,1,1,2] padded by 1 before on dim 4 and 1 after on dim 5 */
  qie_pad_params p;
  memset(&p, 0, sizeof p);
  p.rank = 6;
  for (int d = 0; d < 6; ++d) p.in_dims[d] = 1;
  p.in_dims[5] = 2;
  p.before[4] = 1;
  p.after[5] = 1;
  p.elem_size = 2;
  const int16_t i16[2] = {300, -300};
  int16_t o16[6];
  const int16_t pv = -1;
  qie_pad_ref(&p, i16, o16, &pv);
  const int16_t w16[6] = {-1, -1, -1, 300, -300, -1};
  CHECK(memcmp(o16, w16, sizeof w16) == 0);
}

static void test_transpose(void) {
  /* NCHW [1,3,2,2] -> NHWC [1,2,2,3] with perm [0,2,3,1]: out[h][w][c] = in[c][h][w] */
  int8_t in[12], out[12];
  for (int i = 0; i < 12; ++i) in[i] = (int8_t)i;
  int32_t perm[4] = {0, 2, 3, 1};
  const int32_t di[4] = {1, 3, 2, 2}, dp[1] = {4}, dout[4] = {1, 2, 2, 3};
  qie_tensor ts[3] = {mk(QIE_DT_INT8, 4, di, in), mkc(QIE_DT_INT32, 1, dp, perm),
                      mk(QIE_DT_INT8, 4, dout, out)};
  CHECK_EQ_INT(run(&qie_op_transpose, ts, 2, NULL, 0, 1), QIE_OK);
  const int8_t want[12] = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
  CHECK(memcmp(out, want, 12) == 0);

  perm[3] = 2; /* not a permutation */
  CHECK_EQ_INT(run(&qie_op_transpose, ts, 2, NULL, 0, 0), QIE_ERR_INVALID_PLAN);
  perm[3] = 1;
  const int32_t wrong[4] = {1, 2, 3, 2};
  ts[2] = mk(QIE_DT_INT8, 4, wrong, out);
  CHECK_EQ_INT(run(&qie_op_transpose, ts, 2, NULL, 0, 0), QIE_ERR_INVALID_PLAN);

  /* 6-D, 8-byte elements: reverse the dims of [2,1,3,1,2,2] and compare with a naive loop */
  qie_transpose_params p;
  p.rank = 6;
  const int32_t dims[6] = {2, 1, 3, 1, 2, 2};
  for (int d = 0; d < 6; ++d) {
    p.in_dims[d] = dims[d];
    p.perm[d] = 5 - d;
  }
  p.elem_size = 8;
  int64_t a[48], b[48];
  for (int i = 0; i < 48; ++i) a[i] = 1000 + i;
  qie_transpose_ref(&p, a, b);
  int ok = 1, o = 0;
  for (int i5 = 0; i5 < 2; ++i5)
    for (int i4 = 0; i4 < 2; ++i4)
      for (int i3 = 0; i3 < 1; ++i3)
        for (int i2 = 0; i2 < 3; ++i2)
          for (int i1 = 0; i1 < 1; ++i1)
            for (int i0 = 0; i0 < 2; ++i0) {
              const int src = ((((i0 * 1 + i1) * 3 + i2) * 1 + i3) * 2 + i4) * 2 + i5;
              if (b[o++] != a[src]) ok = 0;
            }
  CHECK(ok);
}

static void test_concat_pack(void) {
  /* float [2,1] ++ [2,2] on axis -1 -> [2,3], then with RELU6 */
  float a[2] = {-1.0f, 7.0f}, b[4] = {2.0f, 3.0f, 4.0f, 5.0f}, out[6];
  const int32_t da[2] = {2, 1}, db[2] = {2, 2}, dout[2] = {2, 3};
  qie_tensor ts[3] = {mk(QIE_DT_FLOAT32, 2, da, a), mk(QIE_DT_FLOAT32, 2, db, b),
                      mk(QIE_DT_FLOAT32, 2, dout, out)};
  int32_t attr[2] = {-1, QIE_ACT_NONE};
  CHECK_EQ_INT(run(&qie_op_concatenation, ts, 2, attr, 2, 1), QIE_OK);
  const float want[6] = {-1.0f, 2.0f, 3.0f, 7.0f, 4.0f, 5.0f};
  CHECK(memcmp(out, want, sizeof want) == 0);
  attr[1] = QIE_ACT_RELU6;
  CHECK_EQ_INT(run(&qie_op_concatenation, ts, 2, attr, 2, 1), QIE_OK);
  CHECK(out[0] == 0.0f && out[3] == 6.0f && out[5] == 5.0f);
  attr[0] = 0; /* axis 0 would need [4, ...] */
  attr[1] = QIE_ACT_NONE;
  CHECK_EQ_INT(run(&qie_op_concatenation, ts, 2, attr, 2, 0), QIE_ERR_INVALID_PLAN);

  /* int8 with an input quantized differently from the output is refused */
  int8_t qa[2], qb[4], qo[6];
  float s = 0.5f, s2 = 0.25f;
  int32_t zp = 0;
  qie_tensor tq[3] = {mk(QIE_DT_INT8, 2, da, qa), mk(QIE_DT_INT8, 2, db, qb),
                      mk(QIE_DT_INT8, 2, dout, qo)};
  quant(&tq[0], &s, &zp);
  quant(&tq[1], &s2, &zp);
  quant(&tq[2], &s, &zp);
  attr[0] = 1;
  CHECK_EQ_INT(run(&qie_op_concatenation, tq, 2, attr, 2, 0), QIE_ERR_UNSUPPORTED);
  quant(&tq[1], &s, &zp);
  CHECK_EQ_INT(run(&qie_op_concatenation, tq, 2, attr, 2, 0), QIE_OK);
  attr[1] = QIE_ACT_RELU; /* no fused activation on int8 */
  CHECK_EQ_INT(run(&qie_op_concatenation, tq, 2, attr, 2, 0), QIE_ERR_UNSUPPORTED);

  /* pack two int16 [2] on axis 0 -> [[a],[b]] and on axis -1 -> interleaved */
  int16_t p0[2] = {1, 2}, p1[2] = {3, 4}, po[4];
  const int32_t d2[1] = {2}, d22[2] = {2, 2};
  qie_tensor tp[3] = {mk(QIE_DT_INT16, 1, d2, p0), mk(QIE_DT_INT16, 1, d2, p1),
                      mk(QIE_DT_INT16, 2, d22, po)};
  int32_t axis = 0;
  CHECK_EQ_INT(run(&qie_op_pack, tp, 2, &axis, 1, 1), QIE_OK);
  CHECK(po[0] == 1 && po[1] == 2 && po[2] == 3 && po[3] == 4);
  axis = -1;
  CHECK_EQ_INT(run(&qie_op_pack, tp, 2, &axis, 1, 1), QIE_OK);
  CHECK(po[0] == 1 && po[1] == 3 && po[2] == 2 && po[3] == 4);
  axis = 2;
  CHECK_EQ_INT(run(&qie_op_pack, tp, 2, &axis, 1, 0), QIE_ERR_INVALID_PLAN);
}

static void test_shape(void) {
  int8_t in[1];
  int64_t out[3];
  const int32_t di[3] = {1, 7, 3}, dout[1] = {3};
  qie_tensor ts[2] = {mk(QIE_DT_INT8, 3, di, in), mk(QIE_DT_INT64, 1, dout, out)};
  CHECK_EQ_INT(run(&qie_op_shape, ts, 1, NULL, 0, 1), QIE_OK);
  CHECK(out[0] == 1 && out[1] == 7 && out[2] == 3);
  ts[1].dtype = QIE_DT_FLOAT32;
  CHECK_EQ_INT(run(&qie_op_shape, ts, 1, NULL, 0, 0), QIE_ERR_UNSUPPORTED);
}

/* Strided slice of int32 [3,4] = 0..11 with the given spec; checks the output. */
static void slice_case(int line, const int32_t* b, const int32_t* e, const int32_t* s, int n,
                       const int32_t* attr, int out_rank, const int32_t* out_dims,
                       const int32_t* want, int n_want, qie_status want_st) {
  int32_t in[12], out[16];
  for (int i = 0; i < 12; ++i) in[i] = i;
  memset(out, 0x7f, sizeof out);
  const int32_t di[2] = {3, 4}, dn[1] = {n};
  qie_tensor ts[5] = {mk(QIE_DT_INT32, 2, di, in), mkc(QIE_DT_INT32, 1, dn, (void*)b),
                      mkc(QIE_DT_INT32, 1, dn, (void*)e), mkc(QIE_DT_INT32, 1, dn, (void*)s),
                      mk(QIE_DT_INT32, out_rank, out_dims, out)};
  const qie_status st = run(&qie_op_strided_slice, ts, 4, attr, 6, 1);
  if (st != want_st) fprintf(stderr, "slice case at line %d: %s\n", line, err);
  CHECK_EQ_INT(st, want_st);
  if (st != QIE_OK) return;
  for (int i = 0; i < n_want; ++i) {
    if (out[i] != want[i]) fprintf(stderr, "slice case at line %d, element %d\n", line, i);
    CHECK_EQ_INT(out[i], want[i]);
  }
}

static void test_strided_slice(void) {
  /* masks: begin, end, ellipsis, new_axis, shrink, offset */
  {
    /* rows 1..2, every other column */
    const int32_t b[2] = {1, 0}, e[2] = {3, 4}, s[2] = {1, 2}, attr[6] = {0};
    const int32_t od[2] = {2, 2}, w[4] = {4, 6, 8, 10};
    slice_case(__LINE__, b, e, s, 2, attr, 2, od, w, 4, QIE_OK);
  }
  {
    /* backwards: rows 2,1,0 (end_mask on dim 0 -> -1), columns 3,1 */
    const int32_t b[2] = {2, 3}, e[2] = {0, 0}, s[2] = {-1, -2}, attr[6] = {0, 1, 0, 0, 0, 0};
    const int32_t od[2] = {3, 2}, w[6] = {11, 9, 7, 5, 3, 1};
    slice_case(__LINE__, b, e, s, 2, attr, 2, od, w, 6, QIE_OK);
  }
  {
    /* negative indices clamp: begin -10 -> 0, end -1 -> 3 on columns */
    const int32_t b[2] = {0, -10}, e[2] = {1, -1}, s[2] = {1, 1}, attr[6] = {0};
    const int32_t od[2] = {1, 3}, w[3] = {0, 1, 2};
    slice_case(__LINE__, b, e, s, 2, attr, 2, od, w, 3, QIE_OK);
  }
  {
    /* shrink dim 0 at row -2 = 1 -> [4] */
    const int32_t b[2] = {-2, 0}, e[2] = {0, 4}, s[2] = {1, 1}, attr[6] = {0, 0, 0, 0, 1, 0};
    const int32_t od[1] = {4}, w[4] = {4, 5, 6, 7};
    slice_case(__LINE__, b, e, s, 2, attr, 1, od, w, 4, QIE_OK);
  }
  {
    /* offset: end is begin + size -> rows 1..2, cols 1..2 */
    const int32_t b[2] = {1, 1}, e[2] = {2, 2}, s[2] = {1, 1}, attr[6] = {0, 0, 0, 0, 0, 1};
    const int32_t od[2] = {2, 2}, w[4] = {5, 6, 9, 10};
    slice_case(__LINE__, b, e, s, 2, attr, 2, od, w, 4, QIE_OK);
  }
  {
    /* x[..., 1]: ellipsis then a shrunk column -> [3] */
    const int32_t b[2] = {0, 1}, e[2] = {0, 2}, s[2] = {1, 1}, attr[6] = {0, 0, 1, 0, 2, 0};
    const int32_t od[1] = {3}, w[3] = {1, 5, 9};
    slice_case(__LINE__, b, e, s, 2, attr, 1, od, w, 3, QIE_OK);
  }
  {
    /* x[None, 0:2]: a new leading axis, rows 0..1, all columns (implicit) -> [1,2,4] */
    const int32_t b[2] = {0, 0}, e[2] = {0, 2}, s[2] = {1, 1}, attr[6] = {0, 0, 0, 1, 0, 0};
    const int32_t od[3] = {1, 2, 4}, w[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    slice_case(__LINE__, b, e, s, 2, attr, 3, od, w, 8, QIE_OK);
  }
  {
    /* empty slice: begin past end */
    const int32_t b[2] = {2, 0}, e[2] = {1, 4}, s[2] = {1, 1}, attr[6] = {0};
    const int32_t od[2] = {0, 4};
    slice_case(__LINE__, b, e, s, 2, attr, 2, od, NULL, 0, QIE_OK);
  }
  {
    /* rejects: wrong output shape, zero stride, shrink out of range */
    const int32_t b[2] = {1, 0}, e[2] = {3, 4}, s[2] = {1, 2}, attr[6] = {0};
    const int32_t od[2] = {2, 3};
    slice_case(__LINE__, b, e, s, 2, attr, 2, od, NULL, 0, QIE_ERR_INVALID_PLAN);
    const int32_t s0[2] = {1, 0}, od2[2] = {2, 2};
    slice_case(__LINE__, b, e, s0, 2, attr, 2, od2, NULL, 0, QIE_ERR_INVALID_PLAN);
    const int32_t b3[2] = {3, 0}, shrink[6] = {0, 0, 0, 0, 1, 0}, od3[1] = {2};
    slice_case(__LINE__, b3, e, s, 2, shrink, 1, od3, NULL, 0, QIE_ERR_INVALID_PLAN);
  }
}

static void test_resize(void) {
  /* source index per output index, TFLite's float arithmetic:
   * plain 2 -> 4: floor(x * 0.5) = 0 0 1 1
   * align_corners 2 -> 3: scale 1/2, round(x * 0.5) = 0, round(0.5) = 1, 1
   * half_pixel 2 -> 3: scale 2/3, floor((x + 0.5) * 0.6667) = 0, 1, 1
   * half_pixel 3 -> 2: scale 1.5, floor(0.75) = 0, floor(2.25) = 2
   * align_corners + half_pixel 3 -> 2: scale 2, round(1) = 1, round(3) -> min(3, 2) = 2 */
  const int32_t plain[4] = {0, 0, 1, 1};
  for (int x = 0; x < 4; ++x) CHECK_EQ_INT(qie_resize_nn_source(x, 2, 4, 0, 0), plain[x]);
  CHECK_EQ_INT(qie_resize_nn_source(1, 2, 3, 1, 0), 1);
  CHECK_EQ_INT(qie_resize_nn_source(2, 2, 3, 1, 0), 1);
  CHECK_EQ_INT(qie_resize_nn_source(0, 2, 3, 0, 1), 0);
  CHECK_EQ_INT(qie_resize_nn_source(1, 2, 3, 0, 1), 1);
  CHECK_EQ_INT(qie_resize_nn_source(2, 2, 3, 0, 1), 1);
  CHECK_EQ_INT(qie_resize_nn_source(0, 3, 2, 0, 1), 0);
  CHECK_EQ_INT(qie_resize_nn_source(1, 3, 2, 0, 1), 2);
  CHECK_EQ_INT(qie_resize_nn_source(0, 3, 2, 1, 1), 1);
  CHECK_EQ_INT(qie_resize_nn_source(1, 3, 2, 1, 1), 2);

  /* op: [1,2,2,2] -> [1,4,4,2] doubles every pixel */
  int8_t in[8] = {1, -1, 2, -2, 3, -3, 4, -4}, out[32];
  int32_t size[2] = {4, 4};
  const int32_t di[4] = {1, 2, 2, 2}, ds[1] = {2}, dout[4] = {1, 4, 4, 2};
  qie_tensor ts[3] = {mk(QIE_DT_INT8, 4, di, in), mkc(QIE_DT_INT32, 1, ds, size),
                      mk(QIE_DT_INT8, 4, dout, out)};
  int32_t attr[2] = {0, 0};
  CHECK_EQ_INT(run(&qie_op_resize_nearest_neighbor, ts, 2, attr, 2, 1), QIE_OK);
  CHECK_EQ_INT(out[0], 1);
  CHECK_EQ_INT(out[3], -1);  /* (0,1) <- (0,0) */
  CHECK_EQ_INT(out[4], 2);   /* (0,2) <- (0,1) */
  CHECK_EQ_INT(out[31], -4); /* (3,3) <- (1,1) */
  CHECK_EQ_INT(out[16], 3);  /* (2,0) <- (1,0) */
  size[1] = 5; /* output no longer matches size */
  CHECK_EQ_INT(run(&qie_op_resize_nearest_neighbor, ts, 2, attr, 2, 0), QIE_ERR_INVALID_PLAN);
}

int main(void) {
  test_reshape();
  test_pad();
  test_transpose();
  test_concat_pack();
  test_shape();
  test_strided_slice();
  test_resize();
  return CHECK_DONE("test_shape_ops");
}
