// What inspect reports about a graph: multiply-accumulates per op, and totals.
import { elementCount, Graph, Op } from './ir';

/** Multiply-accumulates of one op (0 for ops that do none worth counting). */
export function opMacs(g: Graph, op: Op): number {
  const shape = (i: number) => (i >= 0 ? g.tensors[i].shape : []);
  const out = shape(op.outputs[0]);
  switch (op.kind) {
    case 'CONV_2D': {
      const w = shape(op.inputs[1]); // OHWI
      return elementCount(out) * w[1] * w[2] * w[3];
    }
    case 'DEPTHWISE_CONV_2D': {
      const w = shape(op.inputs[1]); // 1HW(C*M)
      return elementCount(out) * w[1] * w[2];
    }
    case 'FULLY_CONNECTED': {
      const w = shape(op.inputs[1]); // [units, depth]
      return elementCount(out) * w[1];
    }
    case 'CONV_INTEGER':
    case 'QLINEAR_CONV': {
      const w = shape(op.inputs[op.kind === 'QLINEAR_CONV' ? 3 : 1]); // OHWI, grouped depth
      return elementCount(out) * w[1] * w[2] * w[3];
    }
    case 'MATMUL_INTEGER':
    case 'QLINEAR_MATMUL': {
      const a = shape(op.inputs[0]); // [.., M, K]
      return elementCount(out) * a[a.length - 1];
    }
    default:
      return 0;
  }
}

export function graphMacs(g: Graph): number {
  return g.ops.reduce((s, op) => s + opMacs(g, op), 0);
}
