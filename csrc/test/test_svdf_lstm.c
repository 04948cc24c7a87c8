/* SVDF and LSTM: kernels on hand-worked cases, then the ops' prepare/eval on
 * hand-built contexts (including plans they must refuse). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/sequence.h"
#include "../runtime/runtime.h"
#include "check.h"

#define NEAR(a, b, tol) CHECK(fabs((double)(a) - (double)(b)) <= (tol))

/* ---------------- SVDF kernels ---------------- */

/* 1 filter, rank 1, memory 3, input 2. wf = [1, 2], wt = [0.5, 0.25, 1], bias 0.5.
 * Each step the state shifts left and the newest column gets wf.x:
 *   x=[1,1]  -> feature 3,  state [0,0,3],  out = 3 + 0.5            = 3.5
 *   x=[2,0]  -> feature 2,  state [0,3,2],  out = .75 + 2 + .5        = 3.25
 *   x=[0,-1] -> feature -2, state [3,2,-2], out = 1.5 + .5 - 2 + .5   = 0.5 */
static void test_svdf_float_shift(void) {
  const float wf[2] = {1, 2}, wt[3] = {0.5f, 0.25f, 1.0f}, bias[1] = {0.5f};
  const float xs[3][2] = {{1, 1}, {2, 0}, {0, -1}};
  const float want[3] = {3.5f, 3.25f, 0.5f};
  const float want_state[3][3] = {{0, 0, 3}, {0, 3, 2}, {3, 2, -2}};
  float state[3] = {0}, scratch[1], out[1];
  qie_svdf_f_params p = {1, 2, 1, 3, 1, 0};
  for (int t = 0; t < 3; ++t) {
    qie_svdf_f32_ref(&p, xs[t], wf, wt, bias, state, scratch, out);
    NEAR(out[0], want[t], 0);
    for (int m = 0; m < 3; ++m) NEAR(state[m], want_state[t][m], 0);
  }
  /* RELU on a negative sum: new feature -2*... with no bias: x=[0,-3] -> -6,
   * state [2,-2,-6], sum = 1 - .5 - 6 < 0 -> 0 */
  p.activation = 1;
  const float x4[2] = {0, -3};
  qie_svdf_f32_ref(&p, x4, wf, wt, NULL, state, scratch, out);
  NEAR(out[0], 0.0f, 0);
}

/* rank 2, 2 units (4 filters), memory 2, batch 2: the rank reduction sums
 * filter pairs and batches keep separate state rows. wf rows pick one input. */
static void test_svdf_float_rank2(void) {
  const float wf[4 * 2] = {1, 0, 0, 1, 1, 1, 1, -1};
  const float wt[4 * 2] = {1, 1, 1, 1, 0, 2, 0, 3};
  float state[2 * 4 * 2] = {0}, scratch[8], out[4];
  const float x[4] = {1, 2, /* batch 1 */ 3, 4};
  qie_svdf_f_params p = {2, 2, 4, 2, 2, 0};
  qie_svdf_f32_ref(&p, x, wf, wt, NULL, state, scratch, out);
  /* batch 0 features: 1, 2, 3, -1 -> unit0 = 1+2 = 3, unit1 = 2*3 + 3*-1 = 3
   * batch 1 features: 3, 4, 7, -1 -> unit0 = 7, unit1 = 14 - 3 = 11 */
  NEAR(out[0], 3, 0);
  NEAR(out[1], 3, 0);
  NEAR(out[2], 7, 0);
  NEAR(out[3], 11, 0);
}

/* int8: input scale .5 zp 1, wf scale .5, state scale .25 zp 0 -> scale1 = 1
 * (state = dot); wt scale .5, output scale .125 zp -1 -> scale2 = 1; bias scale
 * .125, bias 10. wf = [1,2], wt = [1,2,3].
 *   x=[3,2]  -> x-zp [2,1]  -> 4,  state [0,0,4],  3*4 = 12 + 10 - 1      = 21
 *   x=[1,5]  -> [0,4]       -> 8,  state [0,4,8],  8 + 24 + 10 - 1        = 41
 *   x=[-1,1] -> [-2,0]      -> -2, state [4,8,-2], 4 + 16 - 6 + 10 - 1    = 23 */
