// An integer CLIP that alone reads the output of an int8 conv, depthwise conv or
// fully connected op (QDQ models express ReLU6 this way) becomes that op's
// output clamp: the same bytes, one pass over the tensor fewer. Runs after
// uint8 -> int8 so the bounds are in the op's int8 domain.
import { Graph, Op } from '../ir';
import { clamp8Activation, clamp8Bounds } from '../opset';
import { consumers, producers, removeDead, soleConsumer } from './graph-edit';

const FUSABLE = new Set(['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED']);

export function onnxFuseClip(g: Graph): Graph {
  const prod = producers(g);
  const cons = consumers(g);
  const dead = new Set<Op>();
  for (const clip of g.ops) {
    if (clip.kind !== 'CLIP' || g.tensors[clip.inputs[0]].dtype !== 'int8') continue;
    const p = prod.get(clip.inputs[0]);
    if (!p || !FUSABLE.has(p.kind) || soleConsumer(g, cons, clip.inputs[0]) !== clip) continue;
    const act = p.attrs.activation ?? 0;
    const prior = act === 0 ? ([-128, 127] as [number, number]) : clamp8Bounds(act);
    if (g.tensors[p.outputs[0]].dtype !== 'int8' || !prior) continue;
    const lo = Math.max(prior[0], clip.attrs.lo);
    const hi = Math.min(prior[1], clip.attrs.hi);
    if (!(lo <= hi)) continue;
    p.attrs = { ...p.attrs, activation: clamp8Activation(lo, hi) };
    p.outputs = [clip.outputs[0]];
    dead.add(clip);
  }
  g.ops = g.ops.filter((o) => !dead.has(o));
  return removeDead(g);
}
