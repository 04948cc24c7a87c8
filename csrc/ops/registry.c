/* Every op the runtime knows, looked up by plan op code. Each op file defines one
 * qie_op_impl named qie_op_<name>. */
#include <stddef.h>

#include "../runtime/runtime.h"

#define QIE_OPS(X)                                             \
  X(conv2d) X(depthwise_conv2d) X(fully_connected)             \
  X(average_pool2d) X(max_pool2d)                              \
  X(add) X(sub) X(mul)                                         \
  X(reshape) X(softmax) X(logistic) X(tanh)                    \
  X(relu) X(relu6) X(relu_n1_to_1) X(leaky_relu) X(hard_swish) \
  X(pad) X(transpose) X(mean) X(concatenation) X(pack)         \
  X(shape) X(strided_slice) X(resize_nearest_neighbor)         \
  X(quantize) X(dequantize) X(svdf) X(unidirectional_sequence_lstm) \
  X(quantize_linear) X(dequantize_linear) X(dynamic_quantize_linear) \
  X(matmul_integer) X(qlinear_matmul) X(conv_integer) X(qlinear_conv) X(clip) \
  X(qlinear_average_pool) X(qlinear_mul) X(lookup)

#define QIE_DECLARE(n) extern const qie_op_impl qie_op_##n;
QIE_OPS(QIE_DECLARE)
#undef QIE_DECLARE

const qie_op_impl* qie_find_op(uint16_t code) {
#define QIE_MATCH(n) \
  if (qie_op_##n.code == code) return &qie_op_##n;
  QIE_OPS(QIE_MATCH)
#undef QIE_MATCH
  return NULL;
}
