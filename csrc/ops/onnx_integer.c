/* ONNX's integer matmul and conv: MatMulInteger / ConvInteger (int32 results) and
 * QLinearMatMul / QLinearConv (requantized in float32, round half to even), for
 * int8 and uint8 operands whose scales and zero points may be run-time tensors.
 * Models with constant quantization take the int8 CONV_2D / FULLY_CONNECTED path
 * instead; these ops are the general form. */
#include <string.h>

#include "conv_common.h"
#include "onnx_common.h"

static bool byte_et(int et) { return et == QIE_QE_I8 || et == QIE_QE_U8; }

/* A zero point / scale that is per tensor or has `per` entries; sets *many. */
static qie_status check_param(qie_ctx* ctx, const qie_op* op, const qie_tensor* t, const char* role,
                              qie_dtype dtype, size_t per, int* many) {
  if (!t) return QIE_OK;
  qie_status st = qie_check_tensor(ctx, op, t, role, dtype, -1);
  if (st != QIE_OK) return st;
  if (t->elems != 1 && t->elems != per)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %s has %zu entries, expected 1 or %zu",
                    qie_op_label(op), role, t->elems, per);
  if (t->elems != 1) *many = 1;
  return QIE_OK;
}

typedef struct {
  qie_qmatmul_params p;
} qmatmul_data;

/* Inputs by role: QLinearMatMul a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp;
 * MatMulInteger a, b, a_zp?, b_zp?. */
enum { MM_A, MM_AS, MM_AZ, MM_B, MM_BS, MM_BZ, MM_YS, MM_YZ, MM_ROLES };
static const int8_t mm_integer_slot[MM_ROLES] = {0, -1, 2, 1, -1, 3, -1, -1};

static int role_slot(const qie_op* op, int role) {
  return op->code == QIE_OP_QLINEAR_MATMUL ? role : mm_integer_slot[role];
}

static const qie_tensor* mm_in(qie_ctx* ctx, const qie_op* op, int role) {
  const int s = role_slot(op, role);
  return s < 0 ? NULL : qie_in(ctx, op, s);
}