static void test_svdf_int8_shift(void) {
  const int8_t wf[2] = {1, 2};
  const int16_t wt[3] = {1, 2, 3};
  const int32_t bias[1] = {10};
  const int8_t xs[3][2] = {{3, 2}, {1, 5}, {-1, 1}};
  const int8_t want[3] = {21, 41, 23};
  const int16_t want_state[3][3] = {{0, 0, 4}, {0, 4, 8}, {4, 8, -2}};
  int16_t state[3] = {0};
  int32_t scratch[1], scratch_out[1];
  int8_t out[1];
  qie_svdf_q_params p = {1, 2, 1, 3, 1, 1, 0, -1, 1 << 30, 1, 1 << 30, 1};
  for (int t = 0; t < 3; ++t) {
    qie_svdf_s8_s16_ref(&p, xs[t], wf, wt, bias, state, scratch, scratch_out, out);
    CHECK_EQ_INT(out[0], want[t]);
    for (int m = 0; m < 3; ++m) CHECK_EQ_INT(state[m], want_state[t][m]);
  }
}

/* Saturation: input scale 1 zp -128, wf scale 1, state scale .25 -> scale1 = 4
 * (multiplier 2^30, shift 3). State zp 100, output zp 5, scale2 = .25*1/.25 = 1.
 * step 1: x = [127,127] -> [255,255] . [127,127] = 64770, *4 + 100 -> clamps to
 *   32767 (zero point added before the clamp); wt [0,0,1]: 32767-100 + 5 -> 127
 * step 2: x = [-128,-128] -> 0 + 100; state [0,32767,100];
 *   wt [0,-1,0]: -(32767-100) + 5 -> -128 */
static void test_svdf_int8_saturation(void) {
  const int8_t wf[2] = {127, 127};
  const int16_t wt[3] = {0, 0, 1}, wt2[3] = {0, -1, 0};
  int16_t state[3] = {0};
  int32_t scratch[1], scratch_out[1];
  int8_t out[1];
  qie_svdf_q_params p = {1, 2, 1, 3, 1, -128, 100, 5, 1 << 30, 3, 1 << 30, 1};
  const int8_t x1[2] = {127, 127}, x2[2] = {-128, -128};
  qie_svdf_s8_s16_ref(&p, x1, wf, wt, NULL, state, scratch, scratch_out, out);
  CHECK_EQ_INT(state[2], 32767);
  CHECK_EQ_INT(out[0], 127);
  qie_svdf_s8_s16_ref(&p, x2, wf, wt2, NULL, state, scratch, scratch_out, out);
  CHECK_EQ_INT(state[1], 32767);
  CHECK_EQ_INT(state[2], 100);
  CHECK_EQ_INT(out[0], -128);
}

/* ---------------- LSTM kernels ---------------- */

static void test_lstm_activations(void) {
  /* LUT points: 0 -> 1/2; Q3.12 1.0 (4096): 3*4096 = 12288 = entry 24 exactly,
   * (47911 << 9 + 512) >> 10 = 23956; negative mirror (2^25 - r + 511) >> 10 = 8812 */
  CHECK_EQ_INT(qie_lstm_sigmoid_s16(0), 16384);
  CHECK_EQ_INT(qie_lstm_sigmoid_s16(4096), 23956);
  CHECK_EQ_INT(qie_lstm_sigmoid_s16(-4096), 8812);
  /* far out the curve flattens toward 1 and 0 and stays within int16 */
  CHECK(qie_lstm_sigmoid_s16(32767) > 32700 && qie_lstm_sigmoid_s16(32767) <= 32767);
  CHECK(qie_lstm_sigmoid_s16(-32768) >= 0 && qie_lstm_sigmoid_s16(-32768) < 20);
  /* tanh: entry 48 = 57724: (57724 << 8) - 2^23 + 128 >> 8 = 24956; odd symmetric */
  CHECK_EQ_INT(qie_lstm_tanh_s16(0, 3, 0), 0);
  CHECK_EQ_INT(qie_lstm_tanh_s16(4096, 3, 0), 24956);
  CHECK_EQ_INT(qie_lstm_tanh_s16(-4096, 3, 0), -24956);
  /* past the table: saturates to +-32767 */
  CHECK_EQ_INT(qie_lstm_tanh_s16(32767, 3, 0), 32767);
  CHECK_EQ_INT(qie_lstm_tanh_s16(-32768, 3, 0), -32767);
  /* shifted input: (2*3 + 2) >> 2 = 2 -> tiny positive */
  CHECK(qie_lstm_tanh_s16(2, 3, 2) >= 0);
  NEAR(qie_lstm_sigmoid_f32(20.0f), 1.0f, 0);
  NEAR(qie_lstm_sigmoid_f32(-10.0f), expf(-10.0f), 0);
  NEAR(qie_lstm_sigmoid_f32(0.0f), 0.5f, 0);
}

