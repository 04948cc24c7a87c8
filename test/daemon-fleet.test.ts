// The daemon under broker trouble and in a fleet: a broker restarted mid-stream
// (reconnect, status back online), a killed daemon (last will `offline`), and three
// daemons in one shared-subscription group splitting a request stream.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { makeDemoModel } from '../firmware-tools/demo/model';
import { DaemonProc, serveForTest, writeConfig } from './helpers/daemon-proc';
import { Mosquitto, mosquittoAvailable, TEST_ACL, TEST_USERS } from './helpers/mosquitto';
import { collect, connectClient, nextMessage } from './helpers/mqtt-client';

const model = makeDemoModel().tflite;
const body = (id: string) => JSON.stringify({ id, inputs: [{ dtype: 'int8', data: Buffer.alloc(96, 2).toString('base64') }] });

function daemonConfig(broker: Mosquitto, deviceId: string, extra: object = {}) {
  const cfg = writeConfig({
    deviceId,
    broker: { url: broker.url, username: 'daemon', password: 'daemon-secret', reconnectMs: 200, keepaliveS: 2 },
    models: [{ name: 'motion', path: 'motion.tflite', queueSize: 1000 }],
    statusIntervalS: 1,
    ...extra,
  });
  writeFileSync(path.join(cfg.dir, 'motion.tflite'), model);
  return cfg;
}

const state = (p: Buffer) => (JSON.parse(p.toString()) as { state: string }).state;

if (!mosquittoAvailable()) {
  test('daemon fleet tests (skipped)', (t) => {
    t.log('NOTICE: /usr/sbin/mosquitto is absent: daemon fleet tests skipped');
    t.pass();
  });
} else {
  test.serial('broker stopped and restarted mid-stream: the daemon reconnects, status goes online again, the stream is served', async (t) => {
    const broker = await Mosquitto.start(TEST_USERS, TEST_ACL);
    const cfg = daemonConfig(broker, 'gw-restart');
    const daemon = await serveForTest(t, cfg, broker);
    // one client streams a request every 10 ms across the outage (mqtt.js reconnects it too)
    const client = await connectClient(broker.url, { clientId: 'restart-client' });
    t.teardown(() => client.endAsync());
    const replies = await collect(client, 'replies/restart');
    const onlines: number[] = [];
    let sent = 0;
    client.on('message', (topic, p) => {
      if (topic === 'qie/gw-restart/status' && state(p) === 'online') onlines.push(sent);
    });
    await client.subscribeAsync('qie/gw-restart/status', { qos: 1 });
    const stream = setInterval(() => {
      client.publish('qie/gw-restart/infer/motion', body(`r${sent++}`), { qos: 1, properties: { responseTopic: 'replies/restart' } });
    }, 10);
    t.teardown(() => clearInterval(stream));
    await until(() => replies.length >= 20);

    await broker.stop();
    await daemon.waitFor('broker connection lost');
    await new Promise((r) => setTimeout(r, 300));
    await broker.restart();
    await until(() => daemon.count('connected to the broker') >= 2);
    const firstAfter = onlines.length;
    await until(() => onlines.length > firstAfter); // the daemon's new `online`, seen by the client
    const servedFrom = onlines[onlines.length - 1];
    const target = sent + 50;
    await until(() => sent >= target);
    clearInterval(stream);
    const last = sent;
    await until(() => replies.some((r) => JSON.parse(r.payload.toString()).id === `r${last - 1}`));
    await new Promise((r) => setTimeout(r, 200));

    const ids = replies.map((r) => JSON.parse(r.payload.toString()).id as string);
    t.is(new Set(ids).size, ids.length, 'no request answered twice');
    // every request published after the client saw the daemon online again was answered
    const missing = [];
    for (let i = servedFrom; i < last; i++) if (!ids.includes(`r${i}`)) missing.push(i);
    t.deepEqual(missing, []);
    const s = JSON.parse((await nextMessage(client, 'qie/gw-restart/status', (p) => state(p) === 'online')).toString());
    t.true(s.counters.connects >= 2);
    t.log(`${last} requests streamed, ${ids.length} answered (those in the outage may be lost by the broker), served again from request ${servedFrom}`);
  });

  test.serial('a daemon that dies leaves its last will: status offline (retained)', async (t) => {
    const broker = await Mosquitto.start(TEST_USERS, TEST_ACL);
    const cfg = daemonConfig(broker, 'gw-will');
    const daemon = await serveForTest(t, cfg, broker);
    const c = await connectClient(broker.url);
    t.teardown(() => c.endAsync());
    const online = nextMessage(c, 'qie/gw-will/status', (p) => state(p) === 'online');
    await c.subscribeAsync('qie/gw-will/status', { qos: 1 });
    await online;
    const offline = nextMessage(c, 'qie/gw-will/status', (p) => state(p) === 'offline');
    await daemon.stop('SIGKILL');
    const will = JSON.parse((await offline).toString());
    t.is(will.reason, 'connection lost');
    // retained: a late subscriber sees it too
    const c3 = await connectClient(broker.url);
    t.teardown(() => c3.endAsync());
    const late = nextMessage(c3, 'qie/gw-will/status');
    await c3.subscribeAsync('qie/gw-will/status', { qos: 1 });
    t.is(state(await late), 'offline');
  });

  test.serial('three daemons in one shared-subscription group split a request stream; every request answered once', async (t) => {
    const broker = await Mosquitto.start(TEST_USERS, TEST_ACL);
    const cfgs = ['gw-a', 'gw-b', 'gw-c'].map((id) => daemonConfig(broker, id, { fleet: { group: 'line7' } }));
    const daemons = cfgs.map((c) => new DaemonProc(c.file));
    t.teardown(async () => {
      await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
      await broker.dispose();
      cfgs.forEach((c) => c.cleanup());
    });
    await Promise.all(daemons.map((d) => d.waitFor('subscribed')));
    const client = await connectClient(broker.url);
    t.teardown(() => client.endAsync());
    const replies = await collect(client, 'replies/fleet');
    const n = 300;
    for (let i = 0; i < n; i++) client.publish('qie/fleet/line7/infer/motion', body(`f${i}`), { qos: 1, properties: { responseTopic: 'replies/fleet', correlationData: Buffer.from(String(i)) } });
    await until(() => replies.length >= n);
    await new Promise((r) => setTimeout(r, 300)); // room for a duplicate to show up
    const ids = replies.map((r) => JSON.parse(r.payload.toString()).id as string);
    t.is(ids.length, n);
    t.is(new Set(ids).size, n);
    const byDevice = new Map<string, number>();
    for (const r of replies) {
      const d = JSON.parse(r.payload.toString()).deviceId as string;
      byDevice.set(d, (byDevice.get(d) ?? 0) + 1);
    }
    t.log(`split: ${[...byDevice].map(([d, k]) => `${d} ${k}`).join(', ')}`);
    t.is(byDevice.size, 3, 'every daemon took a share');
  });
}

async function until(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
