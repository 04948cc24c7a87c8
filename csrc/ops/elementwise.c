/* ADD, SUB, MUL: prepare validates shapes (numpy broadcasting over up to 6 dims),
 * dtypes and quantization, and computes TFLite's requantization constants. */
#include <math.h>
#include <stdbool.h>

#include "../kernels/elementwise.h"
#include "../kernels/quant.h"
#include "../runtime/runtime.h"
#include "broadcast.h"
#include "conv_common.h"

typedef struct {
  qie_bcast bc;
  qie_dtype dtype;
  qie_addsub_q_params addsub;
  qie_mul_q_params mul;
  float fmin, fmax;
  int32_t imin, imax;
} eltwise_data;

/* The runtime's element count agrees with the one computed from dims. */
static bool elems_match(const qie_tensor* t, size_t count) { return t->elems == count; }

static qie_status quant_act_range(qie_ctx* ctx, const qie_op* op, int act, float scale, int32_t zp,
                                  qie_dtype dt, int32_t* lo, int32_t* hi) {
  int32_t qmin = 0, qmax = 0;
  qie_dtype_qrange(dt, &qmin, &qmax);
  /* the bounds are converted to int: keep 6/scale representable */
  if ((act == QIE_ACT_RELU6 || act == QIE_ACT_RELU_N1_TO_1) && !(6.0 / scale < 1e9))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: output scale too small for activation", qie_op_label(op));
  if (qie_activation_range_quantized(act, scale, zp, qmin, qmax, lo, hi) != 0)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: fused activation %d unsupported", qie_op_label(op), act);
  return QIE_OK;
}

static qie_status int_act_range(qie_ctx* ctx, const qie_op* op, int act, int32_t* lo, int32_t* hi) {
  switch (act) {
    case QIE_ACT_NONE: *lo = INT32_MIN; *hi = INT32_MAX; return QIE_OK;
    case QIE_ACT_RELU: *lo = 0; *hi = INT32_MAX; return QIE_OK;
    case QIE_ACT_RELU6: *lo = 0; *hi = 6; return QIE_OK;
    case QIE_ACT_RELU_N1_TO_1: *lo = -1; *hi = 1; return QIE_OK;
    default:
      return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: fused activation %d unsupported", qie_op_label(op), act);
  }
}

/* TFLite's QuantizeMultiplierSmallerThanOneExp: m must be in (0, 1). */
static qie_status smaller_than_one(qie_ctx* ctx, const qie_op* op, double m, int32_t* mult, int* shift) {
  if (!(m > 0.0 && m < 1.0))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: rescale factor %g not in (0, 1)", qie_op_label(op), m);
  qie_quantize_multiplier(m, mult, shift);
  if (*shift > 0)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: rescale factor %g rounds to 1", qie_op_label(op), m);
  return QIE_OK;
}

static qie_status prepare_addsub_q(qie_ctx* ctx, qie_op* op, eltwise_data* d, const qie_tensor* a,
                                   const qie_tensor* b, const qie_tensor* out, bool subtract) {
  float sa, sb, so;
  int32_t za, zb, zo;
  qie_status st;
  if ((st = qie_check_quant(ctx, op, a, "input 0", &sa, &za)) != QIE_OK) return st;
  if ((st = qie_check_quant(ctx, op, b, "input 1", &sb, &zb)) != QIE_OK) return st;
  if ((st = qie_check_quant(ctx, op, out, "output", &so, &zo)) != QIE_OK) return st;
  const bool is16 = out->dtype == QIE_DT_INT16;
  /* int16 is symmetric in TFLite; it also keeps the 15-bit headroom sums in int32 */
  if (is16 && (za != 0 || zb != 0 || zo != 0))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: int16 needs zero points of 0", qie_op_label(op));
  qie_addsub_q_params* p = &d->addsub;
  p->subtract = subtract;
  p->left_shift = is16 ? 15 : 20;
  p->a_offset = -za;
  p->b_offset = -zb;
  p->out_offset = zo;
  const double twice_max = 2.0 * (double)(sa > sb ? sa : sb);
  if ((st = smaller_than_one(ctx, op, (double)sa / twice_max, &p->a_multiplier, &p->a_shift)) != QIE_OK)
    return st;
  if ((st = smaller_than_one(ctx, op, (double)sb / twice_max, &p->b_multiplier, &p->b_shift)) != QIE_OK)
    return st;
  const double real_out = twice_max / ((double)(1 << p->left_shift) * (double)so);
  if ((st = smaller_than_one(ctx, op, real_out, &p->out_multiplier, &p->out_shift)) != QIE_OK) return st;
  return quant_act_range(ctx, op, op->iattr[QIE_ELTWISE_ACTIVATION], so, zo, out->dtype, &p->act_min,
                         &p->act_max);
}

