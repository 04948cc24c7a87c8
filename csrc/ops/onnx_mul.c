/* QLINEAR_MUL: int8 multiply with numpy broadcasting in ONNX Runtime's arithmetic
 * (QLinearMul and fused QDQ Mul): (a - a_zp) * (b - b_zp) as an exact integer,
 * times the float32 scale (a_scale * b_scale) / y_scale, rounded half to even,
 * plus y_zp, saturated. Quantization comes from the tensors (per tensor). */
#include "../kernels/onnx_quant.h"
#include "broadcast.h"
#include "conv_common.h"

typedef struct {
  qie_bcast bc;
  int32_t a_zp, b_zp, y_zp;
  float scale;
} qmul_data;

static qie_status prepare(qie_ctx* ctx, qie_op* op) {
  qie_status st = qie_check_io(ctx, op, 2, 2, 1);
  if (st != QIE_OK) return st;
  const qie_tensor* a = qie_in(ctx, op, 0);
  const qie_tensor* b = qie_in(ctx, op, 1);
  const qie_tensor* y = qie_out(ctx, op, 0);
  if ((st = qie_check_tensor(ctx, op, a, "a", QIE_DT_INT8, -1)) != QIE_OK) return st;
  if ((st = qie_check_tensor(ctx, op, b, "b", QIE_DT_INT8, -1)) != QIE_OK) return st;
  if ((st = qie_check_tensor(ctx, op, y, "output", QIE_DT_INT8, -1)) != QIE_OK) return st;
  if ((st = qie_conv_check_act_quant(ctx, op, a, "a", -128, 127)) != QIE_OK) return st;
  if ((st = qie_conv_check_act_quant(ctx, op, b, "b", -128, 127)) != QIE_OK) return st;
  if ((st = qie_conv_check_act_quant(ctx, op, y, "output", -128, 127)) != QIE_OK) return st;
  qmul_data* d = qie_persist_alloc(ctx, sizeof *d);
  if (!d) return QIE_ERR_NO_MEMORY;
  if (!qie_broadcast_plan(a->dims, a->rank, b->dims, b->rank, y->dims, y->rank, &d->bc) ||
      d->bc.count != y->elems)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: output shape is not the broadcast of the inputs",
                    qie_op_label(op));
  size_t na = 1, nb = 1;
  for (int i = 0; i < a->rank; ++i) na *= (size_t)a->dims[i];
  for (int i = 0; i < b->rank; ++i) nb *= (size_t)b->dims[i];
  if (na != a->elems || nb != b->elems)
    return qie_fail(ctx, QIE_ERR_INVALID_PLAN, "%s: element counts disagree with dims", qie_op_label(op));
  d->a_zp = a->zero_points[0];
  d->b_zp = b->zero_points[0];
  d->y_zp = y->zero_points[0];
  const float ab = a->scales[0] * b->scales[0];
  d->scale = ab / y->scales[0];
  op->data = d;
  op->kernel = "onnx_qs8_mul__ref";
  return QIE_OK;
}

static qie_status eval(qie_ctx* ctx, qie_op* op) {
  const qmul_data* d = op->data;
  const int8_t* a = qie_in(ctx, op, 0)->data;
  const int8_t* b = qie_in(ctx, op, 1)->data;
  int8_t* out = qie_out(ctx, op, 0)->data;
  QIE_BCAST_FOR_ROWS(&d->bc, {
    for (size_t i = 0; i < n; ++i) {
      /* |product| <= 255 * 255: exact in int32 and in float */
      const int32_t p = (a[oa + i * ia] - d->a_zp) * (b[ob + i * ib] - d->b_zp);
      out[oo + i] = (int8_t)qie_round_sat((float)p * d->scale, d->y_zp, -128, 127);
    }
  });
  return QIE_OK;
}

const qie_op_impl qie_op_qlinear_mul = {QIE_OP_QLINEAR_MUL, "QLINEAR_MUL", prepare, eval};
