// The int8 rules per op on a project-built network with branches and joins:
// joined tensors share one quantization (their producers write it directly),
// LOGISTIC/TANH outputs are fixed, a tensor that is always 0 still gets a valid
// scale, a fixed-output tensor entering a join is requantized int8 -> int8, and
// everything runs on int8 kernels close to the float model.
import test from 'ava';
import { loadModel } from '../src';
import { compileModel } from '../src/model/compile';
import { buildTflite, f32, TflOperatorSpec, TflTensorSpec } from '../src/model/export/tflite-writer';
import { quantizeFloatModel } from '../src/quant/ptq';
import { byName, sameGraph } from './helpers/quant-compare';
import { branchyNet, uniformSamples } from './helpers/quant-models';

test('branches and joins: shared, fixed and zero-range parameters; int8 kernels throughout', async (t) => {
  const r = await quantizeFloatModel(branchyNet(), uniformSamples(100, 32, 4));
  sameGraph(t, r.graph, compileModel(r.tflite).graph);
  const q = byName(r.graph);
  const quant = (n: string) => q.get(n)!.quant!;
  for (const n of ['a', 'b', 'avg', 'flat']) t.deepEqual(quant(n), quant('cat'), n);
  for (const n of ['gate', 'dead']) t.deepEqual(quant(n), quant('out'), n);
  t.deepEqual([quant('sig').scales, quant('sig').zeroPoints], [[1 / 256], [-128]]);
  t.deepEqual([quant('tanh').scales, quant('tanh').zeroPoints], [[1 / 128], [0]]);
  // 'dead' is 0 on every sample; on its own it would need a positive scale with 0 exact
  t.true(quant('dead').scales[0] > 0);
  t.is(r.report.layers.find((l) => l.output === 'dead')!.sqnrDb, null, 'always exactly 0');

  const m = await loadModel(r.tflite);
  t.teardown(() => m.dispose());
  t.false(m.ops.some((o) => o.kind === 'QUANTIZE' || o.kind === 'DEQUANTIZE'), 'no conversions needed');
  for (const o of m.ops) t.regex(o.kernel, /^(qs8_|copy_)/, `${o.kind} runs ${o.kernel}`);
  t.true(r.report.endToEnd.maxAbsError < 0.05, `max abs error ${r.report.endToEnd.maxAbsError}`);
  t.true(r.report.layers.every((l) => l.sqnrDb === null || l.sqnrDb > 25), r.report.layers.map((l) => `${l.output} ${l.sqnrDb}`).join(', '));
});

test('a fixed-output tensor joining others is requantized int8 -> int8', async (t) => {
  // out = concat(logistic(x), x): the logistic output is 1/256, -128; x spans [-4, 4]
  const model = buildTflite({
    tensors: [
      { name: 'x', type: 'float32', shape: [1, 4] },
      { name: 'sig', type: 'float32', shape: [1, 4] },
      { name: 'out', type: 'float32', shape: [1, 8] },
    ],
    operators: [
      { op: 'LOGISTIC', inputs: [0], outputs: [1] },
      { op: 'CONCATENATION', inputs: [1, 0], outputs: [2], options: { axis: 1 } },
    ],
    inputs: [0],
    outputs: [2],
  });
  const r = await quantizeFloatModel(model, uniformSamples(50, 4, 8, 4));
  const m = await loadModel(r.tflite);
  t.teardown(() => m.dispose());
  t.deepEqual(m.ops.map((o) => o.kernel.split('__')[0]), ['qs8_logistic', 'qs8_qs8_requantize', 'copy_concat']);
  const q = byName(r.graph);
  t.deepEqual(q.get('sig/requantized')!.quant, q.get('out')!.quant);
  t.deepEqual(q.get('x')!.quant, q.get('out')!.quant, 'the model input writes the shared parameters directly');
  t.true(r.report.endToEnd.maxAbsError <= q.get('out')!.quant!.scales[0] * 1.5);
});

