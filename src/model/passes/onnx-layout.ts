// Layout clean-up for imported ONNX graphs. The importer converts between NCHW
// and NHWC wherever an op needs it; this pass moves each TRANSPOSE upstream
// through DequantizeLinear (so it meets the constants and graph inputs), moves QuantizeLinear above transposes and reshapes (so it follows the
// op it quantizes), folds transposes of constants, merges transpose pairs (NCHW -> NHWC
// -> NCHW cancel) and turns transposes that move only size-1 dims, and reshapes
// that change nothing, into copies or nothing. A conv net is left with at most
// one transpose at each graph boundary.
import { Graph, Op, Tensor } from '../ir';
import { consumers, elemBytes, producers, removeDead, replaceTensor, soleConsumer, transposeData } from './graph-edit';

// Upstream through DequantizeLinear only: through a QuantizeLinear the transpose
// would move onto float data (the quantize is hoisted above data moves instead),
// and between a conv and its CLIP it would keep the clip from fusing.
const SINK_THROUGH = new Set(['DEQUANTIZE_LINEAR']);

function permOf(g: Graph, op: Op): number[] | undefined {
  const p = g.tensors[op.inputs[1]];
  if (!p?.data || p.dtype !== 'int32') return undefined;
  const dv = new DataView(p.data.buffer, p.data.byteOffset, p.data.byteLength);
  return [...Array(p.data.length / 4).keys()].map((i) => dv.getInt32(4 * i, true));
}

function setPerm(g: Graph, op: Op, perm: number[]): void {
  const b = Buffer.alloc(4 * perm.length);
  perm.forEach((v, i) => b.writeInt32LE(v, 4 * i));
  g.tensors.push({ name: `${op.name}_perm`, dtype: 'int32', shape: [perm.length], data: new Uint8Array(b.buffer, b.byteOffset, b.length) });
  op.inputs = [op.inputs[0], g.tensors.length - 1];
}

/** Quantization of a tensor after its dims are permuted. */
function permutedQuant(t: Tensor, perm: number[]): Tensor['quant'] {
  if (!t.quant) return undefined;
  return { ...t.quant, axis: t.quant.axis < 0 ? -1 : perm.indexOf(t.quant.axis) };
}

function elementCountOf(t: Tensor | undefined): number {
  return t ? t.shape.reduce((a, b) => a * b, 1) : 0;
}

/**
 * Flatten of an NHWC-held tensor into a fully connected layer: ONNX flattens in
 * NCHW order, so instead of transposing the activations the constant weights'
 * columns are permuted once (c, h, w) -> (h, w, c) and the transpose goes away.
 * Pattern: x [N,H,W,C] -> TRANSPOSE(0,3,1,2) -> RESHAPE [N, C*H*W] ->
 * (per-tensor DequantizeLinear) -> FULLY_CONNECTED with constant weights
 * (or a DequantizeLinear of them), every link read only by the next.
 */
function flattenIntoWeights(g: Graph, fc: Op, prod: Map<number, Op>, cons: Map<number, Op[]>): boolean {
  const sole = (t: number, reader: Op) => soleConsumer(g, cons, t) === reader;
  let reader = fc;
  let p = prod.get(fc.inputs[0]);
  if (p && p.kind === 'DEQUANTIZE_LINEAR' && elementCountOf(g.tensors[p.inputs[1]]) === 1 && sole(p.outputs[0], fc)) {
    reader = p;
    p = prod.get(p.inputs[0]);
  }
  if (!p || p.kind !== 'RESHAPE' || !sole(p.outputs[0], reader)) return false;
  const tr = prod.get(p.inputs[0]);
  if (!tr || tr.kind !== 'TRANSPOSE' || !sole(tr.outputs[0], p) || (permOf(g, tr) ?? []).join() !== '0,3,1,2') return false;
  const x = g.tensors[tr.inputs[0]];
  const flat = g.tensors[p.outputs[0]].shape;
  if (x.shape.length !== 4 || flat.length !== 2 || flat[0] !== x.shape[0]) return false;
  const [, H, W, C] = x.shape;
  // the weights: a constant, or a constant behind a DequantizeLinear, read only here
  let wOp: Op = fc;
  let w = fc.inputs[1];
  const wp = prod.get(w);
  if (wp) {
    if (wp.kind !== 'DEQUANTIZE_LINEAR' || !sole(w, fc) || (wp.attrs.blockSize ?? 0) > 0) return false;
    wOp = wp;
    w = wp.inputs[0];
    if (elementCountOf(g.tensors[wp.inputs[1]]) > 1 && wp.attrs.axis !== 0) return false;
  }
  const wt = g.tensors[w];
  if (!wt.data || !sole(w, wOp) || wt.shape.length !== 2 || wt.shape[1] !== C * H * W) return false;
  const eb = elemBytes(wt);
  const units = wt.shape[0];
  const out = new Uint8Array(wt.data.length);
  for (let u = 0; u < units; u++)
    for (let h = 0; h < H; h++)
      for (let x0 = 0; x0 < W; x0++)
        for (let c = 0; c < C; c++) {
          const to = (u * H * W * C + (h * W + x0) * C + c) * eb;
          const from = (u * C * H * W + (c * H + h) * W + x0) * eb;
          out.set(wt.data.subarray(from, from + eb), to);
        }
  wt.data = out;
  p.inputs = [tr.inputs[0], ...p.inputs.slice(1)];
  g.ops.splice(g.ops.indexOf(tr), 1);
  return true;
}

