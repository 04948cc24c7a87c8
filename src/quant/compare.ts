// Layer-by-layer comparison of two graphs of the same network (a float model and
// its int8 version, or any two): both run in qie on the same samples, each op
// output of A is matched with B's tensor of the same name (or, when no names
// match, the op at the same position), and the SQNR of B against A is measured.
import { Graph, OpKind } from '../model/ir';
import { argmax } from '../engine/tensors';
import { GraphRunner } from './runner';

export interface LayerMetric {
  index: number;
  op: string;
  kind: OpKind;
  output: string;
  /** dtype of the matched tensor in B ('int8', 'float32', ...). */
  precision: string;
  /** 10*log10(signal / noise) over all samples; null when B equals A exactly (-Infinity: A is all 0, B is not). */
  sqnrDb: number | null;
  maxAbsError: number;
}

export interface EndToEnd {
  samples: number;
  /** Share of samples whose first output has the same argmax in A and B. */
  top1Agreement: number;
  maxAbsError: number;
  meanAbsError: number;
}

export interface Comparison {
  layers: LayerMetric[];
  endToEnd: EndToEnd;
}

const CONVERSIONS = new Set<OpKind>(['QUANTIZE', 'DEQUANTIZE']);

/** Pairs (tensor in A, tensor in B) for every op output of A that B also has. */
function matchLayers(a: Graph, b: Graph): { index: number; ta: number; tb: number }[] {
  const byName = new Map<string, number>();
  b.ops.forEach((op) => op.outputs.forEach((t) => byName.has(b.tensors[t].name) || byName.set(b.tensors[t].name, t)));
  const named = a.ops.flatMap((op, index) => {
    const tb = byName.get(a.tensors[op.outputs[0]].name);
    return tb === undefined ? [] : [{ index, ta: op.outputs[0], tb }];
  });
  if (named.length > 0) return named;
  const bOps = b.ops.filter((op) => !CONVERSIONS.has(op.kind));
  const aOps = a.ops.filter((op) => !CONVERSIONS.has(op.kind));
  if (aOps.length !== bOps.length) return [];
  return aOps.map((op, k) => ({ index: a.ops.indexOf(op), ta: op.outputs[0], tb: bOps[k].outputs[0] }));
}

export function sqnrDb(signal: number, noise: number): number | null {
  if (noise === 0) return null;
  if (signal === 0) return -Infinity;
  return 10 * Math.log10(signal / noise);
}

export async function compareGraphs(a: Graph, b: Graph, samples: Float32Array[], onProgress?: (done: number, total: number) => void): Promise<Comparison> {
  const ra = GraphRunner.open(a);
  const rb = GraphRunner.open(b);
  try {
    const pairs = matchLayers(a, b);
    const sig = new Float64Array(pairs.length), noise = new Float64Array(pairs.length), maxErr = new Float64Array(pairs.length);
    let agree = 0, e2eMax = 0, e2eSum = 0, e2eCount = 0;
    for (let n = 0; n < samples.length; n++) {
      const va = await ra.run(samples[n]);
      const vb = await rb.run(samples[n]);
      pairs.forEach((p, k) => {
        const x = va.get(p.ta), y = vb.get(p.tb);
        if (!x || !y || x.length !== y.length) return;
        for (let i = 0; i < x.length; i++) {
          const d = x[i] - y[i];
          sig[k] += x[i] * x[i];
          noise[k] += d * d;
          if (Math.abs(d) > maxErr[k]) maxErr[k] = Math.abs(d);
        }
      });
      a.outputs.forEach((t, k) => {
        const x = va.get(t), y = vb.get(b.outputs[k]);
        if (!x || !y) return;
        if (k === 0 && argmax(x) === argmax(y)) agree++;
        for (let i = 0; i < x.length; i++) {
          const d = Math.abs(x[i] - y[i]);
          e2eMax = Math.max(e2eMax, d);
          e2eSum += d;
          e2eCount++;
        }
      });
      onProgress?.(n + 1, samples.length);
    }
    const layers = pairs.map((p, k): LayerMetric => {
      const op = a.ops[p.index];
      return {
        index: p.index,
        op: op.name,
        kind: op.kind,
        output: a.tensors[p.ta].name,
        precision: b.tensors[p.tb].dtype,
        sqnrDb: sqnrDb(sig[k], noise[k]),
        maxAbsError: maxErr[k],
      };
    });
    return {
      layers,
      endToEnd: {
        samples: samples.length,
        top1Agreement: samples.length ? agree / samples.length : 0,
        maxAbsError: e2eMax,
        meanAbsError: e2eCount ? e2eSum / e2eCount : 0,
      },
    };
  } finally {
    ra.dispose();
    rb.dispose();
  }
}
