// compareGraphs, the engine of `qie-fleet compare`: a model against itself is exact;
// layers are matched by tensor name, or by position when no name matches.
import test from 'ava';
import { compileModel } from '../src/model/compile';
import { compareGraphs } from '../src/quant/compare';
import { quantizeFloatModel } from '../src/quant/ptq';
import { smallCnn, uniformSamples } from './helpers/quant-models';

test('a model against itself: every layer exact, full agreement, no error', async (t) => {
  const g = compileModel(smallCnn()).graph;
  const c = await compareGraphs(g, g, uniformSamples(5, 128, 1));
  t.is(c.layers.length, g.ops.length);
  t.true(c.layers.every((l) => l.sqnrDb === null && l.maxAbsError === 0));
  t.deepEqual(c.endToEnd, { samples: 5, top1Agreement: 1, maxAbsError: 0, meanAbsError: 0 });
});

test('by name, and by position when the names differ', async (t) => {
  const samples = uniformSamples(30, 128, 2);
  const r = await quantizeFloatModel(smallCnn(), samples);
  const byName = await compareGraphs(r.floatGraph, r.graph, samples);
  const renamed = { ...r.graph, tensors: r.graph.tensors.map((x, i) => ({ ...x, name: `t${i}` })) };
  const byPosition = await compareGraphs(r.floatGraph, renamed, samples);
  t.is(byName.layers.length, 6);
  t.deepEqual(
    byPosition.layers.map((l) => [l.output, l.precision, l.sqnrDb]),
    byName.layers.map((l) => [l.output, l.precision, l.sqnrDb]),
  );
  t.true(byName.layers.every((l) => l.precision === 'int8' && l.sqnrDb! > 30));
});
