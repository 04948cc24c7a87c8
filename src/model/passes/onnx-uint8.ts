// uint8 activations of ONNX QDQ models run as int8 (the TFLite trick the
// uint8-to-int8 pass applies: q - 128, same real values). This pass shifts the
// zero-point constants and clip bounds that refer to such tensors so that the
// Q/DQ/CLIP ops still agree with them, then hands over to uint8ToInt8. Tensors
// without constant quantization (run-time scales) stay uint8.
import { Graph, OpKind } from '../ir';
import { uint8ToInt8 } from './uint8-to-int8';

function int8Const(g: Graph, name: string, vals: number[], shape: number[]): number {
  g.tensors.push({ name, dtype: 'int8', shape, data: Uint8Array.from(vals.map((v) => v & 0xff)) });
  return g.tensors.length - 1;
}

/** [operand, its zero point] input positions of the general integer ops (-1: the output). */
const ZP_PAIRS: Partial<Record<OpKind, [number, number][]>> = {
  QLINEAR_MATMUL: [[0, 2], [3, 5], [-1, 7]],
  QLINEAR_CONV: [[0, 2], [3, 5], [-1, 7]],
  MATMUL_INTEGER: [[0, 2], [1, 3]],
  CONV_INTEGER: [[0, 2], [1, 3]],
};

export function onnxUint8(g: Graph): Graph {
  const flips = (t: number) => t >= 0 && g.tensors[t].dtype === 'uint8' && !!g.tensors[t].quant;
  for (const op of g.ops) {
    if (op.kind === 'QUANTIZE_LINEAR' || op.kind === 'DEQUANTIZE_LINEAR') {
      const q = op.kind === 'QUANTIZE_LINEAR' ? op.outputs[0] : op.inputs[0];
      if (!flips(q)) continue;
      const zt = op.inputs[2] >= 0 ? g.tensors[op.inputs[2]] : undefined;
      const scale = g.tensors[op.inputs[1]];
      if (zt && !zt.data) continue; // cannot happen: constant quantization was required
      const zps = zt ? [...zt.data!].map((z) => z - 128) : new Array<number>(scale.shape.reduce((a, b) => a * b, 1)).fill(-128);
      op.inputs[2] = int8Const(g, `${zt?.name ?? g.tensors[q].name + '_zp'}_s8`, zps, zt ? zt.shape : scale.shape);
    } else if (ZP_PAIRS[op.kind]) {
      // the general integer ops read zero points as tensors: shift those of flipped operands
      for (const [vi, zi] of ZP_PAIRS[op.kind]!) {
        const v = vi < 0 ? op.outputs[0] : op.inputs[vi];
        if (!flips(v)) continue;
        const zt = op.inputs[zi] >= 0 ? g.tensors[op.inputs[zi]] : undefined;
        if (zt && (!zt.data || zt.dtype !== 'uint8')) continue;
        op.inputs[zi] = int8Const(g, `${g.tensors[v].name}_zp_s8`, zt ? [...zt.data!].map((z) => z - 128) : [-128], zt ? zt.shape : []);
      }
    } else if (op.kind === 'CLIP' && flips(op.inputs[0])) {
      op.attrs = { ...op.attrs, lo: op.attrs.lo - 128, hi: op.attrs.hi - 128 };
    }
  }
  return uint8ToInt8(g);
}
