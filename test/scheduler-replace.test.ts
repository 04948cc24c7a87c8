// Scheduler.replace's safety hooks used by the thermal governor and OTA: observers
// hear of every swap (name, new slot, replaced slot, caller), a disposed slot is
// marked and refused, and a refused swap leaves the installed slot serving.
import test from 'ava';
import { workloadModel } from '../firmware-tools/thermal/workload-model';
import { JobResult, ModelSlot, Scheduler } from '../src/daemon/scheduler';
import { loadModel } from '../src/engine/model';

const job = (results: JobResult[]) => ({ inputs: [new Uint8Array(new Float32Array(16).buffer)], done: (r: JobResult) => results.push(r) });

test('onReplace sees each swap with its caller; disposed slots are marked and never installed', async (t) => {
  const bytes = workloadModel(2, 16);
  const a = new ModelSlot({ name: 'm', version: '1', topK: 3, queueSize: 8, models: [await loadModel(bytes)], fallbackSource: '/nowhere/light.tflite' });
  const b = new ModelSlot({ name: 'm', version: '2', topK: 3, queueSize: 8, models: [await loadModel(bytes)] });
  const c = new ModelSlot({ name: 'm', version: '3', topK: 3, queueSize: 8, models: [await loadModel(bytes)] });
  t.is(a.fallbackSource, '/nowhere/light.tflite');
  t.is(b.fallbackSource, undefined);
  const sched = new Scheduler(1);
  sched.install([a]);
  const seen: [string, string, string | undefined, string | undefined][] = [];
  const off = sched.onReplace((name, next, old, by) => seen.push([name, next.identity.version, old?.identity.version, by]));
  // an observer that throws does not undo the swap
  const offBad = sched.onReplace(() => {
    throw new Error('observer bug');
  });

  t.is(sched.replace(b, { keepOld: true, by: 'thermal' }), a);
  t.false(a.disposed, 'keepOld keeps it usable');
  t.is(sched.replace(c, { by: 'ota' }), b);
  t.true(b.disposed, 'replaced without keepOld: disposed');
  t.deepEqual(seen, [
    ['m', '2', '1', 'thermal'],
    ['m', '3', '2', 'ota'],
  ]);

  // the disposed slot is refused and the installed one keeps serving
  t.throws(() => sched.replace(b, { by: 'thermal' }), { message: /refusing to install a disposed slot of 'm' \(2\)/ });
  t.is(sched.get('m'), c);
  t.is(seen.length, 2, 'a refused swap is not reported');
  const results: JobResult[] = [];
  sched.submit('m', job(results));
  await sched.idle();
  t.true(results[0].ok);
  t.is(results[0].ok && results[0].model.version, '3');

  off();
  offBad();
  t.is(sched.replace(a, { keepOld: true }), c);
  t.is(seen.length, 2, 'removed observers hear nothing');
  sched.disposeAll();
  c.dispose();
  t.true(a.disposed && c.disposed);
});
