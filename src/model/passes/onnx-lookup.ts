// Element-wise functions of one int8 value that ONNX Runtime defines through a
// float lookup table (QLinearLeakyRelu: dequantize, f, quantize) become LOOKUP
// ops with that table, computed here in float32 exactly as the float ops would
// (Math.fround after every operation). Runs after uint8 -> int8: the real
// values are the same, so is the table.
import { Graph } from '../ir';
import { rint } from './onnx-const';

const fr = Math.fround;

export function onnxLookup(g: Graph): Graph {
  for (const op of g.ops) {
    if (op.kind !== 'LEAKY_RELU') continue;
    const x = g.tensors[op.inputs[0]];
    const y = g.tensors[op.outputs[0]];
    if (x.dtype !== 'int8' || y.dtype !== 'int8' || !x.quant || !y.quant) continue;
    const [sx, zx, sy, zy] = [fr(x.quant.scales[0]), x.quant.zeroPoints[0], fr(y.quant.scales[0]), y.quant.zeroPoints[0]];
    const alpha = fr(op.attrs.alpha);
    const table = new Uint8Array(256);
    for (let i = 0; i < 256; i++) {
      const v = fr(fr(i - 128 - zx) * sx);
      const f = v >= 0 ? v : fr(alpha * v);
      const q = rint(fr(f / sy)) + zy;
      table[i] = Math.max(-128, Math.min(127, q)) & 0xff;
    }
    g.tensors.push({ name: `${op.name}_table`, dtype: 'int8', shape: [256], data: table });
    op.kind = 'LOOKUP';
    op.inputs = [op.inputs[0], g.tensors.length - 1];
    op.attrs = {};
  }
  return g;
}
