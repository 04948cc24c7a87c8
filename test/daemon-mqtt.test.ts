// The daemon against a real mosquitto (password file + ACL): replies from mqtt.js
// (MQTT 5 and 3.1.1) and from mosquitto_pub/sub -V 5 carry the same output bytes as
// `qie run`; garbage gets error replies; 2,000 requests from 20 clients are each
// answered once, in order; status, SIGHUP reload and SIGTERM drain.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import { makeDemoModel } from '../firmware-tools/demo/model';
import { CLASSES } from '../firmware-tools/demo/synthetic';
import { decodeBinaryReply, encodeBinaryRequest } from '../src/daemon/binary';
import { quantize } from '../src/engine/tensors';
import { DaemonProc } from './helpers/daemon-proc';
import { Mosquitto, mosquittoAvailable, TEST_ACL, TEST_USERS } from './helpers/mosquitto';
import { collect, connectClient, nextMessage, request5 } from './helpers/mqtt-client';
import { qieRun } from './helpers/qie-run';
import { listModels, loadManifest, modelPath, readCase, sharedDir } from './helpers/shared';

interface Reply {
  id: string | number | null;
  deviceId: string;
  model?: { name: string; version: string };
  outputs?: { name: string; dtype: string; shape: number[]; scale: number | null; zeroPoint: number | null; data: string; values: number[] }[];
  top?: { label: string; index: number; score: number }[];
  latencyMs?: number;
  error?: { code: string; message: string };
}

const parse = (b: Buffer) => JSON.parse(b.toString()) as Reply;
const DEVICE = 'gw1';
const infer = (model: string) => `qie/${DEVICE}/infer/${model}`;

// stateless shared models; mobilenet_v2 with one case to keep the suite short
const SHARED = sharedDir()
  ? listModels()
      .filter((m) => !loadManifest(m).stateful_across_invokes)
      .map((m) => ({ name: m, cases: loadManifest(m).cases.slice(0, m === 'mobilenet_v2' ? 1 : 2).map((c) => c.name) }))
  : [];

let broker: Mosquitto;
let daemon: DaemonProc;
let configFile: string;
let config: Record<string, unknown>;
let cleanup: () => void;
let client: MqttClient;
let demoFile: string;

