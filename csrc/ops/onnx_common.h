/* Helpers shared by the ONNX-defined ops (onnx_*.c): element types and the
 * layout of scale / zero point tensors. */
#ifndef QIE_OPS_ONNX_COMMON_H
#define QIE_OPS_ONNX_COMMON_H

#include "../kernels/onnx_quant.h"
#include "../runtime/runtime.h"

/* The kernels' element type of an integer dtype; 0 for others. */
int qie_onnx_et(qie_dtype dt);

/* Requires t to be a float32 scale tensor whose entries are all finite and > 0
 * when it is constant (run-time scales are the model's business, as in ONNX). */
qie_status qie_onnx_check_scale(qie_ctx* ctx, const qie_op* op, const qie_tensor* t,
                                const char* role);

/* Fills l for data tensor x quantized by scale (and optional zp of the same
 * shape): per tensor when scale has one entry and block is 0, else per axis
 * (scale [dims[axis]]) or blocked (scale x's shape with ceil(dim / block) on
 * axis). */
qie_status qie_onnx_qparam_layout(qie_ctx* ctx, const qie_op* op, const qie_tensor* x,
                                  const qie_tensor* scale, const qie_tensor* zp, int32_t axis,
                                  int32_t block, qie_qparam_layout* l);

/* Requires t to have exactly one element of an integer type; returns its type. */
qie_status qie_onnx_check_scalar_zp(qie_ctx* ctx, const qie_op* op, const qie_tensor* t,
                                    const char* role, qie_dtype want);

#endif
