// Session takeover (issue 16, finding 6): another client connecting with the
// daemon's client id, against a real mosquitto. MQTT 5 brokers may say so
// (DISCONNECT 0x8E; mosquitto 2.0.11 does not, it only closes the connection);
// on 3.1.1 it shows as connections closed soon after they open. Either way the
// daemon logs an error naming the cause, shows it in its status and backs off
// instead of fighting the other client for the id at full speed.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { makeDemoModel } from '../firmware-tools/demo/model';
import { ConnectionWatch, SUSPECT_AFTER_SHORT } from '../src/daemon/connection-watch';
import { MQTT_REASON } from '../src/daemon/mqtt-reasons';
import { configErrorOf } from './helpers/config-error';
import { serveForTest, writeConfig } from './helpers/daemon-proc';
import { Mosquitto, mosquittoAvailable, TEST_ACL, TEST_USERS } from './helpers/mosquitto';
import { connectClient, nextMessage } from './helpers/mqtt-client';

test('connection watch: short connections double the wait up to the cap; a stable one resets it (simulated time)', (t) => {
  let now = 0;
  const w = new ConnectionWatch(200, 5000, () => now);
  const cycle = (lastMs: number, code?: number) => {
    w.connected();
    now += lastMs;
    if (code !== undefined) w.disconnectPacket(code);
    return w.closed();
  };
  t.is(w.closed().delayMs, 200, 'a failed attempt keeps the wait');
  const delays = [1, 2, 3, 4, 5, 6, 7].map(() => cycle(100).delayMs);
  t.deepEqual(delays, [200, 400, 800, 1600, 3200, 5000, 5000]);
  t.is(w.state().takeovers, 7 - SUSPECT_AFTER_SHORT + 1, 'short connections in a row without a reason: suspected takeovers');
  t.regex(w.state().lastDisconnectReason!, /session taken over\?/);
  const stable = cycle(5000);
  t.is(stable.delayMs, 200);
  t.is(stable.takeover, undefined);
  t.is(w.state().shortConnectionsInARow, 0);
  const reported = cycle(60_000, MQTT_REASON.sessionTakenOver);
  t.is(reported.takeover, 'reported');
  t.regex(reported.reason!, /Session taken over \(0x8E\)/);
  const shutdown = cycle(100, 0x8b);
  t.is(shutdown.takeover, undefined);
  t.regex(shutdown.reason!, /Server shutting down/);
});

test('configuration: the back-off cap is at least the reconnect period', (t) => {
  t.regex(configErrorOf({ broker: { reconnectMs: 5000, reconnectMaxMs: 1000 } }), /broker\.reconnectMaxMs: must be at least broker\.reconnectMs/);
  t.is(configErrorOf({ broker: { reconnectMs: 5000, reconnectMaxMs: 5000 } }), '');
});

const model = makeDemoModel().tflite;

if (!mosquittoAvailable()) {
  test('session takeover tests (skipped)', (t) => {
    t.log('NOTICE: /usr/sbin/mosquitto is absent: session takeover tests skipped');
    t.pass();
  });
} else {
  for (const protocolVersion of [5, 4] as const) {
    test(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: a client stealing the daemon's client id is named in an error, in the status, and the daemon backs off`, async (t) => {
      const broker = await Mosquitto.start(TEST_USERS, TEST_ACL);
      const D = `gw-take${protocolVersion}`;
      const cfg = writeConfig({
        deviceId: D,
        broker: { url: broker.url, username: 'daemon', password: 'daemon-secret', protocolVersion, reconnectMs: 200, reconnectMaxMs: 3000 },
        models: [{ name: 'motion', path: 'motion.tflite' }],
        statusIntervalS: 1,
      });
      writeFileSync(path.join(cfg.dir, 'motion.tflite'), model);
      const daemon = await serveForTest(t, cfg, broker);
      // the thief reconnects every 200 ms, so each side keeps taking the id from the other
      const thief = mqtt.connect(broker.url, { protocolVersion, clientId: `qie-${D}`, username: 'client', password: 'client-secret', reconnectPeriod: 200 });
      thief.on('error', () => undefined);
      const windowMs = 5000;
      await new Promise((r) => setTimeout(r, windowMs));
      const connects = daemon.count('connected to the broker');
      await thief.endAsync(true);
      const err = await daemon.waitFor(/session taken over/, 10_000);
      t.is(err.level, 'error');
      t.regex(err.msg, new RegExp(`another client connected with client id qie-${D}`));
      t.regex(err.msg, /use_username_as_clientid/);
      t.true(err.takeover === 'suspected' || (protocolVersion === 5 && err.takeover === 'reported'), String(err.takeover));
      // without back-off the daemon would reconnect every 200 ms (about 25 times in the window)
      t.log(`${connects} connections in ${windowMs} ms while another client held the id`);
      t.true(connects <= 9, `${connects} connections`);
      // once the thief is gone the daemon is back and says what happened
      const c = await connectClient(broker.url);
      t.teardown(() => c.endAsync());
      const status = nextMessage(c, `qie/${D}/status`, (p) => JSON.parse(p.toString()).state === 'online', 20_000);
      await c.subscribeAsync(`qie/${D}/status`, { qos: 1 });
      const s = JSON.parse((await status).toString());
      t.true(s.connection.takeovers >= 1);
      t.regex(s.connection.lastDisconnectReason, /Session taken over \(0x8E\)|session taken over\?/);
      await c.subscribeAsync('replies/after', { qos: 1 });
      const reply = nextMessage(c, 'replies/after');
      await c.publishAsync(`qie/${D}/infer/motion`, JSON.stringify({ id: 'after', replyTo: 'replies/after', inputs: [{ dtype: 'int8', data: Buffer.alloc(96).toString('base64') }] }), { qos: 1 });
      t.is(JSON.parse((await reply).toString()).error, undefined);
    });
  }
}
