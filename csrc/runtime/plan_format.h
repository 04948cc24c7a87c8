/* The plan: the compact, validated-on-load description of a model that the
 * TypeScript side (src/model/plan.ts) writes and this runtime reads.
 * All integers little-endian; every offset is from the start of the plan.
 *
 *   header      QIE_PLAN_HEADER_BYTES
 *   tensors     n_tensors records of QIE_PLAN_TENSOR_BYTES
 *   ops         n_ops records of QIE_PLAN_OP_BYTES
 *   index pool  int32[index_count]: op inputs then outputs, then graph inputs, graph outputs
 *   quant pool  32-bit words[quant_count]: per tensor q_count float32 scales then q_count int32 zps
 *   names       NUL-terminated strings
 *   blob        constant tensor bytes (each 16-byte aligned relative to blob start)
 */
#ifndef QIE_PLAN_FORMAT_H
#define QIE_PLAN_FORMAT_H

#define QIE_PLAN_MAGIC 0x50454951u /* "QIEP" */
#define QIE_PLAN_VERSION 1u

/* Requantization semantics the model was defined with. */
#define QIE_SEMANTICS_TFLITE 0u /* fixed-point multiplier + shift, double rounding */
#define QIE_SEMANTICS_ONNX 1u   /* float scale, round half to even */

/* header: u32 words */
#define QIE_PLAN_HEADER_BYTES 80
enum {
  QIE_H_MAGIC = 0,
  QIE_H_VERSION,
  QIE_H_SEMANTICS,
  QIE_H_N_TENSORS,
  QIE_H_N_OPS,
  QIE_H_N_INPUTS,
  QIE_H_N_OUTPUTS,
  QIE_H_TENSORS_OFF,
  QIE_H_OPS_OFF,
  QIE_H_INDEX_OFF,
  QIE_H_INDEX_COUNT,
  QIE_H_GRAPH_IO_AT, /* position in the index pool of graph inputs (outputs follow) */
  QIE_H_QUANT_OFF,
  QIE_H_QUANT_COUNT,
  QIE_H_NAMES_OFF,
  QIE_H_NAMES_SIZE,
  QIE_H_BLOB_OFF,
  QIE_H_BLOB_SIZE,
  QIE_H_TOTAL_SIZE,
  QIE_H_RESERVED
};

/* tensor record (64 bytes):
 *   u8 dtype, u8 rank, u8 flags, u8 reserved
 *   i32 dims[6]
 *   u32 data_off (relative to blob), u32 data_size     (constants only)
 *   u32 q_count (0: not quantized), i32 q_axis (-1: per tensor), u32 q_at (word index in quant pool)
 *   u32 name_off (relative to names)
 *   u32 reserved[2] */
#define QIE_PLAN_TENSOR_BYTES 64
#define QIE_TF_CONST 1u    /* data in the blob */
#define QIE_TF_VARIABLE 2u /* persistent state: zeroed at load and by reset */

/* op record (112 bytes):
 *   u16 code, u16 n_in, u16 n_out, u16 reserved
 *   u32 index_at (position in index pool of inputs; outputs follow)
 *   i32 iattr[QIE_OP_IATTRS]
 *   f32 fattr[QIE_OP_FATTRS]
 *   u32 name_off
 *   u32 reserved */
#define QIE_PLAN_OP_BYTES 112
#define QIE_OP_IATTRS 20
#define QIE_OP_FATTRS 4
#define QIE_OP_MAX_IO 64 /* more inputs or outputs than this is refused */

#endif
