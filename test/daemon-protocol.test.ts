// The daemon's pieces without a broker: request parsing (JSON and binary), reply
// formats, and the scheduler's bounded queues, deadlines, concurrency and reload.
import test from 'ava';
import type { Model, TensorMeta } from '../src/engine/model';
import { quantize } from '../src/engine/tensors';
import { decodeBinaryReply, encodeBinaryRequest } from '../src/daemon/binary';
import { errorReply, okReply, topK } from '../src/daemon/reply';
import { ReplyError } from '../src/daemon/reply-error';
import { parseRequest } from '../src/daemon/request';
import { JobResult, ModelSlot, Scheduler } from '../src/daemon/scheduler';
import { topicsFor } from '../src/daemon/topics';
import { parseConfig } from '../src/config/load';

const IN: TensorMeta = { name: 'x', dtype: 'int8', shape: [1, 4], scale: 0.5, zeroPoint: -3, bytes: 4 };
const IN16: TensorMeta = { name: 'y', dtype: 'int16', shape: [2], scale: 0.25, zeroPoint: 0, bytes: 4 };

const inputsOf = (payload: string | Buffer, metas: TensorMeta[] = [IN]) => {
  const r = parseRequest(Buffer.from(payload), 1 << 20);
  if (r.error) throw r.error;
  return r.request!.inputs(metas);
};
const codeOf = (payload: string | Buffer, metas: TensorMeta[] = [IN]) => {
  try {
    inputsOf(payload, metas);
    return 'ok';
  } catch (e) {
    return e instanceof ReplyError ? `${e.code}: ${e.message}` : `thrown ${(e as Error).message}`;
  }
};

test('JSON inputs: base64, integer arrays, float32 quantized with the input parameters', (t) => {
  const raw = Buffer.from([1, 2, 0xff, 0x80]);
  t.deepEqual(Buffer.from(inputsOf(JSON.stringify({ inputs: [{ dtype: 'int8', shape: [1, 4], data: raw.toString('base64') }] }))[0]), raw);
  t.deepEqual(Array.from(new Int8Array(inputsOf(JSON.stringify({ inputs: [{ dtype: 'int8', data: [1, -2, 127, -128] }] }))[0].buffer)), [1, -2, 127, -128]);
  const floats = [0.25, -1, 100, 0.74];
  const q = inputsOf(JSON.stringify({ inputs: [{ dtype: 'float32', data: floats }] }))[0];
  t.deepEqual(Array.from(new Int8Array(q.buffer, q.byteOffset, 4)), Array.from(quantize(floats, { scale: 0.5, zeroPoint: -3 })));
  const f32 = Buffer.from(new Float32Array(floats).buffer);
  const q2 = inputsOf(JSON.stringify({ inputs: [{ dtype: 'float32', data: f32.toString('base64') }] }))[0];
  t.deepEqual(Buffer.from(q2), Buffer.from(q));
  const i16 = inputsOf(JSON.stringify({ inputs: [{ dtype: 'int16', data: [-300, 300] }] }), [IN16])[0];
  t.deepEqual(Array.from(new Int16Array(i16.buffer.slice(i16.byteOffset, i16.byteOffset + 4))), [-300, 300]);
});

test('JSON inputs: every mismatch is a bad_request naming the input', (t) => {
  const bad = [
    JSON.stringify({ inputs: [{ dtype: 'int8', data: 'AAAAAAA=' }] }), // 5 bytes
    JSON.stringify({ inputs: [{ dtype: 'int8', data: 'AAA' }] }),
    JSON.stringify({ inputs: [{ dtype: 'int8', data: 'AA*A\n===' }] }),
    JSON.stringify({ inputs: [{ dtype: 'int8', data: [1, 2, 3] }] }),
    JSON.stringify({ inputs: [{ dtype: 'int8', data: [1, 2, 3, 1.5] }] }),
    JSON.stringify({ inputs: [{ dtype: 'int8', data: [1, 2, 3, '4'] }] }),
    JSON.stringify({ inputs: [{ dtype: 'uint8', data: 'AAAAAA' }] }),
    JSON.stringify({ inputs: [{ dtype: 'float32', data: [1, 2, 3, null] }] }),
    JSON.stringify({ inputs: [{ dtype: 'int8', shape: [4], data: 'AAAAAA==' }] }),
    JSON.stringify({ inputs: [{ dtype: 'int8', shape: [1e9, 1e9], data: 'AAAAAA==' }] }),
    JSON.stringify({ inputs: [{ dtype: 'int8', data: {} }] }),
    JSON.stringify({ inputs: [1] }),
    JSON.stringify({ inputs: [{}, {}] }),
  ];
  for (const p of bad) t.regex(codeOf(p), /^bad_request: /, p);
  t.regex(codeOf(JSON.stringify({ inputs: [{ dtype: 'int8', data: [1, 2, 3] }] })), /inputs\[0\] \(x\): expected 4 values/);
});