static double sigm(double v) { return 1.0 / (1.0 + exp(-v)); }

/* One unit, one input, two steps, by hand:
 * step 1 (h = c = 0), x = 1, w_in = {i .5, f -.5, c 1, o 2}, biases {0, 1, 0, -1}:
 *   i = s(.5) = .6225, f = s(.5) = .6225, g = tanh(1) = .7616, o = s(1) = .7311
 *   c = i*g = .4741, h = tanh(.4741) * .7311 = .3227
 * step 2, x = -1, w_rec = {1, 1, 1, 1}: pre = -w_in + b + h, same formulas. */
static void test_lstm_float_step(void) {
  const float wi[4] = {0.5f, -0.5f, 1.0f, 2.0f}, wr[4] = {1, 1, 1, 1}, b[4] = {0, 1, 0, -1};
  qie_lstm_f32_weights w;
  for (int g = 0; g < 4; ++g) {
    w.w_in[g] = &wi[g];
    w.w_rec[g] = &wr[g];
    w.bias[g] = &b[g];
  }
  qie_lstm_f32_params p = {1, 2, 1, 1, 0, 4, 0.0f};
  const float x[2] = {1, -1};
  float h = 0, c = 0, out[2], scratch[4];
  qie_lstm_f32_ref(&p, &w, x, &h, &c, out, scratch);
  double hh = 0, cc = 0;
  for (int t = 0; t < 2; ++t) {
    const double xi = x[t];
    const double i = sigm(0.5 * xi + 0 + hh), f = sigm(-0.5 * xi + 1 + hh);
    const double g = tanh(1.0 * xi + 0 + hh), o = sigm(2.0 * xi - 1 + hh);
    cc = f * cc + i * g;
    hh = tanh(cc) * o;
    NEAR(out[t], hh, 1e-6);
  }
  NEAR(out[0], 0.3227, 1e-4);
  NEAR(c, cc, 1e-6);
  NEAR(h, hh, 1e-6);

  /* cell clip 0.3: the first step's cell (.4741) is clipped */
  float h2 = 0, c2 = 0;
  p.cell_clip = 0.3f;
  p.time_steps = 1;
  qie_lstm_f32_ref(&p, &w, x, &h2, &c2, out, scratch);
  NEAR(c2, 0.3f, 0);
  NEAR(out[0], tanh(0.3) * sigm(1.0), 1e-6);
}

/* Two sequences of three steps: batch-major and time-major layouts of the same
 * data give the same outputs and states, bit for bit. */
