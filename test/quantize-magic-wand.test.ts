// Acceptance: magic_wand (float32) quantized with synthetic gesture windows the
// test generates. The int8 model loads in qie, runs conv and fully connected
// layers on int8 kernels, and gives the float model's answer on the real ring
// and slope recordings and on >= 95% of fresh generated windows.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { argmax, dequantize, loadModel, quantize } from '../src';
import { formatReport } from '../src/quant/ptq';
import { quantizeGestureModel } from '../firmware-tools/gesture-model';
import { GESTURES, makeGestureSet } from '../firmware-tools/gestures/synthetic';
import { modelPath, readCase, sharedDir } from './helpers/shared';

const available = !!sharedDir() && existsSync(modelPath('magic_wand'));

if (!available) {
  test('magic_wand quantization (skipped)', (t) => {
    t.log('NOTICE: ../shared/models/magic_wand is absent: skipped');
    t.pass();
  });
} else {
  test('magic_wand float -> int8: int8 kernels, same answers as the float model', async (t) => {
    const floatBytes = readFileSync(modelPath('magic_wand'));
    const result = await quantizeGestureModel(floatBytes, { windows: 400, seed: 1 });
    t.log(`report (held-back calibration windows):\n${formatReport(result.report)}`);

    const int8 = await loadModel(result.tflite);
    const float = await loadModel(floatBytes);
    t.teardown(() => {
      int8.dispose();
      float.dispose();
    });
    // every op computes in int8; conv, depthwise and fully connected run qs8 kernels
    t.true(int8.ops.every((o) => o.precision === 'int8'), int8.ops.map((o) => `${o.kind}:${o.precision}`).join(' '));
    for (const o of int8.ops.filter((o) => /CONV|FULLY/.test(o.kind))) t.regex(o.kernel, /^qs8_/, `${o.kind} runs ${o.kernel}`);
    t.is(int8.inputs[0].dtype, 'int8');
    t.is(int8.outputs[0].dtype, 'int8');

    const inQ = { scale: int8.inputs[0].scale!, zeroPoint: int8.inputs[0].zeroPoint! };
    const outQ = { scale: int8.outputs[0].scale!, zeroPoint: int8.outputs[0].zeroPoint! };
    const classify = async (w: Float32Array) => {
      const [pf] = await float.run([w]);
      const [pq] = await int8.run([quantize(w, inQ)]);
      return { float: argmax(pf as Float32Array), int8: argmax(dequantize(pq as Int8Array, outQ)) };
    };

    for (const [name, expected] of [['ring', 1], ['slope', 2]] as const) {
      const c = readCase('magic_wand', name);
      const w = new Float32Array(c.inputs[0].data.buffer.slice(c.inputs[0].data.byteOffset, c.inputs[0].data.byteOffset + c.inputs[0].data.length));
      const got = await classify(w);
      t.is(got.float, expected, `float model on ${name}`);
      t.is(got.int8, expected, `int8 model on ${name} (${GESTURES[got.int8]})`);
    }

    const fresh = makeGestureSet(400, 77).windows;
    let agree = 0;
    for (const w of fresh) {
      const got = await classify(w);
      if (got.float === got.int8) agree++;
    }
    t.log(`fresh generated windows: int8 top-1 agrees with float on ${agree}/${fresh.length} (${((100 * agree) / fresh.length).toFixed(1)}%)`);
    t.true(agree / fresh.length >= 0.95);
  });
}
