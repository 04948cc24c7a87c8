// The float path: magic_wand (../shared, float32 [1, 128, 3, 1] input) fed through
// a serial source with float32 samples in COBS frames. The golden recordings
// written into the PTY come out on MQTT as exactly what the model gives in
// process, with the recorded gesture on top.
import test from 'ava';
import { loadModel } from '../src/engine/model';
import { encodeStream } from '../src/sources/encode';
import { modelPath, readCase, sharedDir } from './helpers/shared';
import { serialSkipReason, startRig, waitForResults, waitForStatus } from './helpers/serial-rig';

const LABELS = ['wing', 'ring', 'slope', 'negative'];

test('magic_wand on the float path: golden gestures over a PTY give the in-process outputs', async (t) => {
  const skip = serialSkipReason() ?? (sharedDir() ? undefined : '../shared is absent');
  if (skip) {
    t.log(`NOTICE: ${skip}: magic_wand serial test skipped`);
    return t.pass();
  }
  const framing = { kind: 'cobs', maxFrameBytes: 64 } as const;
  const rig = await startRig([{ name: 'wand', model: 'magic_wand', framing, sample: { format: 'float32', channels: 3 }, window: { size: 128 }, maxPendingWindows: 8 }], {
    models: [{ name: 'magic_wand', path: modelPath('magic_wand'), labels: LABELS, topK: 4 }],
  });
  t.teardown(() => rig.dispose());
  await waitForStatus(rig, (s) => s.wand?.state === 'open');
  const cases = ['ring', 'slope'].map((c) => readCase('magic_wand', c));
  const model = await loadModel(modelPath('magic_wand'));
  t.teardown(() => model.dispose());
  t.is(model.inputs[0].dtype, 'float32');
  for (const c of cases) {
    const values = new Float32Array(c.inputs[0].data.buffer.slice(c.inputs[0].data.byteOffset, c.inputs[0].data.byteOffset + c.inputs[0].data.byteLength));
    rig.ptys.wand.write(encodeStream(framing, 'float32', 3, values, 2));
  }
  const got = await waitForResults(rig, 'wand', cases.length);
  for (let i = 0; i < cases.length; i++) {
    const [out] = await model.run([cases[i].inputs[0].data]);
    t.deepEqual(got[i].values, Array.from(out as Float32Array, (v) => Math.round(v * 1e6) / 1e6), cases[i].name);
    t.is(got[i].top![0].label, cases[i].name);
  }
});
