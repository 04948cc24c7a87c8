// The scheduler's memory budget (issue 16, finding 7): the input bytes held by
// queued and running requests together never pass maxQueuedBytes; a request that
// would pass it is answered busy at once; bytes come back when a request is
// answered from the queue or its run ends (not before: the engine reads them).
import test from 'ava';
import type { Model, TensorMeta } from '../src/engine/model';
import { JobResult, ModelSlot, Scheduler } from '../src/daemon/scheduler';

const IN: TensorMeta = { name: 'x', dtype: 'int8', shape: [1, 1000], scale: 1, zeroPoint: 0, bytes: 1000 };

function heldModel() {
  const pending: (() => void)[] = [];
  const model = {
    inputs: [IN],
    outputs: [IN],
    ops: [],
    run: () => new Promise((resolve) => pending.push(() => resolve([new Int8Array(1000)]))),
    dispose: () => undefined,
  } as unknown as Model;
  return { model, release: () => pending.shift()?.() };
}

const tick = () => new Promise((r) => setImmediate(r));

test('scheduler: held input bytes stay within the budget; busy past it; released when answered or run', async (t) => {
  const m = heldModel();
  const s = new Scheduler(1, 3500);
  s.install([new ModelSlot({ name: 'm', version: '1', topK: 1, queueSize: 100, models: [m.model] })]);
  const results: string[] = [];
  const job = (k: number, deadlineAt?: number) => ({ inputs: [new Uint8Array(1000)], deadlineAt, done: (r: JobResult) => results.push(`${k}:${r.ok ? 'ok' : r.error.code}`) });
  s.submit('m', job(1)); // running
  s.submit('m', job(2)); // queued
  s.submit('m', job(3, performance.now() + 5)); // queued, expires
  t.is(s.memory.queuedBytes, 3000);
  const busy = t.throws(() => s.submit('m', job(4)));
  t.regex(busy!.message, /3000 bytes of inputs; 1000 more would pass maxQueuedBytes 3500/);
  t.is((busy as { code?: string }).code, 'busy');
  await new Promise((r) => setTimeout(r, 30));
  t.deepEqual(results, ['3:deadline_exceeded']);
  t.is(s.memory.queuedBytes, 2000, 'an expired queued request gives its bytes back');
  s.submit('m', job(5));
  t.is(s.memory.queuedBytes, 3000);
  m.release();
  await tick();
  t.is(s.memory.queuedBytes, 2000, 'a finished run gives its bytes back');
  m.release();
  await tick();
  m.release();
  await tick();
  await s.idle();
  t.is(s.memory.queuedBytes, 0);
  t.is(s.memory.peakQueuedBytes, 3000);
  t.deepEqual(results, ['3:deadline_exceeded', '1:ok', '2:ok', '5:ok']);
});

test('scheduler: a running request answered at its deadline keeps its bytes until the run ends', async (t) => {
  const m = heldModel();
  const s = new Scheduler(1, 1500);
  s.install([new ModelSlot({ name: 'm', version: '1', topK: 1, queueSize: 100, models: [m.model] })]);
  const results: string[] = [];
  s.submit('m', { inputs: [new Uint8Array(1000)], deadlineAt: performance.now() + 5, done: (r) => results.push(r.ok ? 'ok' : r.error.code) });
  await new Promise((r) => setTimeout(r, 30));
  t.deepEqual(results, ['deadline_exceeded']);
  t.is(s.memory.queuedBytes, 1000, 'the engine still reads the inputs');
  t.throws(() => s.submit('m', { inputs: [new Uint8Array(1000)], done: () => undefined }), { message: /maxQueuedBytes/ });
  m.release();
  await s.idle();
  t.is(s.memory.queuedBytes, 0);
});
