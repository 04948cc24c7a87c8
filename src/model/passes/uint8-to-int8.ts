// Legacy uint8 quantized models run as int8, the way TFLite maps them: the same
// real values with every quantized value and zero point shifted by -128
// (q8 = q - 128, which for bytes is q ^ 0x80). The engine flips the bytes of
// graph inputs/outputs listed in uint8Io at the boundary.
import { Graph, Tensor } from '../ir';

function flip(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] ^ 0x80;
  return out;
}

export function uint8ToInt8(g: Graph): Graph {
  const converted = new Array<boolean>(g.tensors.length).fill(false);
  // Tensors may share one constant array: flip each array once.
  const flipped = new Map<Uint8Array, Uint8Array>();
  const tensors = g.tensors.map((t, i): Tensor => {
    if (t.dtype !== 'uint8' || !t.quant) return t;
    converted[i] = true;
    const nt: Tensor = {
      ...t,
      dtype: 'int8',
      quant: { ...t.quant, scales: [...t.quant.scales], zeroPoints: t.quant.zeroPoints.map((z) => z - 128) },
    };
    if (t.data) {
      let d = flipped.get(t.data);
      if (!d) {
        d = flip(t.data);
        flipped.set(t.data, d);
      }
      nt.data = d;
    }
    return nt;
  });
  if (!converted.some((c) => c)) return g;
  const inputs = g.inputs.map((t, k) => converted[t] || (g.uint8Io?.inputs[k] ?? false));
  const outputs = g.outputs.map((t, k) => converted[t] || (g.uint8Io?.outputs[k] ?? false));
  const out: Graph = { ...g, tensors };
  if (inputs.some((x) => x) || outputs.some((x) => x)) out.uint8Io = { inputs, outputs };
  return out;
}
