// TFLite int8 parameter math of the quantizer, by hand, and the expose-tensors
// compile option the calibration runs on.
import test from 'ava';
import { loadModel } from '../src';
import { compileModel, exposeTensors } from '../src/model/compile';
import { writePlan } from '../src/model/plan';
import { Model } from '../src/engine/model';
import { activationParams, biasMinScales, quantizeBias, symmetricWeights } from '../src/quant/params';
import { smallCnn, uniformSamples } from './helpers/quant-models';

test('activation parameters: 0 exact, zero and one-sided ranges', (t) => {
  // [0, 2.55]: scale 0.01, 0 at -128
  t.deepEqual(activationParams({ lo: 0, hi: 2.55 }), { scale: Math.fround(0.01), zeroPoint: -128 });
  t.deepEqual(activationParams({ lo: -2.55, hi: 0 }), { scale: Math.fround(0.01), zeroPoint: 127 });
  // a positive-only range is widened to include 0
  t.deepEqual(activationParams({ lo: 1, hi: 2.55 }), { scale: Math.fround(0.01), zeroPoint: -128 });
  // [-1, 3]: scale 4/255, zero point round(-128 + 63.75) = -64
  t.deepEqual(activationParams({ lo: -1, hi: 3 }), { scale: Math.fround(4 / 255), zeroPoint: -64 });
  // always 0: any positive scale; 0 maps to the zero point
  const z = activationParams({ lo: 0, hi: 0 });
  t.true(z.scale > 0);
  t.is(z.zeroPoint, -128);
  t.false(Object.is(activationParams({ lo: -1.275, hi: 1.275 }).zeroPoint, -0));
});

test('symmetric weights per channel and biases at input x weight scale', (t) => {
  // 2 channels on axis 0, 2 values each: max |w| 127 and 63.5 -> scales 1 and 0.5
  const w = symmetricWeights(Float32Array.from([127, -63.5, 63.5, 31.75]), [2, 2], 0);
  t.deepEqual(w.quant.scales, [1, 0.5]);
  t.deepEqual(Array.from(w.data), [127, -64, 127, 64]); // -63.5 -> -64, 63.5 -> 64: ties away from zero
  const b = quantizeBias(Float32Array.from([50, -25]), 0.5, w.quant.scales);
  t.deepEqual(b.quant.scales, [0.5, 0.25]);
  t.deepEqual(Array.from(b.data), [100, -100]);
  // a bias too large for int32 at the natural scale raises that channel's weight scale
  const min = biasMinScales(Float32Array.from([1e9, 0]), 1e-3, 2)!;
  const raised = symmetricWeights(Float32Array.from([1, 1]), [2, 1], 0, min);
  t.true(raised.quant.scales[0] > 1 / 127);
  t.is(raised.quant.scales[1], Math.fround(1 / 127));
  const rb = quantizeBias(Float32Array.from([1e9, 0]), 1e-3, raised.quant.scales);
  t.true(Math.abs(rb.data[0]) < 2 ** 31 - 1);
});

test('exposeTensors: every activation becomes an output after the model own, results unchanged', async (t) => {
  const bytes = smallCnn();
  const plain = compileModel(bytes).graph;
  const exposed = compileModel(bytes, { exposeTensors: true }).graph;
  t.deepEqual(exposed.outputs.slice(0, plain.outputs.length), plain.outputs);
  const activations = plain.ops.flatMap((o) => o.outputs).filter((i) => !plain.outputs.includes(i));
  t.deepEqual(exposed.outputs.slice(plain.outputs.length), activations);
  t.deepEqual(exposeTensors(plain), exposed);
  const a = await loadModel(bytes);
  const b = new Model(exposed, writePlan(exposed), 'tflite', {});
  t.teardown(() => {
    a.dispose();
    b.dispose();
  });
  const [x] = uniformSamples(1, 128, 2);
  const [ya] = await a.run([x]);
  const yb = await b.run([x]);
  t.is(yb.length, 1 + activations.length);
  t.deepEqual(Array.from(yb[0] as Float32Array), Array.from(ya as Float32Array));
});
