// The public TypeScript API: metadata, input checking, queueing, the event loop
// staying free during inference, dispose, quantize/dequantize.
import test from 'ava';
import { dequantize, loadModel, QieError, quantize } from '../src';
import { readCase, sharedDir } from './helpers/shared';

const shared = sharedDir();

test('quantize rounds half away from zero and saturates', (t) => {
  t.deepEqual(Array.from(quantize([0, 0.5, -0.5, 1.25, 1000, -1000], { scale: 0.5, zeroPoint: -1 })), [-1, 0, -2, 2, 127, -128]);
  t.deepEqual(Array.from(quantize([0.25, -0.25], { scale: 0.5, zeroPoint: 0 })), [1, -1]);
  t.deepEqual(Array.from(quantize([300], { scale: 1, zeroPoint: 0, dtype: 'uint8' })), [255]);
  t.deepEqual(Array.from(dequantize([-113, 113], { scale: 0.00390625, zeroPoint: -128 })), [0.05859375, 0.94140625]);
  t.throws(() => quantize([1], { scale: 0, zeroPoint: 0 }), { instanceOf: QieError });
});

test('loadModel refuses garbage with model_invalid', async (t) => {
  const err = await t.throwsAsync(loadModel(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), { instanceOf: QieError });
  t.is(err!.code, 'model_invalid');
  const missing = await t.throwsAsync(loadModel('/nonexistent/model.tflite'), { instanceOf: QieError });
  t.is(missing!.code, 'bad_input');
});

if (shared) {
  const person = `${shared}/models/person_detect/model.tflite`;

  test('metadata of person_detect', async (t) => {
    const m = await loadModel(person);
    t.teardown(() => m.dispose());
    t.is(m.inputs.length, 1);
    t.deepEqual(m.inputs[0].shape, [1, 96, 96, 1]);
    t.is(m.inputs[0].dtype, 'int8');
    t.is(m.inputs[0].zeroPoint, -1);
    t.true(Math.abs(m.inputs[0].scale! - 0.00784313772) < 1e-9);
    t.deepEqual(m.outputs[0].shape, [1, 2]);
    t.is(m.outputs[0].zeroPoint, -128);
    t.true(m.arenaBytes > 0);
    t.is(m.macs, 7_157_888);
  });

  test('inputs are checked: count, type, size', async (t) => {
    const m = await loadModel(person);
    t.teardown(() => m.dispose());
    t.is(t.throws(() => m.run([]), { instanceOf: QieError })!.code, 'bad_input');
    t.is(t.throws(() => m.run([new Float32Array(9216)]), { instanceOf: QieError })!.code, 'bad_input');
    t.is(t.throws(() => m.run([new Int8Array(9215)]), { instanceOf: QieError })!.code, 'bad_input');
    t.is(t.throws(() => m.run([new Int8Array(9216), new Int8Array(1)]), { instanceOf: QieError })!.code, 'bad_input');
    // still serves after refusing
    const [out] = await m.run([new Int8Array(9216)]);
    t.is(out.length, 2);
  });

  test('runs are queued and give the same bytes; the event loop keeps turning', async (t) => {
    // the reference kernels: runs long enough for many timer ticks on any CPU
    const mobilenet = await loadModel(`${shared}/models/mobilenet_v2/model.tflite`, { kernels: 'ref' });
    t.teardown(() => mobilenet.dispose());
    const data = readCase('mobilenet_v2', 'random_0');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = Date.now();
    const results = await Promise.all([0, 1, 2].map(() => mobilenet.run([data.inputs[0].data])));
    const elapsed = Date.now() - started;
    clearInterval(timer);
    t.log(`3 mobilenet_v2 runs took ${elapsed} ms; the event loop ticked ${ticks} times meanwhile`);
    t.true(ticks >= 5, 'timers fired while inference ran');
    t.deepEqual(Array.from(results[1][0] as Int8Array), Array.from(results[0][0] as Int8Array));
    t.deepEqual(Buffer.from(results[2][0].buffer), data.outputs[0].data);
  });

  test('dispose: later runs fail with disposed, pending runs finish', async (t) => {
    const m = await loadModel(person);
    const pending = m.run([new Int8Array(9216)]);
    m.dispose();
    const [out] = await pending;
    t.is(out.length, 2);
    t.is(t.throws(() => m.run([new Int8Array(9216)]), { instanceOf: QieError })!.code, 'disposed');
    m.dispose(); // twice is harmless
  });

  test('options are validated', async (t) => {
    t.is((await t.throwsAsync(loadModel(person, { kernels: 'gpu' }), { instanceOf: QieError }))!.code, 'bad_option');
    t.is((await t.throwsAsync(loadModel(person, { threads: 0 }), { instanceOf: QieError }))!.code, 'bad_option');
    const m = await loadModel(person, { kernels: 'ref', threads: 2 });
    t.is(m.ops[0].kernel.endsWith('__ref'), true);
    m.dispose();
  });

  test('resetState on a stateless model is harmless', async (t) => {
    const m = await loadModel(person);
    t.teardown(() => m.dispose());
    const before = await m.run([new Int8Array(9216)]);
    await m.resetState();
    const after = await m.run([new Int8Array(9216)]);
    t.deepEqual(Array.from(after[0] as Int8Array), Array.from(before[0] as Int8Array));
  });

  test.serial('an idle model costs no CPU: the runner and kernel threads spin only briefly after a run', async (t) => {
    const m = await loadModel(person, { threads: 2 });
    t.teardown(() => m.dispose());
    for (let i = 0; i < 20; i++) await m.run([new Int8Array(9216)]);
    await new Promise((r) => setTimeout(r, 50)); // past the 0.2 ms spins
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 300));
    const used = process.cpuUsage(before);
    const ms = (used.user + used.system) / 1000;
    t.log(`CPU used while idle for 300 ms: ${ms.toFixed(1)} ms`);
    t.true(ms < 60, `${ms} ms of CPU while idle`); // a spinning thread would use ~300 ms
  });

  test('lastRunMs and profile: the engine time of a run, and the median of each op', async (t) => {
    const m = await loadModel(person);
    t.teardown(() => m.dispose());
    t.is(m.lastRunMs, 0);
    const data = readCase('person_detect', 'person_tflm_test');
    const [golden] = await m.run([data.inputs[0].data]);
    t.true(m.lastRunMs > 0 && m.lastRunMs < 10_000);
    const opMs = await m.profile(3);
    t.is(opMs.length, m.ops.length);
    t.true(opMs.every((ms) => Number.isFinite(ms) && ms >= 0));
    t.true(opMs.filter((ms, i) => m.ops[i].macs > 0 && ms > 0).length > 0);
    // a profile runs the model on what the inputs held: the next run is unchanged
    const [again] = await m.run([data.inputs[0].data]);
    t.deepEqual(Buffer.from(again.buffer, again.byteOffset, again.byteLength), Buffer.from(golden.buffer, golden.byteOffset, golden.byteLength));
    for (const bad of [0, 1.5, 100_001]) t.is((await t.throwsAsync(m.profile(bad), { instanceOf: QieError }))!.code, 'bad_option');
    m.dispose();
    t.is(m.lastRunMs, 0);
    t.is((await t.throwsAsync(m.profile(1), { instanceOf: QieError }))!.code, 'disposed');
  });
}