static qie_status prepare_mul_q(qie_ctx* ctx, qie_op* op, eltwise_data* d, const qie_tensor* a,
                                const qie_tensor* b, const qie_tensor* out) {
  float sa, sb, so;
  int32_t za, zb, zo;
  qie_status st;
  if ((st = qie_check_quant(ctx, op, a, "input 0", &sa, &za)) != QIE_OK) return st;
  if ((st = qie_check_quant(ctx, op, b, "input 1", &sb, &zb)) != QIE_OK) return st;
  if ((st = qie_check_quant(ctx, op, out, "output", &so, &zo)) != QIE_OK) return st;
  if (out->dtype == QIE_DT_INT16 && (za != 0 || zb != 0 || zo != 0))
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: int16 needs zero points of 0", qie_op_label(op));
  qie_mul_q_params* p = &d->mul;
  p->a_offset = -za;
  p->b_offset = -zb;
  p->out_offset = zo;
  qie_quantize_multiplier((double)sa * (double)sb / (double)so, &p->multiplier, &p->shift);
  if (p->shift > 30)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: rescale factor too large", qie_op_label(op));
  return quant_act_range(ctx, op, op->iattr[QIE_ELTWISE_ACTIVATION], so, zo, out->dtype, &p->act_min,
                         &p->act_max);
}

static const char* kernel_name(uint16_t code, qie_dtype dt) {
  static const char* names[3][4] = {
      {"qs8_add__ref", "qs16_add__ref", "f32_add__ref", "s32_add__ref"},
      {"qs8_sub__ref", "qs16_sub__ref", "f32_sub__ref", "s32_sub__ref"},
      {"qs8_mul__ref", "qs16_mul__ref", "f32_mul__ref", "s32_mul__ref"}};
  const int row = code == QIE_OP_ADD ? 0 : (code == QIE_OP_SUB ? 1 : 2);
  const int col = dt == QIE_DT_INT8 ? 0 : dt == QIE_DT_INT16 ? 1 : dt == QIE_DT_FLOAT32 ? 2 : 3;
  return names[row][col];
}

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 2, 2, 1);
  if (st != QIE_OK) return st;
  const qie_tensor* a = qie_in(ctx, op, 0);
  const qie_tensor* b = qie_in(ctx, op, 1);
  const qie_tensor* out = qie_out(ctx, op, 0);
  const qie_dtype dt = out->dtype;
  if (dt != QIE_DT_INT8 && dt != QIE_DT_INT16 && dt != QIE_DT_FLOAT32 && dt != QIE_DT_INT32)
    return qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: %s output unsupported", qie_op_label(op), qie_dtype_name(dt));
  if ((st = qie_check_tensor(ctx, op, a, "input 0", dt, -1)) != QIE_OK) return st;
  if ((st = qie_check_tensor(ctx, op, b, "input 1", dt, -1)) != QIE_OK) return st;

  eltwise_data* d = qie_persist_alloc(ctx, sizeof(eltwise_data));
  if (!d) return QIE_ERR_NO_MEMORY;
  d->dtype = dt;
  if (!qie_broadcast_plan(a->dims, a->rank, b->dims, b->rank, out->dims, out->rank, &d->bc))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN,
                    "%s: output shape is not the broadcast of the input shapes (rank <= %d)",
                    qie_op_label(op), QIE_BCAST_RANK);
  size_t na = 1, nb = 1;
  for (int i = 0; i < a->rank; ++i) na *= (size_t)a->dims[i]; /* bounded: planned above */
  for (int i = 0; i < b->rank; ++i) nb *= (size_t)b->dims[i];
  if (!elems_match(a, na) || !elems_match(b, nb) || !elems_match(out, d->bc.count))
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: tensor element counts disagree with dims", qie_op_label(op));

  const int act = op->iattr[QIE_ELTWISE_ACTIVATION];
  switch (dt) {
    case QIE_DT_INT8:
    case QIE_DT_INT16:
      st = op->code == QIE_OP_MUL ? prepare_mul_q(ctx, op, d, a, b, out)
                                  : prepare_addsub_q(ctx, op, d, a, b, out, op->code == QIE_OP_SUB);
      break;
    case QIE_DT_FLOAT32:
      if (qie_activation_range_float(act, &d->fmin, &d->fmax) != 0)
        st = qie_fail(ctx, QIE_ERR_UNSUPPORTED, "%s: fused activation %d unsupported", qie_op_label(op), act);
      break;
    default:
      st = int_act_range(ctx, op, act, &d->imin, &d->imax);
      break;
  }
  if (st != QIE_OK) return st;
  op->data = d;
  op->scratch_bytes = 0;
  op->kernel = kernel_name(op->code, dt);
  const qie_kernel_table* kt = qie_conv_kernels(ctx);
  if (dt == QIE_DT_INT8 && op->code != QIE_OP_MUL && kt->qs8_addsub) op->kernel = kt->qs8_addsub->name;
  return QIE_OK;
}