static qie_status prepare_matmul(qie_ctx* ctx, qie_op* op) {
  const bool requant = op->code == QIE_OP_QLINEAR_MATMUL;
  qie_status st = requant ? qie_check_io(ctx, op, 8, 8, 1) : qie_check_io(ctx, op, 2, 4, 1);
  if (st != QIE_OK) return st;
  if (requant) {
    if (!qie_in(ctx, op, 1) || !qie_in(ctx, op, 4) || !qie_in(ctx, op, 6))
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: scales are required", qie_op_label(op));
  }
  const char* l = qie_op_label(op);
  const qie_tensor* a = mm_in(ctx, op, MM_A);
  const qie_tensor* b = mm_in(ctx, op, MM_B);
  const qie_tensor* y = qie_out(ctx, op, 0);
  const int a_et = qie_onnx_et(a->dtype), b_et = qie_onnx_et(b->dtype);
  if (!byte_et(a_et) || !byte_et(b_et))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: operands %s x %s not supported", l,
                    qie_dtype_name(a->dtype), qie_dtype_name(b->dtype));
  if (a->rank < 2 || b->rank < 2)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: operands of rank %d and %d (need >= 2)", l,
                    a->rank, b->rank);
  const int ro = a->rank > b->rank ? a->rank : b->rank;
  const size_t m = (size_t)a->dims[a->rank - 2], k = (size_t)a->dims[a->rank - 1];
  const size_t n = (size_t)b->dims[b->rank - 1];
  if ((size_t)b->dims[b->rank - 2] != k)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: inner dimensions %zu and %d differ", l, k,
                    b->dims[b->rank - 2]);
  if (y->rank != ro || (size_t)y->dims[ro - 2] != m || (size_t)y->dims[ro - 1] != n)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output shape does not match", l);
  /* broadcast batch dims, right-aligned */
  size_t batches = 1;
  int32_t ad[QIE_MAX_RANK], bd[QIE_MAX_RANK];
  for (int i = 0; i < ro - 2; ++i) {
    const int ia = i - (ro - a->rank), ib = i - (ro - b->rank);
    ad[i] = ia >= 0 ? a->dims[ia] : 1;
    bd[i] = ib >= 0 ? b->dims[ib] : 1;
    if (ad[i] != bd[i] && ad[i] != 1 && bd[i] != 1)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: batch dims %d and %d do not broadcast", l, ad[i], bd[i]);
    const int32_t od = ad[i] > bd[i] ? ad[i] : bd[i];
    if (y->dims[i] != od)
      return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output batch dim %d is %d, expected %d", l, i,
                      y->dims[i], od);
    batches *= (size_t)od;
  }
  qmatmul_data* d = qie_persist_alloc(ctx, sizeof *d + 2 * batches * sizeof(size_t));
  if (!d) return QIE_ERR_NO_MEMORY;
  size_t* a_off = (size_t*)(d + 1);
  size_t* b_off = a_off + batches;
  for (size_t bt = 0; bt < batches; ++bt) {
    size_t rem = bt, ai = 0, bi = 0, as = 1, bs = 1;
    for (int i = ro - 3; i >= 0; --i) {
      const size_t od = (size_t)(ad[i] > bd[i] ? ad[i] : bd[i]);
      const size_t c = rem % od;
      rem /= od;
      ai += (ad[i] == 1 ? 0 : c) * as;
      bi += (bd[i] == 1 ? 0 : c) * bs;
      as *= (size_t)ad[i];
      bs *= (size_t)bd[i];
    }
    a_off[bt] = ai * m * k;
    b_off[bt] = bi * k * n;
  }
  qie_qmatmul_params* p = &d->p;
  p->batches = batches;
  p->m = m;
  p->k = k;
  p->n = n;
  p->a_off = a_off;
  p->b_off = b_off;
  p->a_et = a_et;
  p->b_et = b_et;
  p->requant = requant;
  int unused = 0, per_col = 0;
  const qie_tensor* az = mm_in(ctx, op, MM_AZ);
  const qie_tensor* bz = mm_in(ctx, op, MM_BZ);
  if ((st = check_param(ctx, op, az, "a zero point", a->dtype, 1, &unused)) != QIE_OK) return st;
  if ((st = check_param(ctx, op, bz, "b zero point", b->dtype, n, &per_col)) != QIE_OK) return st;
  if (requant) {
    const qie_tensor* yz = mm_in(ctx, op, MM_YZ);
    const int y_et = qie_onnx_et(y->dtype);
    if (!byte_et(y_et))
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: output %s not supported", l, qie_dtype_name(y->dtype));
    if ((st = qie_onnx_check_scale(ctx, op, mm_in(ctx, op, MM_AS), "a scale")) != QIE_OK) return st;
    if ((st = qie_onnx_check_scale(ctx, op, mm_in(ctx, op, MM_BS), "b scale")) != QIE_OK) return st;
    if ((st = qie_onnx_check_scale(ctx, op, mm_in(ctx, op, MM_YS), "y scale")) != QIE_OK) return st;
    if ((st = check_param(ctx, op, mm_in(ctx, op, MM_AS), "a scale", QIE_DT_FLOAT32, 1, &unused)) != QIE_OK) return st;
    if ((st = check_param(ctx, op, mm_in(ctx, op, MM_YS), "y scale", QIE_DT_FLOAT32, 1, &unused)) != QIE_OK) return st;
    if ((st = check_param(ctx, op, yz, "y zero point", y->dtype, 1, &unused)) != QIE_OK) return st;
    if ((st = check_param(ctx, op, mm_in(ctx, op, MM_BS), "b scale", QIE_DT_FLOAT32, n, &p->bs_per_col)) != QIE_OK)
      return st;
    p->out_et = y_et;
    qie_dtype_qrange(y->dtype, &p->qmin, &p->qmax);
    op->kernel = "onnx_qlinear_matmul__ref";
  } else {
    if ((st = qie_check_tensor(ctx, op, y, "output", QIE_DT_INT32, -1)) != QIE_OK) return st;
    p->out_et = QIE_QE_I32;
    op->kernel = "onnx_matmul_integer__ref";
  }
  p->bz_per_col = per_col;
  op->data = d;
  return QIE_OK;
}

static int32_t first_int(const qie_tensor* t) {
  return t ? qie_qe_load(t->data, qie_onnx_et(t->dtype), 0) : 0;
}
static float first_float(const qie_tensor* t) { return t ? ((const float*)t->data)[0] : 1.0f; }

