// The demo model the project makes itself (npm start): a valid int8 TFLite model
// that qie loads, classifies well, and agrees with the float model it came from.
import test from 'ava';
import { argmax, loadModel, quantize } from '../src';
import { makeDemoModel } from '../firmware-tools/demo/model';
import { CLASSES, makeWindow } from '../firmware-tools/demo/synthetic';
import { seededRandom } from '../src/util/random';
import { forward } from '../firmware-tools/demo/train';

test('the demo model classifies fresh windows like its float original', async (t) => {
  const demo = makeDemoModel();
  const model = await loadModel(demo.tflite);
  t.teardown(() => model.dispose());
  t.deepEqual(model.ops.map((o) => o.kind), ['FULLY_CONNECTED', 'FULLY_CONNECTED', 'SOFTMAX']);
  t.is(model.inputs[0].dtype, 'int8');
  const { scale, zeroPoint } = model.inputs[0];
  const rand = seededRandom(5);
  let correct = 0, agree = 0;
  const n = 150;
  for (let i = 0; i < n; i++) {
    const truth = i % CLASSES.length;
    const w = makeWindow(truth, rand);
    const [p] = await model.run([quantize(w, { scale: scale!, zeroPoint: zeroPoint! })]);
    const best = argmax(p as Int8Array);
    correct += best === truth ? 1 : 0;
    agree += best === argmax(forward(demo.float, w).logits) ? 1 : 0;
  }
  t.log(`demo model: int8 accuracy ${correct}/${n}, agreement with float ${agree}/${n}`);
  t.true(correct / n >= 0.9);
  t.true(agree / n >= 0.95);
});

test('the demo model is the same bytes every time', (t) => {
  t.deepEqual(Buffer.from(makeDemoModel().tflite), Buffer.from(makeDemoModel().tflite));
});
