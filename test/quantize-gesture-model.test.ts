// The project's own gesture model (for the serial example): a perceptron trained on
// synthetic gesture windows, written as float TFLite in magic_wand's layout, and
// quantized by the toolchain. Needs nothing from ../shared.
import test from 'ava';
import { argmax, loadModel, quantize } from '../src';
import { formatReport } from '../src/quant/ptq';
import { makeGestureModel } from '../firmware-tools/gestures/model';
import { GESTURES, makeGestureSet } from '../firmware-tools/gestures/synthetic';

test('the project-made gesture model: int8 kernels, accurate, agrees with its float original', async (t) => {
  const g = await makeGestureModel();
  t.log(formatReport(g.int8.report));
  const float = await loadModel(g.float);
  const int8 = await loadModel(g.int8.tflite);
  t.teardown(() => {
    float.dispose();
    int8.dispose();
  });
  t.deepEqual(float.inputs[0].shape, [1, 128, 3, 1]);
  t.is(int8.inputs[0].dtype, 'int8');
  const kernels = int8.ops.map((o) => o.kernel);
  t.true([/^copy_reshape/, /^qs8_fc/, /^qs8_fc/, /^qs8_softmax/].every((re, i) => re.test(kernels[i])), kernels.join(', '));
  t.is(kernels.length, 4);
  const inQ = { scale: int8.inputs[0].scale!, zeroPoint: int8.inputs[0].zeroPoint! };
  const fresh = makeGestureSet(200, 77);
  let floatRight = 0, int8Right = 0, agree = 0;
  for (let i = 0; i < fresh.windows.length; i++) {
    const truth = GESTURES.indexOf(fresh.labels[i]);
    const [pf] = await float.run([fresh.windows[i]]);
    const [pq] = await int8.run([quantize(fresh.windows[i], inQ)]);
    const a = argmax(pf as Float32Array), b = argmax(pq as Int8Array);
    floatRight += a === truth ? 1 : 0;
    int8Right += b === truth ? 1 : 0;
    agree += a === b ? 1 : 0;
  }
  t.log(`fresh windows: float accuracy ${floatRight}/200, int8 accuracy ${int8Right}/200, agreement ${agree}/200`);
  t.true(floatRight / 200 >= 0.9);
  t.true(agree / 200 >= 0.95);
});