function onePass(g: Graph): boolean {
  const prod = producers(g);
  const cons = consumers(g);
  const four = new Set(g.fourBit ?? []);
  for (let i = 0; i < g.ops.length; i++) {
    const op = g.ops[i];
    if (op.kind === 'TRANSPOSE') {
      const perm = permOf(g, op);
      if (!perm) continue;
      const x = op.inputs[0];
      const y = op.outputs[0];
      const xt = g.tensors[x];
      // constant: fold
      if (xt.data) {
        const yt = g.tensors[y];
        yt.data = transposeData(xt.data, xt.shape, perm, elemBytes(xt));
        yt.quant = permutedQuant(xt, perm);
        g.ops.splice(i, 1);
        return true;
      }
      // identity permutation
      if (perm.every((p, k) => p === k) && replaceTensor(g, y, x)) {
        g.ops.splice(i, 1);
        return true;
      }
      const p = prod.get(x);
      // transpose of a transpose read only here: one transpose
      if (p && p.kind === 'TRANSPOSE' && soleConsumer(g, cons, x) === op) {
        const inner = permOf(g, p);
        if (inner) {
          op.inputs[0] = p.inputs[0];
          setPerm(g, op, perm.map((k) => inner[k]));
          g.ops.splice(g.ops.indexOf(p), 1);
          return true;
        }
      }
      // move upstream through a DequantizeLinear read only here
      if (p && SINK_THROUGH.has(p.kind) && !(p.attrs.blockSize > 0) && soleConsumer(g, cons, x) === op) {
        const src = p.inputs[0];
        const st = g.tensors[src];
        const moved: Tensor = { name: `${st.name}_t`, dtype: st.dtype, shape: perm.map((k) => st.shape[k]), quant: permutedQuant(st, perm) };
        g.tensors.push(moved);
        const mi = g.tensors.length - 1;
        if (four.has(src)) g.fourBit = [...(g.fourBit ?? []), mi];
        const t2: Op = { kind: 'TRANSPOSE', name: op.name, inputs: [src, op.inputs[1]], outputs: [mi], attrs: {} };
        p.inputs[0] = mi;
        p.outputs[0] = y;
        if (g.tensors[p.inputs[1]] && g.tensors[p.inputs[1]].shape.length > 0 && p.attrs.axis !== undefined)
          p.attrs = { ...p.attrs, axis: perm.indexOf(p.attrs.axis) };
        g.ops.splice(i, 1);
        g.ops.splice(g.ops.indexOf(p), 0, t2);
        return true;
      }
      // moves only size-1 dims: a copy
      const nonUnit = perm.filter((k) => xt.shape[k] !== 1);
      if (nonUnit.every((k, j) => j === 0 || nonUnit[j - 1] < k)) {
        op.kind = 'RESHAPE';
        op.inputs = [x];
        return true;
      }
    } else if (op.kind === 'QUANTIZE_LINEAR' && elementCountOf(g.tensors[op.inputs[1]]) === 1 && !(op.attrs.blockSize > 0)) {
      // quantize before a data move (so a conv's QuantizeLinear follows it directly)
      const r = prod.get(op.inputs[0]);
      if (r && (r.kind === 'RESHAPE' || r.kind === 'TRANSPOSE') && soleConsumer(g, cons, op.inputs[0]) === op && !g.tensors[r.inputs[0]].data) {
        const a = r.inputs[0];
        const out = g.tensors[op.outputs[0]];
        g.tensors.push({ name: `${out.name}_pre`, dtype: out.dtype, shape: [...g.tensors[a].shape], quant: out.quant });
        const tmp = g.tensors.length - 1;
        if (four.has(op.outputs[0])) g.fourBit = [...(g.fourBit ?? []), tmp];
        r.outputs = [op.outputs[0]];
        r.inputs = [tmp, ...r.inputs.slice(1)];
        op.inputs = [a, ...op.inputs.slice(1)];
        op.outputs = [tmp];
        const ri = g.ops.indexOf(r);
        g.ops[ri] = op;
        g.ops[i] = r;
        return true;
      }
    } else if (op.kind === 'FULLY_CONNECTED') {
      if (flattenIntoWeights(g, op, prod, cons)) return true;
    } else if (op.kind === 'RESHAPE') {
      const x = op.inputs[0];
      const y = op.outputs[0];
      const xt = g.tensors[x];
      const yt = g.tensors[y];
      if (xt.data) {
        yt.data = xt.data;
        if (!yt.quant && xt.quant && xt.quant.axis < 0) yt.quant = xt.quant;
        g.ops.splice(i, 1);
        return true;
      }
      if (xt.shape.length === yt.shape.length && xt.shape.every((d, k) => d === yt.shape[k]) && replaceTensor(g, y, x)) {
        g.ops.splice(i, 1);
        return true;
      }
      const p = prod.get(x);
      if (p && p.kind === 'RESHAPE' && soleConsumer(g, cons, x) === op) {
        op.inputs = [p.inputs[0]];
        g.ops.splice(g.ops.indexOf(p), 1);
        return true;
      }
    }
  }
  return false;
}

export function onnxLayout(g: Graph): Graph {
  // data-movement ops keep per-tensor quantization
  for (const op of g.ops)
    if ((op.kind === 'TRANSPOSE' || op.kind === 'RESHAPE') && !g.tensors[op.outputs[0]].quant) {
      const q = g.tensors[op.inputs[0]].quant;
      if (q && q.axis < 0) g.tensors[op.outputs[0]].quant = q;
    }
  for (let guard = 0; guard < 100000 && onePass(g); guard++);
  return removeDead(g);
}