static qie_status eval_matmul(qie_ctx* ctx, qie_op* op) {
  const qmatmul_data* d = op->data;
  const qie_tensor* bz = mm_in(ctx, op, MM_BZ);
  const qie_tensor* bs = mm_in(ctx, op, MM_BS);
  qie_qmatmul_args a;
  memset(&a, 0, sizeof a);
  a.a = mm_in(ctx, op, MM_A)->data;
  a.b = mm_in(ctx, op, MM_B)->data;
  a.a_zp = first_int(mm_in(ctx, op, MM_AZ));
  a.b_zp = bz ? bz->data : NULL;
  a.b_zp_et = bz ? qie_onnx_et(bz->dtype) : 0;
  a.a_scale = first_float(mm_in(ctx, op, MM_AS));
  a.b_scale = bs ? bs->data : NULL;
  a.y_scale = first_float(mm_in(ctx, op, MM_YS));
  a.y_zp = first_int(mm_in(ctx, op, MM_YZ));
  a.y = qie_out(ctx, op, 0)->data;
  qie_qmatmul__ref(&d->p, &a);
  return QIE_OK;
}

/* QLinearConv x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias?;
 * ConvInteger x, w, x_zp?, w_zp?. x NHWC, w OHWI (grouped: in_c / groups deep). */
enum { CV_X, CV_XS, CV_XZ, CV_W, CV_WS, CV_WZ, CV_YS, CV_YZ, CV_B, CV_ROLES };
static const int8_t cv_integer_slot[CV_ROLES] = {0, -1, 2, 1, -1, 3, -1, -1, -1};

static const qie_tensor* cv_in(qie_ctx* ctx, const qie_op* op, int role) {
  const int s = op->code == QIE_OP_QLINEAR_CONV ? role : cv_integer_slot[role];
  return s < 0 ? NULL : qie_in(ctx, op, s);
}

typedef struct {
  qie_qconv_params p;
} qconv_data;

static qie_status prepare_conv(qie_ctx* ctx, qie_op* op) {
  const bool requant = op->code == QIE_OP_QLINEAR_CONV;
  qie_status st = requant ? qie_check_io(ctx, op, 8, 9, 1) : qie_check_io(ctx, op, 2, 4, 1);
  if (st != QIE_OK) return st;
  const char* l = qie_op_label(op);
  if (requant && (!qie_in(ctx, op, 1) || !qie_in(ctx, op, 4) || !qie_in(ctx, op, 6)))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: scales are required", l);
  const qie_tensor* x = cv_in(ctx, op, CV_X);
  const qie_tensor* w = cv_in(ctx, op, CV_W);
  const qie_tensor* y = qie_out(ctx, op, 0);
  const int x_et = qie_onnx_et(x->dtype), w_et = qie_onnx_et(w->dtype);
  if (!byte_et(x_et) || !byte_et(w_et))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: operands %s x %s not supported", l,
                    qie_dtype_name(x->dtype), qie_dtype_name(w->dtype));
  if (x->rank != 4 || w->rank != 4 || y->rank != 4)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: only 2-D convolution (rank-4 tensors)", l);
  qconv_data* d = qie_persist_alloc(ctx, sizeof *d);
  if (!d) return QIE_ERR_NO_MEMORY;
  qie_qconv_params* p = &d->p;
  p->batches = x->dims[0];
  p->in_h = x->dims[1];
  p->in_w = x->dims[2];
  p->in_c = x->dims[3];
  p->out_c = w->dims[0];
  p->k_h = w->dims[1];
  p->k_w = w->dims[2];
  p->out_h = y->dims[1];
  p->out_w = y->dims[2];
  p->groups = op->iattr[QIE_QCONV_GROUPS];
  p->stride_h = op->iattr[QIE_CONV_STRIDE_H];
  p->stride_w = op->iattr[QIE_CONV_STRIDE_W];
  p->dilation_h = op->iattr[QIE_CONV_DILATION_H];
  p->dilation_w = op->iattr[QIE_CONV_DILATION_W];
  p->pad_top = op->iattr[QIE_CONV_PAD_TOP];
  p->pad_left = op->iattr[QIE_CONV_PAD_LEFT];
  if (p->groups < 1 || p->in_c % p->groups || p->out_c % p->groups ||
      w->dims[3] != p->in_c / p->groups)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: %d groups do not fit input depth %d, filter depth %d, %d filters",
                    l, p->groups, p->in_c, w->dims[3], p->out_c);
  if (y->dims[0] != p->batches || y->dims[3] != p->out_c)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output batch / depth do not match", l);
  if ((st = qie_conv_check_axis(ctx, op, "height", p->in_h, p->k_h, p->stride_h, p->dilation_h,
                                p->pad_top, op->iattr[QIE_CONV_PAD_BOTTOM], p->out_h)) != QIE_OK)
    return st;
  if ((st = qie_conv_check_axis(ctx, op, "width", p->in_w, p->k_w, p->stride_w, p->dilation_w,
                                p->pad_left, op->iattr[QIE_CONV_PAD_RIGHT], p->out_w)) != QIE_OK)
    return st;
  p->x_et = x_et;
  p->w_et = w_et;
  p->requant = requant;
  int unused = 0, per_ch = 0;
  if ((st = check_param(ctx, op, cv_in(ctx, op, CV_XZ), "x zero point", x->dtype, 1, &unused)) != QIE_OK) return st;
  if ((st = check_param(ctx, op, cv_in(ctx, op, CV_WZ), "w zero point", w->dtype, (size_t)p->out_c, &per_ch)) != QIE_OK)
    return st;
  if (requant) {
    const int y_et = qie_onnx_et(y->dtype);
    if (!byte_et(y_et))
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: output %s not supported", l, qie_dtype_name(y->dtype));
    if ((st = qie_onnx_check_scale(ctx, op, cv_in(ctx, op, CV_XS), "x scale")) != QIE_OK) return st;
    if ((st = qie_onnx_check_scale(ctx, op, cv_in(ctx, op, CV_WS), "w scale")) != QIE_OK) return st;
    if ((st = qie_onnx_check_scale(ctx, op, cv_in(ctx, op, CV_YS), "y scale")) != QIE_OK) return st;
    if ((st = check_param(ctx, op, cv_in(ctx, op, CV_XS), "x scale", QIE_DT_FLOAT32, 1, &unused)) != QIE_OK) return st;
    if ((st = check_param(ctx, op, cv_in(ctx, op, CV_YS), "y scale", QIE_DT_FLOAT32, 1, &unused)) != QIE_OK) return st;
    if ((st = check_param(ctx, op, cv_in(ctx, op, CV_YZ), "y zero point", y->dtype, 1, &unused)) != QIE_OK) return st;
    if ((st = check_param(ctx, op, cv_in(ctx, op, CV_WS), "w scale", QIE_DT_FLOAT32, (size_t)p->out_c, &p->ws_per_ch)) != QIE_OK)
      return st;
    if ((st = qie_conv_check_bias(ctx, op, cv_in(ctx, op, CV_B), QIE_DT_INT32, p->out_c)) != QIE_OK) return st;
    p->out_et = y_et;
    qie_dtype_qrange(y->dtype, &p->qmin, &p->qmax);
    op->kernel = "onnx_qlinear_conv__ref";
  } else {
    if ((st = qie_check_tensor(ctx, op, y, "output", QIE_DT_INT32, 4)) != QIE_OK) return st;
    p->out_et = QIE_QE_I32;
    op->kernel = "onnx_conv_integer__ref";
  }
  p->wz_per_ch = per_ch;
  op->data = d;
  return QIE_OK;
}

