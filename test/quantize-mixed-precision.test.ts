// Automatic mixed precision: a project-built float model whose one layer has a
// wide activation range. In plain int8 its end-to-end error is large; with
// minSqnr that layer (and the one reading its wide output) stay float between
// QUANTIZE/DEQUANTIZE, the report says why, the model loads in qie, and the
// error drops.
import test from 'ava';
import { loadModel } from '../src';
import { quantizeFloatModel } from '../src/quant/ptq';
import { sensitiveMlp, uniformSamples } from './helpers/quant-models';

test('--min-sqnr keeps the wide-range layer in float and the error drops', async (t) => {
  const floatBytes = sensitiveMlp();
  const samples = uniformSamples(200, 8, 3);
  const plain = await quantizeFloatModel(floatBytes, samples);
  const mixed = await quantizeFloatModel(floatBytes, samples, { minSqnr: 30 });
  t.log(`plain int8: mean abs error ${plain.report.endToEnd.meanAbsError.toPrecision(3)}, top-1 ${plain.report.endToEnd.top1Agreement}`);
  t.log(`min-sqnr 30: mean abs error ${mixed.report.endToEnd.meanAbsError.toPrecision(3)}, top-1 ${mixed.report.endToEnd.top1Agreement}`);
  t.log(mixed.report.keptFloat.map((k) => `${k.op}: ${k.reason}`).join('\n'));

  t.true(plain.decisions.every((d) => d.precision === 'int8'));
  const wide = mixed.decisions.find((d) => d.output === 'wide/out')!;
  t.is(wide.precision, 'float32');
  t.regex(wide.reason!, /SQNR .* dB < --min-sqnr 30 dB/);
  t.is(mixed.decisions.find((d) => d.output === 'dense_a/relu')!.precision, 'int8', 'the well-behaved layer stays int8');
  t.true(mixed.report.keptFloat.some((k) => k.op === wide.name));
  t.true(mixed.report.endToEnd.meanAbsError * 10 < plain.report.endToEnd.meanAbsError);
  t.true(mixed.report.endToEnd.top1Agreement > plain.report.endToEnd.top1Agreement);

  // the mixed model loads and runs in qie: int8 first layer, a float island, int8 edges
  const m = await loadModel(mixed.tflite);
  t.teardown(() => m.dispose());
  const kinds = m.ops.map((o) => `${o.kind}:${o.precision}`);
  t.deepEqual(kinds, ['FULLY_CONNECTED:int8', 'DEQUANTIZE:float32', 'FULLY_CONNECTED:float32', 'FULLY_CONNECTED:float32', 'QUANTIZE:int8']);
  t.is(m.inputs[0].dtype, 'int8');
  const [y] = await m.run([new Int8Array(8)]);
  t.is(y.length, 4);
});

test('a float layer still below the threshold hands the blame to the int8 layer that feeds it', async (t) => {
  // at 20 dB "wide" itself passes (24.5 dB) but dense_b stays bad even in float:
  // the int8 output of "wide" is what costs the accuracy, so it goes float too
  const r = await quantizeFloatModel(sensitiveMlp(), uniformSamples(200, 8, 3), { minSqnr: 20 });
  const wide = r.decisions.find((d) => d.output === 'wide/out')!;
  t.is(wide.precision, 'float32');
  t.regex(wide.reason!, /int8 wide\/out leaves FULLY_CONNECTED #2/);
  t.is(r.decisions.find((d) => d.output === 'y')!.precision, 'float32');
});

test('an unreachable threshold ends with every layer float, limited only by the int8 model input', async (t) => {
  const r = await quantizeFloatModel(sensitiveMlp(), uniformSamples(200, 8, 3), { minSqnr: 200 });
  t.true(r.decisions.every((d) => d.precision === 'float32'));
  const m = await loadModel(r.tflite);
  t.teardown(() => m.dispose());
  t.deepEqual(m.ops.map((o) => o.kind), ['DEQUANTIZE', 'FULLY_CONNECTED', 'FULLY_CONNECTED', 'FULLY_CONNECTED', 'QUANTIZE']);
  // with float model inputs and outputs nothing is quantized at all: exact
  const f = await quantizeFloatModel(sensitiveMlp(), uniformSamples(200, 8, 3), { minSqnr: 200, io: 'float' });
  t.true(f.report.layers.every((l) => l.sqnrDb === null));
  t.is(f.report.endToEnd.maxAbsError, 0);
});