test('envelopes: the address survives a bad request; limits are enforced', (t) => {
  const r = parseRequest(Buffer.from(JSON.stringify({ id: 'a1', replyTo: 'r/t', deadlineMs: 'soon', inputs: [] })), 1 << 20);
  t.deepEqual(r.envelope, { format: 'json', id: 'a1', replyTo: 'r/t' });
  t.is(r.error?.code, 'bad_request');
  t.regex(parseRequest(Buffer.from(JSON.stringify({ replyTo: 'r/#', inputs: [] })), 1 << 20).error!.message, /replyTo/);
  t.regex(parseRequest(Buffer.alloc(2000, 0x20), 1000).error!.message, /exceeds maxPayloadBytes/);
  t.regex(parseRequest(Buffer.from('\u0000\u0001garbage'), 1000).error!.message, /neither JSON nor a qie binary request/);
  t.is(parseRequest(Buffer.from('"just a string"'), 1000).error!.code, 'bad_request');
  t.is(parseRequest(Buffer.from(JSON.stringify({ id: { x: 1 }, inputs: [] })), 1000).error!.code, 'bad_request');
});

test('binary requests and replies round-trip; short or oversized bodies are refused', (t) => {
  const req = encodeBinaryRequest(0xdeadbeef, [Buffer.from([1, 2, 3, 4])], { deadlineMs: 250, replyTo: 'replies/x' });
  const r = parseRequest(req, 1 << 20);
  t.deepEqual(r.envelope, { format: 'binary', id: 0xdeadbeef, replyTo: 'replies/x', deadlineMs: 250 });
  t.deepEqual(Buffer.from(r.request!.inputs([IN])[0]), Buffer.from([1, 2, 3, 4]));
  t.regex(codeOf(encodeBinaryRequest(1, [Buffer.from([1, 2, 3])])), /carries 3 input bytes; the model takes 4/);
  t.regex(codeOf(encodeBinaryRequest(1, [Buffer.alloc(5)])), /carries 5/);
  const truncated = parseRequest(req.subarray(0, 10), 1 << 20);
  t.is(truncated.error?.code, 'bad_request');
  t.is(truncated.envelope.id, 0xdeadbeef);
  const lying = Buffer.from(req);
  lying.writeUInt16LE(60000, 12);
  t.regex(parseRequest(lying, 1 << 20).error!.message, /runs past the payload/);

  const ok = decodeBinaryReply(okReply({ format: 'binary', id: 9 }, 'd', { name: 'm', version: '1', topK: 3 }, [IN], [new Int8Array([5, 6, 7, 8])], 1));
  t.is(ok.id, 9);
  t.is(ok.status, 0);
  t.deepEqual([...ok.outputs[0]], [5, 6, 7, 8]);
  const err = decodeBinaryReply(errorReply({ format: 'binary', id: 3 }, 'd', 'busy', 'queue full'));
  t.deepEqual(err, { id: 3, status: 3, outputs: [], message: 'queue full' });
});

test('JSON replies: raw bytes, dequantized values and top-k with labels', (t) => {
  const out: TensorMeta = { name: 'p', dtype: 'int8', shape: [1, 3], scale: 1 / 256, zeroPoint: -128, bytes: 3 };
  const doc = JSON.parse(okReply({ format: 'json', id: 'q' }, 'gw', { name: 'm', version: '7', labels: ['a', 'b', 'c'], topK: 2 }, [out], [new Int8Array([-128, 127, -64])], 2.5).toString());
  t.is(doc.id, 'q');
  t.deepEqual(doc.model, { name: 'm', version: '7' });
  t.deepEqual([...Buffer.from(doc.outputs[0].data, 'base64')], [0x80, 0x7f, 0xc0]);
  t.deepEqual(doc.outputs[0].values, [0, 255 / 256, 64 / 256]);
  t.deepEqual(doc.top.map((x: { label: string }) => x.label), ['b', 'c']);
  t.is(topK([1, 2], ['only one'], 3), undefined);
  t.deepEqual(JSON.parse(errorReply({ format: 'json', id: 5 }, 'gw', 'unknown_model', 'no').toString()), { id: 5, deviceId: 'gw', error: { code: 'unknown_model', message: 'no' } });
});

