// The README's broker setup, taken from the README itself, against a real
// mosquitto (issue 16, deliver 4): with use_username_as_clientid and that ACL a
// requester is answered under replies/<user>/, another requester cannot read
// those replies, and a client that asks for the gateway's client id no longer
// takes its session.
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { makeDemoModel } from '../firmware-tools/demo/model';
import { serveForTest, writeConfig } from './helpers/daemon-proc';
import { Mosquitto, mosquittoAvailable } from './helpers/mosquitto';
import { connectClient, nextMessage } from './helpers/mqtt-client';

/** The ACL file of README "Broker setup". */
function readmeAcl(): string {
  const readme = readFileSync('README.md', 'utf8');
  const m = /```\n(# \/etc\/mosquitto\/acl\n[\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README has no "# /etc/mosquitto/acl" block');
  return m[1];
}

const body = (id: string) => JSON.stringify({ id, inputs: [{ dtype: 'int8', data: Buffer.alloc(96, 1).toString('base64') }] });

if (!mosquittoAvailable()) {
  test('broker setup test (skipped)', (t) => {
    t.log('NOTICE: /usr/sbin/mosquitto is absent: broker setup test skipped');
    t.pass();
  });
} else {
  test("the README's ACL with use_username_as_clientid: replies apart per requester, no session takeover by client id", async (t) => {
    t.regex(readFileSync('README.md', 'utf8'), /use_username_as_clientid true/);
    const users = { gw1: 'gw1-secret', console: 'console-secret', app1: 'app1-secret', app2: 'app2-secret' };
    const broker = await Mosquitto.start(users, readmeAcl(), ['use_username_as_clientid true']);
    const cfg = writeConfig({
      deviceId: 'gw1',
      fleet: { group: 'line3' },
      broker: { url: broker.url, username: 'gw1', password: 'gw1-secret', protocolVersion: 5, reconnectMs: 200, reconnectMaxMs: 5000 },
      models: [{ name: 'motion', path: 'motion.tflite' }],
      statusIntervalS: 1,
    });
    writeFileSync(path.join(cfg.dir, 'motion.tflite'), makeDemoModel().tflite);
    const daemon = await serveForTest(t, cfg, broker);
    const app1 = await connectClient(broker.url, { username: 'app1', password: 'app1-secret', clientId: 'app1' });
    const app2 = await connectClient(broker.url, { username: 'app2', password: 'app2-secret', clientId: 'app2' });
    t.teardown(() => Promise.all([app1.endAsync(), app2.endAsync()]));
    const spied: string[] = [];
    app2.on('message', (topic) => spied.push(topic));
    await app2.subscribeAsync('replies/app1/#', { qos: 1 }).catch(() => undefined);

    const replyTopic = 'replies/app1';
    t.is(JSON.parse((await requestOn(app1, replyTopic, 'qie/gw1/infer/motion', body('a1'))).toString()).error, undefined);
    t.is(JSON.parse((await requestOn(app1, replyTopic, 'qie/fleet/line3/infer/motion', body('a2'))).toString()).error, undefined);

    // a client asking for the gateway's client id (the configured one, or its user name) gets its own user name: the daemon stays
    const thieves = await Promise.all(['qie-gw1', 'gw1'].map((clientId) => connectClient(broker.url, { username: 'app2', password: 'app2-secret', clientId })));
    t.teardown(() => Promise.all(thieves.map((c) => c.endAsync())));
    await new Promise((r) => setTimeout(r, 1000));
    t.is(daemon.count('connected to the broker'), 1);
    t.is(daemon.count('broker connection lost'), 0);
    t.is(JSON.parse((await requestOn(app1, replyTopic, 'qie/gw1/infer/motion', body('a3'))).toString()).error, undefined);
    // the status reaches requesters; app1's replies never reached app2
    const status = nextMessage(app1, 'qie/gw1/status', (p) => JSON.parse(p.toString()).state === 'online');
    await app1.subscribeAsync('qie/gw1/status', { qos: 1 });
    t.is(JSON.parse((await status).toString()).counters.connects, 1);
    t.deepEqual(spied, []);
  });
}

/** MQTT 5 request answered on `replyTopic/<n>` (under the requester's own namespace). */
let seq = 0;
async function requestOn(c: import('mqtt').MqttClient, replyTopic: string, topic: string, payload: string): Promise<Buffer> {
  const reply = `${replyTopic}/${++seq}`;
  await c.subscribeAsync(reply, { qos: 1 });
  const next = nextMessage(c, reply);
  await c.publishAsync(topic, payload, { qos: 1, properties: { responseTopic: reply } });
  return next;
}
