// An integer CLIP that alone reads the output of an int8 conv, depthwise conv or
// fully connected op (QDQ models express ReLU6 this way) becomes that op's
// output clamp: the same bytes, one pass over the tensor fewer. Runs after
// uint8 -> int8 so the bounds are in the op's int8 domain.
import { Graph, Op } from '../ir';
import { ACTIVATION_CLAMP } from '../opset';
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
    if (g.tensors[p.outputs[0]].dtype !== 'int8' || (p.attrs.activation ?? 0) !== 0 && p.attrs.activation !== ACTIVATION_CLAMP) continue;
    const [lo0, hi0] = p.attrs.activation === ACTIVATION_CLAMP ? [p.attrs.clampLo, p.attrs.clampHi] : [-128, 127];
    const lo = Math.max(lo0, clip.attrs.lo);
    const hi = Math.min(hi0, clip.attrs.hi);
    if (!(lo <= hi)) continue;
    p.attrs = { ...p.attrs, activation: ACTIVATION_CLAMP, clampLo: lo, clampHi: hi };
    p.outputs = [clip.outputs[0]];
    dead.add(clip);
  }
  g.ops = g.ops.filter((o) => !dead.has(o));
  return removeDead(g);
}