test('topics: direct, fleet and default reply topics', (t) => {
  const tp = topicsFor(parseConfig({ deviceId: 'gw', fleet: { group: 'g1' } }, '/'));
  t.is(tp.requests, 'qie/gw/infer/+');
  t.is(tp.fleetRequests, '$share/g1/qie/fleet/g1/infer/+');
  t.deepEqual(tp.match('qie/gw/infer/person'), { model: 'person', fleet: false });
  t.deepEqual(tp.match('qie/fleet/g1/infer/person'), { model: 'person', fleet: true });
  t.is(tp.match('qie/other/infer/person'), undefined);
  t.is(tp.defaultReply('m', true), 'qie/fleet/g1/reply/m');
  t.is(tp.defaultReply('m', false), 'qie/gw/reply/m');
});

/** A stand-in Model whose runs finish when the test says so. */
function fakeModel(log: string[], name: string) {
  const pending: (() => void)[] = [];
  let running = 0;
  let maxRunning = 0;
  const model = {
    inputs: [IN],
    outputs: [IN],
    ops: [],
    run: (inputs: ArrayBufferView[]) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`${name}:${(inputs[0] as Buffer)[0]}`);
      return new Promise((resolve) =>
        pending.push(() => {
          running--;
          resolve([new Int8Array(4)]);
        }),
      );
    },
    dispose: () => log.push(`${name}:disposed`),
  } as unknown as Model;
  return { model, release: () => pending.shift()?.(), get maxRunning() { return maxRunning; }, get pending() { return pending.length; } };
}

const slot = (name: string, models: Model[], queueSize: number) => new ModelSlot({ name, version: '1', topK: 3, queueSize, models });
const tick = () => new Promise((r) => setImmediate(r));

test('scheduler: FIFO per model, bounded queue answers busy, concurrency caps runs across models', async (t) => {
  const log: string[] = [];
  const a = fakeModel(log, 'a');
  const b = fakeModel(log, 'b');
  const s = new Scheduler(1);
  s.install([slot('a', [a.model], 2), slot('b', [b.model], 2)]);
  const results: string[] = [];
  const job = (k: number) => ({ inputs: [Buffer.from([k, 0, 0, 0])], done: (r: JobResult) => results.push(`${k}:${r.ok ? 'ok' : r.error.code}`) });
  s.submit('a', job(1)); // runs
  s.submit('a', job(2)); // queued
  s.submit('a', job(3)); // queued
  t.throws(() => s.submit('a', job(4)), { message: /queue of 'a' is full/ });
  s.submit('b', job(5)); // queued: concurrency 1
  t.throws(() => s.submit('c', job(6)), { message: /no model named 'c'/ });
  t.is(s.pending, 4);
  for (let i = 0; i < 4; i++) {
    a.release() ?? b.release();
    await tick();
    if (!a.pending) b.release();
    await tick();
  }
  await s.idle();
  t.deepEqual(results.sort(), ['1:ok', '2:ok', '3:ok', '5:ok']);
  t.deepEqual(log.filter((l) => l.startsWith('a:')), ['a:1', 'a:2', 'a:3']);
  t.is(a.maxRunning + b.maxRunning <= 2, true);
  t.is(Math.max(a.maxRunning, b.maxRunning), 1);
});

test('scheduler: a queued request past its deadline is answered deadline_exceeded at once, exactly once', async (t) => {
  const log: string[] = [];
  const a = fakeModel(log, 'a');
  const s = new Scheduler(1);
  s.install([slot('a', [a.model], 8)]);
  const results: string[] = [];
  s.submit('a', { inputs: [Buffer.alloc(4)], done: (r) => results.push(`first:${r.ok ? 'ok' : r.error.code}`) });
  s.submit('a', { inputs: [Buffer.alloc(4)], deadlineAt: performance.now() + 5, done: (r) => results.push(`second:${r.ok ? 'ok' : r.error.code}`) });
  await new Promise((r) => setTimeout(r, 30));
  t.deepEqual(results, ['second:deadline_exceeded']);
  a.release();
  await s.idle();
  t.deepEqual(results, ['second:deadline_exceeded', 'first:ok']);
  t.is(log.length, 1, 'the expired request never ran');
});