static void test_lstm_float_layouts(void) {
  const float wi[4 * 2 * 3] = {.1f, -.2f, .3f, .4f, .5f, -.6f, .7f, .8f, -.9f, .2f, .1f, 0,
                               -.3f, .2f, .5f, .1f, -.1f, .4f, .6f, -.2f, .3f, -.5f, .2f, .1f};
  const float wr[4 * 2 * 2] = {.2f, -.1f, .3f, .1f, -.2f, .4f, .1f, .1f,
                               .5f, -.3f, .2f, .2f, -.1f, .1f, .3f, -.4f};
  const float bias[4 * 2] = {.1f, 0, 1, 1, 0, -.1f, .2f, .3f};
  qie_lstm_f32_weights w;
  for (int g = 0; g < 4; ++g) {
    w.w_in[g] = wi + g * 6;
    w.w_rec[g] = wr + g * 4;
    w.bias[g] = bias + g * 2;
  }
  float xb[2 * 3 * 3], xt[3 * 2 * 3];
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 3; ++t)
      for (int i = 0; i < 3; ++i) {
        const float v = (float)((b * 7 + t * 3 + i) % 5) * 0.37f - 0.7f;
        xb[(b * 3 + t) * 3 + i] = v;
        xt[(t * 2 + b) * 3 + i] = v;
      }
  float hb[4] = {0}, cb[4] = {0}, ht[4] = {0}, ct[4] = {0}, ob[12], ot[12], scratch[16];
  qie_lstm_f32_params pb = {2, 3, 3, 2, 0, 4, 0.0f}, pt = {2, 3, 3, 2, 1, 4, 0.0f};
  qie_lstm_f32_ref(&pb, &w, xb, hb, cb, ob, scratch);
  qie_lstm_f32_ref(&pt, &w, xt, ht, ct, ot, scratch);
  int same = 1;
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 3; ++t)
      for (int s = 0; s < 2; ++s)
        if (memcmp(&ob[(b * 3 + t) * 2 + s], &ot[(t * 2 + b) * 2 + s], sizeof(float))) same = 0;
  CHECK(same);
  CHECK(memcmp(hb, ht, sizeof hb) == 0);
  CHECK(memcmp(cb, ct, sizeof cb) == 0);
}

/* int8 step by hand. x scale 2^-6, weights 2^-6 -> input FC scale 2^-12/2^-12 = 1;
 * hidden scale 2^-7 -> recurrent FC scale 1/2; cell scale 2^-11.
 * step 1: x = 64, all w_in 64: pre = 4096 (1.0) for every gate
 *   i = f = o = 23956, g = 24956; c = 0 + (23956*24956 * 2^-30 / 2^-11) = 1140
 *   tanh(c): (15 - 11 - 3) = 1 -> input * 6 = 6840: entry 26 frac 184 -> 16563
 *   h = 16563 * 23956 * 2^-30 / 2^-7 = 47
 * step 2: recurrent 47*64 * 1/2 = 1504 -> pre 5600; i = f = o = 26114, g = 28772
 *   c = 909 + 1433 = 2342, tanh -> 26726, h = 83 */
static void test_lstm_int8_step(void) {
  const int8_t wi[4] = {64, 64, 64, 64}, wr[4] = {64, 64, 64, 64};
  const int32_t b[4] = {0, 0, 0, 0};
  qie_lstm_q_weights w;
  for (int g = 0; g < 4; ++g) {
    w.w_in[g] = &wi[g];
    w.w_rec[g] = &wr[g];
    w.bias[g] = &b[g];
  }
  qie_lstm_q_params p;
  memset(&p, 0, sizeof p);
  p.batch = 1;
  p.time_steps = 2;
  p.input_size = 1;
  p.state_size = 1;
  p.cell_activation = 4;
  for (int g = 0; g < 4; ++g) {
    p.in_mult[g] = 1 << 30, p.in_shift[g] = 1;
    p.rec_mult[g] = 1 << 30, p.rec_shift[g] = 0;
  }
  p.fc_mult = p.ic_mult = p.h_mult = 1 << 30;
  p.fc_shift = -14, p.ic_shift = -18, p.h_shift = -22;
  p.cell_scale_power = -11;
  const int8_t x[2] = {64, 64};
  int8_t h = 0, out[2];
  int16_t c = 0, scratch[4];
  qie_lstm_s8_s16_ref(&p, &w, x, &h, &c, out, scratch);
  CHECK_EQ_INT(out[0], 47);
  CHECK_EQ_INT(out[1], 83);
  CHECK_EQ_INT(c, 2342);
  CHECK_EQ_INT(h, 83);
  /* cell clip at 1000 (quantized) caps the second step's cell */
  h = 0, c = 0;
  p.has_cell_clip = 1;
  p.cell_clip_q = 1000;
  qie_lstm_s8_s16_ref(&p, &w, x, &h, &c, out, scratch);
  CHECK_EQ_INT(c, 1000);
}

