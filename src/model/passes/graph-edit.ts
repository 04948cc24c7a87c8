// Small graph-editing helpers the ONNX passes share: who produces and who reads
// a tensor, replacing one tensor by another, dropping dead ops and tensors.
import { elementCount, Graph, Op, Tensor, DTYPE_BYTES } from '../ir';

export function producers(g: Graph): Map<number, Op> {
  const m = new Map<number, Op>();
  for (const op of g.ops) for (const t of op.outputs) m.set(t, op);
  return m;
}

export function consumers(g: Graph): Map<number, Op[]> {
  const m = new Map<number, Op[]>();
  for (const op of g.ops)
    for (const t of op.inputs) {
      if (t < 0) continue;
      const list = m.get(t);
      if (list) {
        if (!list.includes(op)) list.push(op);
      } else m.set(t, [op]);
    }
  return m;
}

/** The only reader of t, when t has exactly one reader and is not a graph output. */
export function soleConsumer(g: Graph, cons: Map<number, Op[]>, t: number): Op | undefined {
  const c = cons.get(t);
  if (!c || c.length !== 1 || g.outputs.includes(t)) return undefined;
  // the reader must read t once (an op reading t twice still counts as one reader)
  return c[0];
}

/**
 * Makes every reader of `from` read `to` instead, and a graph output `from`
 * become `to` (keeping the output's name). Returns false, changing nothing, when
 * that would merge a graph output with a graph input, a constant or another output.
 */
export function replaceTensor(g: Graph, from: number, to: number): boolean {
  const outAt = g.outputs.indexOf(from);
  if (outAt >= 0) {
    if (g.inputs.includes(to) || g.outputs.includes(to) || g.tensors[to].data) return false;
    if (JSON.stringify(g.tensors[to].quant) !== JSON.stringify(g.tensors[from].quant)) return false;
    g.tensors[to].name = g.tensors[from].name;
    g.outputs[outAt] = to;
  }
  for (const op of g.ops) op.inputs = op.inputs.map((t) => (t === from ? to : t));
  return true;
}

export function removeOps(g: Graph, dead: Set<Op>): void {
  if (dead.size) g.ops = g.ops.filter((o) => !dead.has(o));
}

/** Drops ops whose results nobody reads, then tensors no op or graph edge uses. */
export function removeDead(g: Graph): Graph {
  const outputs = new Set(g.outputs);
  let changed = true;
  while (changed) {
    changed = false;
    const read = new Set<number>();
    for (const op of g.ops) for (const t of op.inputs) if (t >= 0) read.add(t);
    const keep = g.ops.filter((op) => op.outputs.some((t) => read.has(t) || outputs.has(t)));
    if (keep.length !== g.ops.length) {
      g.ops = keep;
      changed = true;
    }
  }
  return dropUnusedTensors(g);
}

/** Drops tensors no op or graph edge uses (TFLite's operator intermediates, which carry
 * only quantization and may have an empty shape, are such tensors), renumbering the rest. */
export function dropUnusedTensors(g: Graph): Graph {
  const used = new Set<number>([...g.inputs, ...g.outputs]);
  for (const op of g.ops) for (const t of [...op.inputs, ...op.outputs]) if (t >= 0) used.add(t);
  const map = new Map<number, number>();
  const tensors: Tensor[] = [];
  g.tensors.forEach((t, i) => {
    if (used.has(i)) {
      map.set(i, tensors.length);
      tensors.push(t);
    }
  });
  const re = (t: number) => (t < 0 ? t : map.get(t)!);
  return {
    ...g,
    tensors,
    ops: g.ops.map((o) => ({ ...o, inputs: o.inputs.map(re), outputs: o.outputs.map(re) })),
    inputs: g.inputs.map(re),
    outputs: g.outputs.map(re),
    fourBit: g.fourBit?.filter((t) => map.has(t)).map(re),
  };
}

/** A constant's data permuted (dims of `shape` reordered by perm). */
export function transposeData(data: Uint8Array, shape: number[], perm: number[], elemBytes: number): Uint8Array {
  const rank = shape.length;
  const out = new Uint8Array(data.length);
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1] * shape[i + 1];
  const n = elementCount(shape);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < n; o++) {
    let src = 0;
    for (let k = 0; k < rank; k++) src += idx[k] * inStrides[perm[k]];
    out.set(data.subarray(src * elemBytes, (src + 1) * elemBytes), o * elemBytes);
    for (let k = rank - 1; k >= 0; k--) {
      if (++idx[k] < outShape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

export function elemBytes(t: Tensor): number {
  return DTYPE_BYTES[t.dtype];
}

export function sameQuant(a: Tensor, b: Tensor): boolean {
  return JSON.stringify(a.quant ?? null) === JSON.stringify(b.quant ?? null);
}