test('more intermediate tensors than the runtime has outputs: calibrated in slices, every layer measured', async (t) => {
  // x -> 70 x (ADD 0.1) -> y: 69 intermediates plus the output, over the 64-output limit
  const n = 70;
  const tensors: TflTensorSpec[] = [{ name: 'x', type: 'float32', shape: [1, 4] }, { name: 'c', type: 'float32', shape: [1], data: f32([0.1]) }];
  const operators: TflOperatorSpec[] = [];
  for (let k = 0; k < n; k++) {
    tensors.push({ name: `s${k}`, type: 'float32', shape: [1, 4] });
    operators.push({ op: 'ADD', inputs: [k === 0 ? 0 : tensors.length - 2, 1], outputs: [tensors.length - 1] });
  }
  const model = buildTflite({ tensors, operators, inputs: [0], outputs: [tensors.length - 1] });
  const r = await quantizeFloatModel(model, uniformSamples(20, 4, 6));
  t.is(r.report.layers.length, n);
  t.true(r.report.layers.every((l) => l.precision === 'int8' && l.sqnrDb !== null && l.sqnrDb > 30), r.report.layers.map((l) => l.sqnrDb).join(' '));
  // the last add's range reflects 70 additions of 0.1 to inputs in [-1, 1]
  const last = r.graph.tensors.find((x) => x.name === `s${n - 1}`)!.quant!;
  const hi = last.scales[0] * (127 - last.zeroPoints[0]);
  t.true(Math.abs(hi - 8) < 0.1, `top of the last range ${hi}`);
});

test('an op without an int8 rule (SVDF, with recurrent state) stays a float island and says why', async (t) => {
  const m = (n: number, s: number, seed: number) => f32(Array.from(uniformSamples(1, n, seed, s)[0]));
  const model = buildTflite({
    tensors: [
      { name: 'x', type: 'float32', shape: [1, 8] },
      { name: 'a/w', type: 'float32', shape: [6, 8], data: m(48, 0.5, 1) },
      { name: 'a/b', type: 'float32', shape: [6], data: m(6, 0.1, 2) },
      { name: 'a', type: 'float32', shape: [1, 6] },
      { name: 'svdf/wf', type: 'float32', shape: [4, 6], data: m(24, 0.5, 3) },
      { name: 'svdf/wt', type: 'float32', shape: [4, 3], data: m(12, 0.5, 4) },
      { name: 'svdf/b', type: 'float32', shape: [4], data: m(4, 0.1, 5) },
      { name: 'svdf/state', type: 'float32', shape: [1, 12], variable: true },
      { name: 'svdf', type: 'float32', shape: [1, 4] },
      { name: 'b/w', type: 'float32', shape: [3, 4], data: m(12, 0.5, 6) },
      { name: 'b/b', type: 'float32', shape: [3], data: m(3, 0.1, 7) },
      { name: 'y', type: 'float32', shape: [1, 3] },
    ],
    operators: [
      { op: 'FULLY_CONNECTED', inputs: [0, 1, 2], outputs: [3], options: { activation: 'RELU' } },
      { op: 'SVDF', inputs: [3, 4, 5, 6, 7], outputs: [8], options: { rank: 1, activation: 'RELU' } },
      { op: 'FULLY_CONNECTED', inputs: [8, 9, 10], outputs: [11] },
    ],
    inputs: [0],
    outputs: [11],
  });
  const r = await quantizeFloatModel(model, uniformSamples(50, 8, 9));
  t.deepEqual(r.decisions.map((d) => [d.kind, d.precision, d.reason]), [
    ['FULLY_CONNECTED', 'int8', undefined],
    ['SVDF', 'float32', 'no int8 rule for SVDF in the quantizer'],
    ['FULLY_CONNECTED', 'int8', undefined],
  ]);
  const q = await loadModel(r.tflite);
  t.teardown(() => q.dispose());
  t.deepEqual(q.ops.map((o) => `${o.kind}:${o.precision}`), ['FULLY_CONNECTED:int8', 'DEQUANTIZE:float32', 'SVDF:float32', 'QUANTIZE:int8', 'FULLY_CONNECTED:int8']);
  t.true(r.report.layers.every((l) => l.sqnrDb === null || l.sqnrDb > 15), r.report.layers.map((l) => `${l.output} ${l.sqnrDb}`).join(', '));
});