/* ---------------- ops: prepare / eval ---------------- */

typedef struct {
  qie_tensor t[32];
  int n;
  char err[QIE_ERR_LEN];
  qie_ctx ctx;
} fixture;

static float g_scales[32];
static int32_t g_zps[32];

static int add_tensor(fixture* f, qie_dtype dt, int rank, const int32_t* dims, void* data, uint32_t flags) {
  qie_tensor* t = &f->t[f->n];
  memset(t, 0, sizeof *t);
  t->dtype = dt;
  t->rank = rank;
  t->elems = 1;
  for (int i = 0; i < rank; ++i) {
    t->dims[i] = dims[i];
    t->elems *= (size_t)dims[i];
  }
  t->bytes = t->elems * qie_dtype_size(dt);
  t->flags = flags;
  t->q_axis = -1;
  t->data = data;
  t->name = "t";
  return f->n++;
}

static void quantize(fixture* f, int i, float scale, int32_t zp) {
  g_scales[i] = scale;
  g_zps[i] = zp;
  f->t[i].q_count = 1;
  f->t[i].scales = &g_scales[i];
  f->t[i].zero_points = &g_zps[i];
}

static void init_ctx(fixture* f) {
  memset(&f->ctx, 0, sizeof f->ctx);
  f->ctx.tensors = f->t;
  f->ctx.n_tensors = f->n;
  f->ctx.err = f->err;
  f->err[0] = 0;
}

static void free_ctx(fixture* f) {
  for (int i = 0; i < f->ctx.n_persist; ++i) qie_free(f->ctx.persist[i]);
  qie_free(f->ctx.persist);
  f->ctx.persist = NULL;
  f->ctx.n_persist = f->ctx.cap_persist = 0;
}

extern const qie_op_impl qie_op_svdf;
extern const qie_op_impl qie_op_unidirectional_sequence_lstm;

static qie_status run_prepare(const qie_op_impl* impl, fixture* f, qie_op* op) {
  init_ctx(f);
  op->impl = impl;
  op->data = NULL;
  op->scratch_bytes = 0;
  op->kernel = NULL;
  return impl->prepare(&f->ctx, op);
}

