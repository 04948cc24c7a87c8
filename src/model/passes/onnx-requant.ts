// QuantizeLinear(DequantizeLinear(x)) with the same scale and zero point is x:
// QDQ exporters leave such pairs at graph inputs and outputs (int8 <-> uint8,
// which run as the same int8 bytes here). Runs after the uint8 -> int8 pass.
import { Graph, Op } from '../ir';
import { producers, removeDead, replaceTensor } from './graph-edit';

function firstValue(g: Graph, t: number, dflt: number): number | undefined {
  if (t < 0) return dflt;
  const x = g.tensors[t];
  if (!x.data || x.shape.reduce((a, b) => a * b, 1) !== 1) return undefined;
  const dv = new DataView(x.data.buffer, x.data.byteOffset, x.data.byteLength);
  switch (x.dtype) {
    case 'float32': return dv.getFloat32(0, true);
    case 'int8': return dv.getInt8(0);
    case 'int16': return dv.getInt16(0, true);
    case 'uint8': return dv.getUint8(0);
    default: return undefined;
  }
}

export function onnxRequant(g: Graph): Graph {
  const prod = producers(g);
  const dead = new Set<Op>();
  for (const q of g.ops) {
    if (q.kind !== 'QUANTIZE_LINEAR' || q.attrs.bits || q.attrs.blockSize) continue;
    const d = prod.get(q.inputs[0]);
    if (!d || d.kind !== 'DEQUANTIZE_LINEAR' || d.attrs.bits || d.attrs.blockSize) continue;
    const x = d.inputs[0];
    const y = q.outputs[0];
    if (g.tensors[x].dtype !== g.tensors[y].dtype) continue;
    const same =
      firstValue(g, d.inputs[1], NaN) === firstValue(g, q.inputs[1], NaN) &&
      firstValue(g, d.inputs[1], NaN) !== undefined &&
      firstValue(g, d.inputs[2], 0) !== undefined &&
      firstValue(g, d.inputs[2], 0) === firstValue(g, q.inputs[2], 0);
    if (same && replaceTensor(g, y, x)) dead.add(q);
  }
  g.ops = g.ops.filter((o) => !dead.has(o));
  return removeDead(g);
}