if (!mosquittoAvailable()) {
  test('daemon MQTT tests (skipped)', (t) => {
    t.log('NOTICE: /usr/sbin/mosquitto is absent: daemon MQTT tests skipped');
    t.pass();
  });
} else {
  test.before(async () => {
    broker = await Mosquitto.start(TEST_USERS, TEST_ACL);
    const cfgDir = mkdtempSync(path.join(tmpdir(), 'qie-dm-'));
    demoFile = path.join(cfgDir, 'motion.tflite');
    writeFileSync(demoFile, makeDemoModel().tflite);
    config = {
      deviceId: DEVICE,
      broker: { url: broker.url, username: 'daemon', password: 'daemon-secret', reconnectMs: 200 },
      fleet: { group: 'line' },
      models: [
        { name: 'motion', path: 'motion.tflite', version: '1', labels: [...CLASSES], queueSize: 2500 },
        // mobilenet_v2 on the reference kernels (about 0.3 s a run): the burst test needs runs
        // slow enough for queued requests to reach their deadlines; replies still equal `qie run`
        ...SHARED.map((m) => ({ name: m.name, path: modelPath(m.name), version: 'golden', queueSize: 64, ...(m.name === 'mobilenet_v2' ? { kernels: 'ref' } : {}) })),
      ],
      concurrency: 2,
      statusIntervalS: 1,
    };
    configFile = path.join(cfgDir, 'config.json');
    writeFileSync(configFile, JSON.stringify(config));
    cleanup = () => rmSync(cfgDir, { recursive: true, force: true });
    daemon = new DaemonProc(configFile);
    await daemon.waitFor('serving');
    client = await connectClient(broker.url);
  });

  test.after.always(async () => {
    await client?.endAsync();
    await daemon?.stop('SIGKILL');
    await broker?.dispose();
    cleanup?.();
  });

  if (!SHARED.length) {
    test.serial('shared-model replies (skipped)', (t) => {
      t.log('NOTICE: ../shared is absent: replies are not compared with shared models');
      t.pass();
    });
  }

  for (const m of SHARED) {
    test.serial(`MQTT 5 JSON and binary replies for ${m.name} equal qie run`, async (t) => {
      for (const c of m.cases) {
        const k = readCase(m.name, c);
        const expected = qieRun(modelPath(m.name), k.inputs.map((i) => i.data), k.outputs.length);
        const json = JSON.stringify({ id: `${m.name}/${c}`, inputs: k.inputs.map((i) => ({ dtype: i.dtype, shape: i.shape, data: i.data.toString('base64') })) });
        const r = parse(await request5(client, infer(m.name), json));
        t.is(r.error, undefined, JSON.stringify(r.error));
        t.is(r.id, `${m.name}/${c}`);
        t.deepEqual(r.model, { name: m.name, version: 'golden' });
        t.is(r.outputs!.length, expected.length);
        r.outputs!.forEach((o, i) => {
          t.true(Buffer.from(o.data, 'base64').equals(expected[i]), `${m.name}/${c} output ${i} bytes`);
          t.deepEqual(o.shape, k.outputs[i].shape);
          t.is(o.values.length, k.outputs[i].shape.reduce((a, b) => a * b, 1));
        });
        const bin = decodeBinaryReply(await request5(client, infer(m.name), encodeBinaryRequest(7, k.inputs.map((i) => i.data))));
        t.is(bin.status, 0, bin.message);
        t.is(bin.id, 7);
        bin.outputs.forEach((o, i) => t.true(o.equals(expected[i]), `binary ${m.name}/${c} output ${i}`));
      }
    });
  }

  test.serial('mosquitto_pub/mosquitto_sub -V 5 with response topic and correlation data', async (t) => {
    const model = SHARED.find((m) => m.name === 'person_detect') ? 'person_detect' : 'motion';
    let input: Buffer;
    let expected: Buffer;
    if (model === 'person_detect') {
      input = readCase(model, 'person_tflm_test').inputs[0].data;
      expected = qieRun(modelPath(model), [input], 1)[0];
    } else {
      input = Buffer.alloc(96, 3);
      expected = qieRun(demoFile, [input], 1)[0];
    }
    const req = path.join(broker.dir, 'req.json');
    writeFileSync(req, JSON.stringify({ inputs: [{ dtype: 'int8', data: input.toString('base64') }] }));
    const common = ['-h', '127.0.0.1', '-p', String(broker.port), '-u', 'client', '-P', 'client-secret', '-V', '5'];
    const sub = spawn('mosquitto_sub', [...common, '-t', 'replies/cli', '-C', '1', '-W', '30', '-F', '%D\t%p'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    sub.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => setTimeout(r, 300)); // let the subscription land
    const pub = spawn('mosquitto_pub', [...common, '-q', '1', '-t', infer(model), '-f', req, '-D', 'publish', 'response-topic', 'replies/cli', '-D', 'publish', 'correlation-data', 'corr-42']);
    t.is(await new Promise((r) => pub.once('exit', r)), 0);
    t.is(await new Promise((r) => sub.once('exit', r)), 0);
    const [corr, payload] = out.trim().split('\t');
    t.is(corr, 'corr-42');
    const r = parse(Buffer.from(payload));
    t.is(r.error, undefined);
    t.true(Buffer.from(r.outputs![0].data, 'base64').equals(expected));
  });

  test.serial('MQTT 3.1.1 clients: replyTo and id in the envelope; float32 data is quantized by the daemon', async (t) => {
    const c4 = await connectClient(broker.url, { protocolVersion: 4 });
    t.teardown(() => c4.endAsync());
    await c4.subscribeAsync('replies/v311', { qos: 1 });
    const floats = Array.from({ length: 96 }, (_, i) => Math.sin(i / 3) * 2);
    const next = nextMessage(c4, 'replies/v311');
    await c4.publishAsync(infer('motion'), JSON.stringify({ id: 'v311-1', replyTo: 'replies/v311', inputs: [{ dtype: 'float32', shape: [1, 96], data: floats }] }), { qos: 1 });
    const r = parse(await next);
    t.is(r.id, 'v311-1');
    t.is(r.error, undefined);
    const nextStatus = nextMessage(c4, `qie/${DEVICE}/status`);
    await c4.subscribeAsync(`qie/${DEVICE}/status`, { qos: 1 });
    const status = JSON.parse((await nextStatus).toString());
    const inMeta = status.models.find((m: { name: string }) => m.name === 'motion').inputs[0];
    const q = quantize(floats, { scale: inMeta.scale, zeroPoint: inMeta.zeroPoint });
    const expected = qieRun(demoFile, [Buffer.from(q.buffer)], 1)[0];
    t.true(Buffer.from(r.outputs![0].data, 'base64').equals(expected));
    t.deepEqual(r.top!.map((x) => x.label).sort(), [...CLASSES].sort());
    t.true(r.top![0].score >= r.top![1].score);
  });

  test.serial('requests without a reply address are answered on qie/<device>/reply/<model>', async (t) => {
    await client.subscribeAsync(`qie/${DEVICE}/reply/motion`, { qos: 1 });
    const next = nextMessage(client, `qie/${DEVICE}/reply/motion`, (p) => parse(p).id === 'noaddr');
    await client.publishAsync(infer('motion'), JSON.stringify({ id: 'noaddr', inputs: [{ dtype: 'int8', data: Buffer.alloc(96).toString('base64') }] }), { qos: 1 });
    t.is(parse(await next).error, undefined);
    await client.unsubscribeAsync(`qie/${DEVICE}/reply/motion`);
  });

  test.serial('garbage gets an error reply and the daemon keeps serving', async (t) => {
    const ok = JSON.stringify({ inputs: [{ dtype: 'int8', shape: [1, 96], data: Buffer.alloc(96).toString('base64') }] });
    const cases: [string, string | Buffer, string][] = [
      ['motion', '{not json', 'bad_request'],
      ['motion', Buffer.from([0xff, 0x00, 0x13, 0x37, 0xde, 0xad]), 'bad_request'],
      ['motion', '[1,2,3]', 'bad_request'],
      ['motion', '{}', 'bad_request'],
      ['motion', JSON.stringify({ inputs: [] }), 'bad_request'],
      ['motion', JSON.stringify({ inputs: [{ dtype: 'int16', data: 'AAAA' }] }), 'bad_request'],
      ['motion', JSON.stringify({ inputs: [{ dtype: 'int8', shape: [1, 97], data: 'AAAA' }] }), 'bad_request'],
      ['motion', JSON.stringify({ inputs: [{ dtype: 'int8', shape: [100000, 100000, 100000, 100000], data: 'AAAA' }] }), 'bad_request'],
      ['motion', JSON.stringify({ inputs: [{ dtype: 'int8', data: Buffer.alloc(95).toString('base64') }] }), 'bad_request'],
      ['motion', JSON.stringify({ inputs: [{ dtype: 'int8', data: '!'.repeat(128) }] }), 'bad_request'],
      ['motion', JSON.stringify({ inputs: [{ dtype: 'float32', data: [1, 2, 3] }] }), 'bad_request'],
      ['motion', JSON.stringify({ inputs: [{ dtype: 'int8', data: new Array(96).fill(300) }] }), 'bad_request'],
      ['motion', JSON.stringify({ inputs: [{ dtype: 'int8', data: Buffer.alloc(96).toString('base64') }], deadlineMs: -5 }), 'bad_request'],
      ['motion', JSON.stringify({ inputs: [null] }), 'bad_request'],
      ['motion', encodeBinaryRequest(1, [Buffer.alloc(95)]), 'bad_request'],
      ['motion', Buffer.from([0x51, 0x49, 0x45, 0x01, 9, 0, 0]), 'bad_request'],
      ['no_such_model', ok, 'unknown_model'],
    ];
    for (const [model, payload, code] of cases) {
      const raw = await request5(client, infer(model), payload);
      const isBinary = Buffer.isBuffer(payload) && payload[0] === 0x51;
      const got = isBinary ? { code: decodeBinaryReply(raw).status === 1 ? 'bad_request' : String(decodeBinaryReply(raw).status) } : parse(raw).error;
      t.is(got?.code, code, `${String(payload).slice(0, 60)} -> ${JSON.stringify(got)}`);
    }
    const r = parse(await request5(client, infer('motion'), ok));
    t.is(r.error, undefined);
    t.is(daemon.proc.exitCode, null);
  });

  test.serial('a burst past the queue bound gets busy, queued requests past their deadline get deadline_exceeded, each exactly once', async (t) => {
    const slow = SHARED.find((m) => m.name === 'mobilenet_v2');
    if (!slow) {
      t.log('NOTICE: mobilenet_v2 is absent: busy/deadline end to end skipped (the scheduler tests cover them)');
      return t.pass();
    }
    const k = readCase(slow.name, slow.cases[0]);
    const c = await connectClient(broker.url);
    t.teardown(() => c.endAsync());
    const got = await collect(c, 'replies/burst');
    // one run's time R sets the deadline: 8 R, so that of 64 queued requests most expire
    // (whatever the kernels' speed), while binary payloads arrive fast enough to fill the queue
    const t0 = performance.now();
    await request5(c, infer(slow.name), encodeBinaryRequest(0, [k.inputs[0].data]));
    const deadlineMs = Math.max(20, Math.round(8 * (performance.now() - t0)));
    const n = 100; // queueSize is 64
    for (let i = 0; i < n; i++)
      c.publish(infer(slow.name), encodeBinaryRequest(i, [k.inputs[0].data], { deadlineMs }), { qos: 1, properties: { responseTopic: 'replies/burst', correlationData: Buffer.from(String(i)) } });
    await waitUntil(() => got.length >= n, 120_000);
    await new Promise((r) => setTimeout(r, 300));
    t.is(got.length, n);
    t.is(new Set(got.map((g) => g.correlation!.toString())).size, n);
    const names = ['ok', 'bad_request', 'unknown_model', 'busy', 'deadline_exceeded', 'shutting_down', 'internal'];
    const codes = new Map<string, number>();
    for (const g of got) {
      const r = decodeBinaryReply(g.payload);
      t.is(r.id, Number(g.correlation!.toString()));
      const code = names[r.status];
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    t.log(JSON.stringify(Object.fromEntries(codes)));
    t.true((codes.get('ok') ?? 0) >= 1);
    t.true((codes.get('busy') ?? 0) >= 1);
    t.true((codes.get('deadline_exceeded') ?? 0) >= 1);
    t.true([...codes.keys()].every((x) => ['ok', 'busy', 'deadline_exceeded'].includes(x)));
  });

  test.serial('2,000 requests from 20 concurrent clients: each answered exactly once, ids in order', async (t) => {
    const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => connectClient(broker.url, { clientId: `load-${i}` })));
    t.teardown(() => Promise.all(clients.map((c) => c.endAsync())));
    const per = 100;
    const results = await Promise.all(
      clients.map(async (c, ci) => {
        const got = await collect(c, `replies/load-${ci}`);
        const done = new Promise<void>((resolve) => {
          const check = setInterval(() => {
            if (got.length >= per) {
              clearInterval(check);
              setTimeout(resolve, 300); // a duplicate would arrive in this window
            }
          }, 20);
        });
        for (let i = 0; i < per; i++) {
          const input = Buffer.alloc(96, (ci * per + i) % 256);
          c.publish(infer('motion'), JSON.stringify({ id: `${ci}-${i}`, inputs: [{ dtype: 'int8', data: input.toString('base64') }] }), {
            qos: 1,
            properties: { responseTopic: `replies/load-${ci}`, correlationData: Buffer.from(String(i)) },
          });
        }
        await done;
        return got.map((g) => ({ r: parse(g.payload), corr: g.correlation?.toString() }));
      }),
    );
    results.forEach((replies, ci) => {
      t.is(replies.length, per, `client ${ci} reply count`);
      t.deepEqual(
        replies.map((x) => x.r.id),
        Array.from({ length: per }, (_, i) => `${ci}-${i}`),
      );
      t.true(replies.every((x, i) => x.corr === String(i) && x.r.error === undefined));
    });
  });

  test.serial('retained status: online, models with versions, queue depths, counters, uptime', async (t) => {
    const c = await connectClient(broker.url);
    t.teardown(() => c.endAsync());
    const next = nextMessage(c, `qie/${DEVICE}/status`);
    await c.subscribeAsync(`qie/${DEVICE}/status`, { qos: 1 });
    const s = JSON.parse((await next).toString());
    t.is(s.state, 'online');
    t.is(s.deviceId, DEVICE);
    t.is(s.fleetGroup, 'line');
    t.true(s.uptimeS >= 0);
    const motion = s.models.find((m: { name: string }) => m.name === 'motion');
    t.is(motion.version, '1');
    t.is(motion.queueSize, 2500);
    t.is(typeof motion.queueDepth, 'number');
    t.true(s.counters.ok > 0 && s.counters.errors.bad_request > 0 && s.counters.errors.unknown_model > 0);
  });

  test.serial('SIGHUP reloads the configuration; a bad one is refused and the old one keeps serving', async (t) => {
    // motion gets version 2, motion2 is added, the first shared model is removed
    const kept = (config.models as { name: string }[]).filter((m) => m.name !== 'motion' && m.name !== SHARED[0]?.name);
    const next = { ...config, models: [{ name: 'motion', path: 'motion.tflite', version: '2', labels: [...CLASSES], queueSize: 8 }, { name: 'motion2', path: 'motion.tflite' }, ...kept] };
    writeFileSync(configFile, JSON.stringify(next));
    daemon.proc.kill('SIGHUP');
    await waitUntil(() => daemon.count('configuration reloaded') === 1);
    const body = JSON.stringify({ inputs: [{ dtype: 'int8', data: Buffer.alloc(96).toString('base64') }] });
    t.deepEqual(parse(await request5(client, infer('motion'), body)).model, { name: 'motion', version: '2' });
    t.is(parse(await request5(client, infer('motion2'), body)).error, undefined);
    if (SHARED.length) t.is(parse(await request5(client, infer(SHARED[0].name), body)).error?.code, 'unknown_model');

    writeFileSync(configFile, JSON.stringify({ ...next, concurrency: 'lots' }));
    daemon.proc.kill('SIGHUP');
    const failed = await daemon.waitFor('reload failed: keeping the running configuration');
    t.regex(String(failed.err), /concurrency/);
    t.is(parse(await request5(client, infer('motion2'), body)).error, undefined);
  });

  test.serial('SIGTERM drains queued requests, publishes offline and exits 0', async (t) => {
    const c = await connectClient(broker.url);
    t.teardown(() => c.endAsync());
    const got = await collect(c, 'replies/drain');
    await c.subscribeAsync(`qie/${DEVICE}/status`, { qos: 1 });
    const offline = nextMessage(c, `qie/${DEVICE}/status`, (p) => JSON.parse(p.toString()).state === 'offline');
    // a slow model, so that requests are still queued when SIGTERM arrives
    const slow = SHARED.some((m) => m.name === 'person_detect') && SHARED[0].name !== 'person_detect' ? 'person_detect' : 'motion2';
    const bytes = slow === 'person_detect' ? 96 * 96 : 96;
    const n = 30;
    const body = JSON.stringify({ inputs: [{ dtype: 'int8', data: Buffer.alloc(bytes, 1).toString('base64') }] });
    await Promise.all(Array.from({ length: n }, (_, i) => c.publishAsync(infer(slow), body, { qos: 1, properties: { responseTopic: 'replies/drain', correlationData: Buffer.from(String(i)) } })));
    await waitUntil(() => got.length > 0);
    const code = await daemon.stop('SIGTERM');
    t.is(code, 0);
    t.is(JSON.parse((await offline).toString()).reason, 'stopped');
    await waitUntil(() => got.length >= n);
    t.log(`${n} requests, ${n - 1} or fewer still queued at SIGTERM; all answered`);
    const corr = got.map((g) => g.correlation!.toString());
    t.deepEqual(corr, Array.from({ length: n }, (_, i) => String(i)));
    t.true(got.every((g) => parse(g.payload).error === undefined));
  });
}

async function waitUntil(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
