// A PAD of H and W alone, whose only reader is a CONV_2D or a strided
// DEPTHWISE_CONV_2D, becomes that conv's own padding: one pass over the activation and one tensor
// fewer, the same bytes. It is exact because the padded taps would hold the
// input's zero point (int8) or 0.0 (float32), and a tap holding the zero point
// contributes (x - zp) = 0, just what the kernels' implicit padding contributes.
import { Graph, Op, Tensor } from '../ir';
import { consumers, removeDead, sameQuant, soleConsumer } from './graph-edit';

const CONVS = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D']);

/** Paddings as [rank][before, after], or undefined when not a constant int32/int64 [rank, 2]. */
function readPads(t: Tensor, rank: number): number[][] | undefined {
  if (!t.data || t.shape.length !== 2 || t.shape[0] !== rank || t.shape[1] !== 2) return undefined;
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const wide = t.dtype === 'int64';
  if (!wide && t.dtype !== 'int32') return undefined;
  if (t.data.byteLength < rank * 2 * (wide ? 8 : 4)) return undefined;
  const out: number[][] = [];
  for (let i = 0; i < rank; i++) {
    const at = (j: number) => (wide ? Number(dv.getBigInt64((i * 2 + j) * 8, true)) : dv.getInt32((i * 2 + j) * 4, true));
    out.push([at(0), at(1)]);
  }
  return out;
}

/** The value the PAD writes equals the one the conv's implicit padding stands for. */
function padsWithZero(g: Graph, pad: Op, x: Tensor): boolean {
  const vi = pad.inputs[2] ?? -1;
  const v = vi >= 0 ? g.tensors[vi] : undefined;
  if (v && (!v.data || v.dtype !== x.dtype || v.shape.reduce((a, b) => a * b, 1) !== 1)) return false;
  if (x.dtype === 'float32') return !v || new DataView(v.data!.buffer, v.data!.byteOffset, 4).getFloat32(0, true) === 0;
  if (x.dtype !== 'int8') return false;
  const q = x.quant;
  if (!q || q.zeroPoints.length !== 1 || q.scales.length !== 1) return false;
  // without a constant the runtime pads with the output's zero point, equal to the input's (checked by the caller)
  return !v || new Int8Array(v.data!.buffer, v.data!.byteOffset, 1)[0] === q.zeroPoints[0];
}

export function foldPad(g: Graph): Graph {
  const cons = consumers(g);
  const dead = new Set<Op>();
  for (const pad of g.ops) {
    if (pad.kind !== 'PAD') continue;
    const x = g.tensors[pad.inputs[0]];
    const y = g.tensors[pad.outputs[0]];
    if (x.shape.length !== 4 || x.dtype !== y.dtype || !sameQuant(x, y)) continue;
    const pads = readPads(g.tensors[pad.inputs[1]], 4);
    if (!pads || pads.flat().some((p) => p < 0) || pads[0].some((p) => p) || pads[3].some((p) => p)) continue;
    if (!padsWithZero(g, pad, x)) continue;
    const conv = soleConsumer(g, cons, pad.outputs[0]);
    if (!conv || !CONVS.has(conv.kind) || conv.inputs[0] !== pad.outputs[0]) continue;
    if (conv.inputs.slice(1).includes(pad.outputs[0]) || g.tensors[conv.inputs[1]].shape.length !== 4) continue;
    const a = conv.attrs;
    // a stride-1 depthwise conv runs faster on a pre-padded input than through its
    // border path (mobilenet_v2, x86 AVX-512, 1 thread: 1.82 ms kept vs 1.86 ms folded)
    if (conv.kind === 'DEPTHWISE_CONV_2D' && (a.strideH ?? 1) === 1 && (a.strideW ?? 1) === 1) continue;
    const [kh, kw] = g.tensors[conv.inputs[1]].shape.slice(1, 3);
    const top = (a.padTop ?? 0) + pads[1][0];
    const bottom = (a.padBottom ?? 0) + pads[1][1];
    const left = (a.padLeft ?? 0) + pads[2][0];
    const right = (a.padRight ?? 0) + pads[2][1];
    // kernels are swept with pads up to the dilated window minus one; stay inside that
    const dkh = (kh - 1) * (a.dilationH ?? 1) + 1;
    const dkw = (kw - 1) * (a.dilationW ?? 1) + 1;
    if (Math.max(top, bottom) >= dkh || Math.max(left, right) >= dkw) continue;
    conv.attrs = { ...a, padTop: top, padBottom: bottom, padLeft: left, padRight: right };
    conv.inputs = [pad.inputs[0], ...conv.inputs.slice(1)];
    dead.add(pad);
  }
  if (!dead.size) return g;
  g.ops = g.ops.filter((o) => !dead.has(o));
  return removeDead(g);
}