/* int8 SVDF through the op, same numbers as test_svdf_int8_shift. */
static void test_svdf_op(void) {
  static int8_t x[2], wf[2] = {1, 2}, out[1];
  static int16_t wt[3] = {1, 2, 3}, state[3];
  static int32_t bias[1] = {10};
  fixture f;
  f.n = 0;
  const int32_t dx[2] = {1, 2}, dwf[2] = {1, 2}, dwt[2] = {1, 3}, db[1] = {1}, ds[2] = {1, 3},
                dout[2] = {1, 1};
  int ix = add_tensor(&f, QIE_DT_INT8, 2, dx, x, 0);
  int iwf = add_tensor(&f, QIE_DT_INT8, 2, dwf, wf, QIE_TF_CONST);
  int iwt = add_tensor(&f, QIE_DT_INT16, 2, dwt, wt, QIE_TF_CONST);
  int ib = add_tensor(&f, QIE_DT_INT32, 1, db, bias, QIE_TF_CONST);
  int is = add_tensor(&f, QIE_DT_INT16, 2, ds, state, QIE_TF_VARIABLE);
  int io = add_tensor(&f, QIE_DT_INT8, 2, dout, out, 0);
  quantize(&f, ix, 0.5f, 1);
  quantize(&f, iwf, 0.5f, 0);
  quantize(&f, iwt, 0.5f, 0);
  quantize(&f, ib, 0.125f, 0);
  quantize(&f, is, 0.25f, 0);
  quantize(&f, io, 0.125f, -1);
  int32_t in[5] = {ix, iwf, iwt, ib, is}, outs[1] = {io};
  qie_op op;
  memset(&op, 0, sizeof op);
  op.code = QIE_OP_SVDF;
  op.n_in = 5;
  op.n_out = 1;
  op.in = in;
  op.out = outs;
  op.iattr[QIE_SVDF_RANK] = 1;
  CHECK_EQ_INT(run_prepare(&qie_op_svdf, &f, &op), QIE_OK);
  CHECK(op.kernel != NULL);
  void* scratch = malloc(op.scratch_bytes ? op.scratch_bytes : 1);
  op.scratch = scratch;
  const int8_t xs[3][2] = {{3, 2}, {1, 5}, {-1, 1}};
  const int8_t want[3] = {21, 41, 23};
  for (int t = 0; t < 3; ++t) {
    memcpy(x, xs[t], 2);
    CHECK_EQ_INT(qie_op_svdf.eval(&f.ctx, &op), QIE_OK);
    CHECK_EQ_INT(out[0], want[t]);
  }
  free(scratch);
  free_ctx(&f);

  /* refusals */
  f.t[iwt].dims[1] = 2; /* weights_time memory disagrees with the state */
  CHECK_EQ_INT(run_prepare(&qie_op_svdf, &f, &op), QIE_ERR_INVALID_PLAN);
  CHECK(strstr(f.err, "SVDF") != NULL);
  free_ctx(&f);
  f.t[iwt].dims[1] = 3;
  f.t[is].flags = 0; /* state not a variable */
  CHECK_EQ_INT(run_prepare(&qie_op_svdf, &f, &op), QIE_ERR_INVALID_PLAN);
  free_ctx(&f);
  f.t[is].flags = QIE_TF_VARIABLE;
  op.iattr[QIE_SVDF_RANK] = 0;
  CHECK_EQ_INT(run_prepare(&qie_op_svdf, &f, &op), QIE_ERR_INVALID_PLAN);
  free_ctx(&f);
  op.iattr[QIE_SVDF_RANK] = 1;
  f.t[io].dims[1] = 2; /* output units */
  CHECK_EQ_INT(run_prepare(&qie_op_svdf, &f, &op), QIE_ERR_INVALID_PLAN);
  free_ctx(&f);
  f.t[io].dims[1] = 1;
  f.t[iwt].dtype = QIE_DT_INT8; /* int8 time weights: not run */
  CHECK_EQ_INT(run_prepare(&qie_op_svdf, &f, &op), QIE_ERR_UNSUPPORTED);
  free_ctx(&f);
  f.t[iwt].dtype = QIE_DT_INT16;
  g_scales[is] = 0.0f; /* zero state scale */
  CHECK_EQ_INT(run_prepare(&qie_op_svdf, &f, &op), QIE_ERR_INVALID_PLAN);
  free_ctx(&f);
  g_scales[is] = 0.25f;
  g_scales[ib] = 0.5f; /* bias scale != state * weights_time */
  CHECK_EQ_INT(run_prepare(&qie_op_svdf, &f, &op), QIE_ERR_INVALID_PLAN);
  free_ctx(&f);
  g_scales[ib] = 0.125f;
  op.n_in = 4;
  CHECK(run_prepare(&qie_op_svdf, &f, &op) != QIE_OK);
  free_ctx(&f);
  op.n_in = 5;
  CHECK_EQ_INT(run_prepare(&qie_op_svdf, &f, &op), QIE_OK);
  free_ctx(&f);
}

/* Float LSTM through the op (single unit, the two steps of test_lstm_float_step),
 * then the variants it refuses. */