/* int8 ADD/SUB of same-shape inputs (one contiguous row) is split into slices of
 * ADDSUB_SLICE elements across the pool: every element is computed alone, so the
 * bytes do not depend on the split. An element costs about as much as this many
 * MACs of a conv kernel, which is what qie_parallel_for's threshold is counted in. */
#define ADDSUB_SLICE 4096
#define ADDSUB_WORK_PER_ELEMENT 16

typedef struct {
  const qie_qs8_addsub_kernel* k;
  const qie_addsub_q_params* p;
  const int8_t *a, *b;
  int8_t* out;
  size_t count;
} addsub_job;

static void addsub_range(const void* arg, int32_t begin, int32_t end, void* scratch) {
  (void)scratch;
  const addsub_job* j = arg;
  const size_t from = (size_t)begin * ADDSUB_SLICE;
  size_t to = (size_t)end * ADDSUB_SLICE;
  if (to > j->count) to = j->count;
  qie_bcast row = {{1, 1, 1, 1, 1, to - from}, {0, 0, 0, 0, 0, 1}, {0, 0, 0, 0, 0, 1}, to - from};
  if (j->k) j->k->run(j->p, &row, j->a + from, j->b + from, j->out + from);
  else qie_addsub_s8_ref(j->p, &row, j->a + from, j->b + from, j->out + from);
}

/* The plan is one contiguous row through both inputs (no broadcasting). */
static bool one_row(const qie_bcast* bc) {
  for (int k = 0; k < QIE_BCAST_RANK - 1; ++k)
    if (bc->dims[k] != 1) return false;
  return bc->sa[QIE_BCAST_RANK - 1] == 1 && bc->sb[QIE_BCAST_RANK - 1] == 1 &&
         bc->dims[QIE_BCAST_RANK - 1] == bc->count;
}

static void addsub_s8(qie_ctx* ctx, const qie_op* op, const eltwise_data* d, const int8_t* a,
                      const int8_t* b, int8_t* out) {
  const qie_qs8_addsub_kernel* k = qie_conv_kernels(ctx)->qs8_addsub;
  const size_t n = d->bc.count;
  if (one_row(&d->bc) && n / ADDSUB_SLICE < INT32_MAX) {
    const addsub_job j = {k, &d->addsub, a, b, out, n};
    qie_parallel_for(ctx, op, (int32_t)((n + ADDSUB_SLICE - 1) / ADDSUB_SLICE),
                     (uint64_t)n * ADDSUB_WORK_PER_ELEMENT, addsub_range, &j);
  } else if (k) k->run(&d->addsub, &d->bc, a, b, out);
  else qie_addsub_s8_ref(&d->addsub, &d->bc, a, b, out);
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const eltwise_data* d = op->data;
  const qie_tensor* a = qie_in(ctx, op, 0);
  const qie_tensor* b = qie_in(ctx, op, 1);
  qie_tensor* out = qie_out(ctx, op, 0);
  if (!d || !a || !b || !out)
    return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: not prepared", qie_op_label(op));
  if (d->bc.count && (!a->data || !b->data || !out->data))
    return qie_fail(ctx, QIE_ERR_INTERNAL, "%s: tensor without data", qie_op_label(op));
  const bool mul = op->code == QIE_OP_MUL;
  const bool sub = op->code == QIE_OP_SUB;
  switch (d->dtype) {
    case QIE_DT_INT8:
      if (mul) qie_mul_s8_ref(&d->mul, &d->bc, a->data, b->data, out->data);
      else addsub_s8(ctx, op, d, a->data, b->data, out->data);
      break;
    case QIE_DT_INT16:
      if (mul) qie_mul_s16_ref(&d->mul, &d->bc, a->data, b->data, out->data);
      else qie_addsub_s16_ref(&d->addsub, &d->bc, a->data, b->data, out->data);
      break;
    case QIE_DT_FLOAT32:
      if (mul) qie_mul_f32_ref(d->fmin, d->fmax, &d->bc, a->data, b->data, out->data);
      else qie_addsub_f32_ref(sub, d->fmin, d->fmax, &d->bc, a->data, b->data, out->data);
      break;
    default:
      if (mul) qie_mul_s32_ref(d->imin, d->imax, &d->bc, a->data, b->data, out->data);
      else qie_addsub_s32_ref(sub, d->imin, d->imax, &d->bc, a->data, b->data, out->data);
      break;
  }
  return QIE_OK;
}

const qie_op_impl qie_op_add = {QIE_OP_ADD, "ADD", prepare, eval};
const qie_op_impl qie_op_sub = {QIE_OP_SUB, "SUB", prepare, eval};
const qie_op_impl qie_op_mul = {QIE_OP_MUL, "MUL", prepare, eval};
