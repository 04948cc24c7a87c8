// Graph comparisons for the quantization tests.
import type { ExecutionContext } from 'ava';
import { Graph, Tensor } from '../../src/model/ir';

export function byName(g: Graph): Map<string, Tensor> {
  return new Map(g.tensors.map((t) => [t.name, t]));
}

export function sameGraph(t: ExecutionContext, written: Graph, reread: Graph): void {
  const back = byName(reread);
  for (const w of written.tensors) {
    const r = back.get(w.name);
    if (!r) {
      t.fail(`tensor ${w.name} missing after re-import`);
      continue;
    }
    t.is(r.dtype, w.dtype, w.name);
    t.deepEqual(r.shape, w.shape, w.name);
    t.deepEqual(r.quant?.scales, w.quant?.scales, `${w.name} scales`);
    t.deepEqual(r.quant?.zeroPoints, w.quant?.zeroPoints, `${w.name} zero points`);
    if (w.quant && w.quant.scales.length > 1) t.is(r.quant!.axis, w.quant.axis, `${w.name} axis`);
    t.deepEqual(r.data ? Buffer.from(r.data) : undefined, w.data ? Buffer.from(w.data) : undefined, `${w.name} data`);
  }
  t.deepEqual(
    reread.ops.map((o) => [o.kind, o.attrs, o.inputs.map((i) => (i < 0 ? '' : reread.tensors[i].name)), o.outputs.map((i) => reread.tensors[i].name)]),
    written.ops.map((o) => [o.kind, o.attrs, o.inputs.map((i) => (i < 0 ? '' : written.tensors[i].name)), o.outputs.map((i) => written.tensors[i].name)]),
  );
  t.deepEqual(reread.inputs.map((i) => reread.tensors[i].name), written.inputs.map((i) => written.tensors[i].name));
  t.deepEqual(reread.outputs.map((i) => reread.tensors[i].name), written.outputs.map((i) => written.tensors[i].name));
}