static void test_lstm_op(void) {
  static float x[2] = {1, -1}, wi[4] = {0.5f, -0.5f, 1.0f, 2.0f}, wr[4] = {1, 1, 1, 1},
               b[4] = {0, 1, 0, -1}, h[1], c[1], out[2], peep[1];
  fixture f;
  f.n = 0;
  const int32_t dx[3] = {1, 2, 1}, dw[2] = {1, 1}, db[1] = {1}, ds[2] = {1, 1}, dout[3] = {1, 2, 1};
  int32_t in[24];
  for (int i = 0; i < 24; ++i) in[i] = -1;
  in[0] = add_tensor(&f, QIE_DT_FLOAT32, 3, dx, x, 0);
  for (int g = 0; g < 4; ++g) {
    in[1 + g] = add_tensor(&f, QIE_DT_FLOAT32, 2, dw, &wi[g], QIE_TF_CONST);
    in[5 + g] = add_tensor(&f, QIE_DT_FLOAT32, 2, dw, &wr[g], QIE_TF_CONST);
    in[12 + g] = add_tensor(&f, QIE_DT_FLOAT32, 1, db, &b[g], QIE_TF_CONST);
  }
  in[18] = add_tensor(&f, QIE_DT_FLOAT32, 2, ds, h, QIE_TF_VARIABLE);
  in[19] = add_tensor(&f, QIE_DT_FLOAT32, 2, ds, c, QIE_TF_VARIABLE);
  const int ipeep = add_tensor(&f, QIE_DT_FLOAT32, 1, db, peep, QIE_TF_CONST);
  int32_t outs[1] = {add_tensor(&f, QIE_DT_FLOAT32, 3, dout, out, 0)};
  qie_op op;
  memset(&op, 0, sizeof op);
  op.code = QIE_OP_UNIDIRECTIONAL_SEQUENCE_LSTM;
  op.n_in = 24;
  op.n_out = 1;
  op.in = in;
  op.out = outs;
  op.iattr[QIE_LSTM_ACTIVATION] = 4;
  const qie_op_impl* impl = &qie_op_unidirectional_sequence_lstm;
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_OK);
  void* scratch = malloc(op.scratch_bytes ? op.scratch_bytes : 1);
  op.scratch = scratch;
  CHECK_EQ_INT(impl->eval(&f.ctx, &op), QIE_OK);
  NEAR(out[0], 0.3227, 1e-4);
  /* a second run continues from the saved state */
  const float first_h = h[0];
  CHECK_EQ_INT(impl->eval(&f.ctx, &op), QIE_OK);
  CHECK(h[0] != first_h);
  free(scratch);
  free_ctx(&f);

  in[10] = ipeep; /* peephole */
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_ERR_UNSUPPORTED);
  CHECK(strstr(f.err, "peephole") != NULL);
  free_ctx(&f);
  in[10] = -1;
  const int32_t w_i = in[1];
  in[1] = -1; /* CIFG */
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_ERR_UNSUPPORTED);
  CHECK(strstr(f.err, "CIFG") != NULL);
  free_ctx(&f);
  in[1] = w_i;
  in[16] = ipeep; /* projection */
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_ERR_UNSUPPORTED);
  free_ctx(&f);
  in[16] = -1;
  in[21] = ipeep; /* layer norm */
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_ERR_UNSUPPORTED);
  CHECK(strstr(f.err, "layer norm") != NULL);
  free_ctx(&f);
  in[21] = -1;
  f.t[outs[0]].dims[2] = 2; /* output width */
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_ERR_INVALID_PLAN);
  free_ctx(&f);
  f.t[outs[0]].dims[2] = 1;
  f.t[in[6]].dims[1] = 2; /* recurrent weights shape */
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_ERR_INVALID_PLAN);
  free_ctx(&f);
  f.t[in[6]].dims[1] = 1;
  f.t[in[13]].dtype = QIE_DT_INT32; /* bias dtype */
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_ERR_UNSUPPORTED);
  free_ctx(&f);
  f.t[in[13]].dtype = QIE_DT_FLOAT32;
  f.t[in[19]].flags = QIE_TF_CONST; /* cell state not variable */
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_ERR_INVALID_PLAN);
  free_ctx(&f);
  f.t[in[19]].flags = QIE_TF_VARIABLE;
  op.iattr[QIE_LSTM_ACTIVATION] = 1;
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_ERR_UNSUPPORTED);
  free_ctx(&f);
  op.iattr[QIE_LSTM_ACTIVATION] = 4;
  op.fattr[QIE_LSTM_FATTR_CELL_CLIP] = -1.0f;
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_ERR_INVALID_PLAN);
  free_ctx(&f);
  op.fattr[QIE_LSTM_FATTR_CELL_CLIP] = 0.0f;
  op.n_in = 20;
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_ERR_INVALID_PLAN);
  free_ctx(&f);
  op.n_in = 24;
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_OK);
  free_ctx(&f);
}