static qie_status eval_conv(qie_ctx* ctx, qie_op* op) {
  const qconv_data* d = op->data;
  const qie_tensor* wz = cv_in(ctx, op, CV_WZ);
  const qie_tensor* ws = cv_in(ctx, op, CV_WS);
  const qie_tensor* bias = cv_in(ctx, op, CV_B);
  qie_qconv_args a;
  memset(&a, 0, sizeof a);
  a.x = cv_in(ctx, op, CV_X)->data;
  a.w = cv_in(ctx, op, CV_W)->data;
  a.x_zp = first_int(cv_in(ctx, op, CV_XZ));
  a.w_zp = wz ? wz->data : NULL;
  a.w_zp_et = wz ? qie_onnx_et(wz->dtype) : 0;
  a.x_scale = first_float(cv_in(ctx, op, CV_XS));
  a.w_scale = ws ? ws->data : NULL;
  a.y_scale = first_float(cv_in(ctx, op, CV_YS));
  a.y_zp = first_int(cv_in(ctx, op, CV_YZ));
  a.bias = bias ? bias->data : NULL;
  a.y = qie_out(ctx, op, 0)->data;
  qie_qconv__ref(&d->p, &a);
  return QIE_OK;
}

const qie_op_impl qie_op_matmul_integer = {QIE_OP_MATMUL_INTEGER, "MATMUL_INTEGER", prepare_matmul, eval_matmul};
const qie_op_impl qie_op_qlinear_matmul = {QIE_OP_QLINEAR_MATMUL, "QLINEAR_MATMUL", prepare_matmul, eval_matmul};
const qie_op_impl qie_op_conv_integer = {QIE_OP_CONV_INTEGER, "CONV_INTEGER", prepare_conv, eval_conv};
const qie_op_impl qie_op_qlinear_conv = {QIE_OP_QLINEAR_CONV, "QLINEAR_CONV", prepare_conv, eval_conv};