test('scheduler: reload moves queued requests to the new model; removed models answer unknown_model; close refuses', async (t) => {
  const log: string[] = [];
  const oldA = fakeModel(log, 'oldA');
  const gone = fakeModel(log, 'gone');
  const newA = fakeModel(log, 'newA');
  const s = new Scheduler(2);
  s.install([slot('a', [oldA.model], 8), slot('gone', [gone.model], 8)]);
  const results: string[] = [];
  const job = (tag: string) => ({ inputs: [Buffer.alloc(4)], done: (r: JobResult) => results.push(`${tag}:${r.ok ? 'ok' : r.error.code}`) });
  s.submit('a', job('a1')); // running on oldA
  s.submit('a', job('a2')); // queued
  s.submit('gone', job('g1')); // running
  s.submit('gone', job('g2')); // queued
  s.install([slot('a', [newA.model], 8)]);
  t.true(log.includes('oldA:disposed') && log.includes('gone:disposed'));
  t.deepEqual(results, ['g2:unknown_model']);
  await tick();
  t.is(newA.pending, 0, 'concurrency 2: both places are taken by the old runs');
  oldA.release();
  await tick();
  t.is(newA.pending, 1, 'a2 runs on the new model');
  gone.release();
  newA.release();
  await s.idle();
  t.deepEqual(results.sort(), ['a1:ok', 'a2:ok', 'g1:ok', 'g2:unknown_model']);
  s.close();
  t.throws(() => s.submit('a', job('late')), { message: /shutting down/ });
});

test('5,000 mutated requests (JSON and binary) parse or give a ReplyError, never anything else', (t) => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const seeds = [
    Buffer.from(JSON.stringify({ id: 'x', replyTo: 'a/b', deadlineMs: 10, inputs: [{ dtype: 'int8', shape: [1, 4], data: 'AQID/w==' }] })),
    Buffer.from(JSON.stringify({ inputs: [{ dtype: 'float32', data: [0.5, 1, -2, 3] }] })),
    encodeBinaryRequest(77, [Buffer.from([1, 2, 3, 4])], { replyTo: 'r/x', deadlineMs: 5 }),
  ];
  const outcomes = { ok: 0, refused: 0 };
  for (let i = 0; i < 5000; i++) {
    const b = Buffer.from(seeds[i % seeds.length]);
    const edits = 1 + Math.floor(rand() * 4);
    let m: Buffer = b;
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(rand() * m.length);
      const kind = rand();
      if (kind < 0.6) m[at] = Math.floor(rand() * 256);
      else if (kind < 0.8) m = m.subarray(0, at);
      else m = Buffer.concat([m.subarray(0, at), Buffer.from([Math.floor(rand() * 256)]), m.subarray(at)]);
    }
    const r = parseRequest(m, 1 << 20);
    if (r.error) {
      t.true(r.error instanceof ReplyError);
      outcomes.refused++;
      continue;
    }
    try {
      r.request!.inputs([IN]);
      outcomes.ok++;
    } catch (e) {
      if (!(e instanceof ReplyError)) return t.fail(`non-ReplyError for ${m.toString('hex')}: ${(e as Error).stack}`);
      outcomes.refused++;
    }
  }
  t.log(JSON.stringify(outcomes));
  t.true(outcomes.ok > 0 && outcomes.refused > 0);
});

test('scheduler: a model with two instances runs two requests at once when concurrency allows', async (t) => {
  const log: string[] = [];
  const i1 = fakeModel(log, 'i1');
  const i2 = fakeModel(log, 'i2');
  const s = new Scheduler(2);
  s.install([slot('m', [i1.model, i2.model], 8)]);
  const results: number[] = [];
  for (let k = 0; k < 4; k++) s.submit('m', { inputs: [Buffer.from([k, 0, 0, 0])], done: () => results.push(k) });
  t.is(i1.pending + i2.pending, 2);
  t.is(s.get('m')!.queue.length, 2);
  i2.release();
  await tick();
  t.is(i2.pending, 1, 'the freed instance takes the next request');
  s.setConcurrency(1);
  i1.release();
  i2.release();
  await tick();
  t.is(i1.pending + i2.pending, 1, 'concurrency lowered to 1');
  i1.release() ?? i2.release();
  await s.idle();
  t.deepEqual(results.sort(), [0, 1, 2, 3]);
  t.deepEqual(log, ['i1:0', 'i2:1', 'i2:2', 'i1:3']);
});