/* int8 LSTM through the op: the scales of test_lstm_int8_step must give the same
 * multipliers and the same two outputs. */
static void test_lstm_int8_op(void) {
  static int8_t x[2] = {64, 64}, wi[4] = {64, 64, 64, 64}, wr[4] = {64, 64, 64, 64}, h[1], out[2];
  static int32_t b[4];
  static int16_t c[1];
  fixture f;
  f.n = 0;
  const int32_t dx[3] = {1, 2, 1}, dw[2] = {1, 1}, db[1] = {1}, ds[2] = {1, 1}, dout[3] = {1, 2, 1};
  int32_t in[24];
  for (int i = 0; i < 24; ++i) in[i] = -1;
  in[0] = add_tensor(&f, QIE_DT_INT8, 3, dx, x, 0);
  quantize(&f, in[0], 1.0f / 64, 0);
  for (int g = 0; g < 4; ++g) {
    in[1 + g] = add_tensor(&f, QIE_DT_INT8, 2, dw, &wi[g], QIE_TF_CONST);
    in[5 + g] = add_tensor(&f, QIE_DT_INT8, 2, dw, &wr[g], QIE_TF_CONST);
    in[12 + g] = add_tensor(&f, QIE_DT_INT32, 1, db, &b[g], QIE_TF_CONST);
    quantize(&f, in[1 + g], 1.0f / 64, 0);
    quantize(&f, in[5 + g], 1.0f / 64, 0);
  }
  in[18] = add_tensor(&f, QIE_DT_INT8, 2, ds, h, QIE_TF_VARIABLE);
  quantize(&f, in[18], 1.0f / 128, 0);
  in[19] = add_tensor(&f, QIE_DT_INT16, 2, ds, c, QIE_TF_VARIABLE);
  quantize(&f, in[19], 1.0f / 2048, 0);
  int32_t outs[1] = {add_tensor(&f, QIE_DT_INT8, 3, dout, out, 0)};
  quantize(&f, outs[0], 1.0f / 128, 0);
  qie_op op;
  memset(&op, 0, sizeof op);
  op.code = QIE_OP_UNIDIRECTIONAL_SEQUENCE_LSTM;
  op.n_in = 24;
  op.n_out = 1;
  op.in = in;
  op.out = outs;
  op.iattr[QIE_LSTM_ACTIVATION] = 4;
  const qie_op_impl* impl = &qie_op_unidirectional_sequence_lstm;
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_OK);
  void* scratch = malloc(op.scratch_bytes ? op.scratch_bytes : 1);
  op.scratch = scratch;
  CHECK_EQ_INT(impl->eval(&f.ctx, &op), QIE_OK);
  CHECK_EQ_INT(out[0], 47);
  CHECK_EQ_INT(out[1], 83);
  CHECK_EQ_INT(c[0], 2342);
  free(scratch);
  free_ctx(&f);
  g_scales[in[19]] = 0.001f; /* cell scale not a power of two */
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_ERR_INVALID_PLAN);
  free_ctx(&f);
  g_scales[in[19]] = 1.0f / 2048;
  f.t[in[19]].dtype = QIE_DT_INT8; /* int8 cell */
  CHECK_EQ_INT(run_prepare(impl, &f, &op), QIE_ERR_UNSUPPORTED);
  free_ctx(&f);
}

int main(void) {
  test_svdf_float_shift();
  test_svdf_float_rank2();
  test_svdf_int8_shift();
  test_svdf_int8_saturation();
  test_lstm_activations();
  test_lstm_float_step();
  test_lstm_float_layouts();
  test_lstm_int8_step();
  test_svdf_op();
  test_lstm_op();
  test_lstm_int8_op();
  return CHECK_DONE("test_svdf_lstm");
}
