// Automatic mixed precision: which layer to take out of int8 next.
//
// Layers are measured in execution order. The first int8 compute layer whose
// output SQNR is below the threshold goes float. A layer that is already float
// and still below the threshold is not losing accuracy itself: the int8
// quantization of a tensor it reads is, so the int8 op that wrote that tensor
// (walking up through pass-through ops and float islands) goes float too, and
// the wide tensor ends up inside the float island.
import { Graph } from '../model/ir';
import { LayerMetric } from './compare';
import { isComputeOp, OpDecision } from './quantize-graph';

export interface FloatChoice {
  index: number;
  reason: string;
}

const fmt = (x: number | null): string => (x === null ? 'exact' : x.toFixed(1));

/** The int8 compute op upstream of op `index` whose output quantization feeds it, if any. */
function culprit(g: Graph, decisions: OpDecision[], index: number, seen = new Set<number>()): number | undefined {
  if (seen.has(index)) return undefined;
  seen.add(index);
  for (const t of g.ops[index].inputs) {
    if (t < 0 || g.tensors[t].data) continue;
    const p = g.ops.findIndex((op) => op.outputs.includes(t));
    if (p < 0) continue; // a graph input: its quantization is the io choice
    const d = decisions[p];
    if (d.precision === 'int8' && isComputeOp(d.kind)) return p;
    const up = culprit(g, decisions, p, seen);
    if (up !== undefined) return up;
  }
  return undefined;
}

/** Margin under a layer's ceiling within which it counts as good as it can get. */
const CEILING_MARGIN_DB = 1;

/**
 * ceilings: per op, the SQNR its output reaches with every op in float but the model
 * input in int8 (absent with float inputs). A layer at its ceiling is left alone.
 */
export function nextFloatLayer(g: Graph, decisions: OpDecision[], layers: LayerMetric[], minSqnr: number, ceilings = new Map<number, number>()): FloatChoice | undefined {
  for (const l of layers) {
    const limit = Math.min(minSqnr, (ceilings.get(l.index) ?? Infinity) - CEILING_MARGIN_DB);
    if (l.sqnrDb === null || l.sqnrDb >= limit) continue;
    const d = decisions[l.index];
    if (d.precision === 'int8') {
      if (!isComputeOp(d.kind)) continue;
      return { index: l.index, reason: `SQNR ${fmt(l.sqnrDb)} dB < --min-sqnr ${minSqnr} dB in int8` };
    }
    const up = culprit(g, decisions, l.index);
    if (up !== undefined) {
      const out = g.tensors[g.ops[up].outputs[0]].name;
      return { index: up, reason: `int8 ${out} leaves ${d.name} at ${fmt(l.sqnrDb)} dB < --min-sqnr ${minSqnr} dB even in float` };
    }
  }
  return undefined;
}
