// How the daemon connects: TLS with a client certificate and a password file,
// falling back from MQTT 5 to 3.1.1 against a broker that only speaks 3.1.1, and
// refusing to start with credentials the broker rejects.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import mqtt from 'mqtt';
import { makeDemoModel } from '../firmware-tools/demo/model';
import { startEmbeddedBroker } from '../src/daemon/broker';
import { DaemonProc, writeConfig } from './helpers/daemon-proc';
import { Mosquitto, mosquittoAvailable, TEST_ACL, TEST_USERS } from './helpers/mosquitto';
import { request5 } from './helpers/mqtt-client';

const model = makeDemoModel().tflite;
const body = JSON.stringify({ id: 'c1', inputs: [{ dtype: 'int8', data: Buffer.alloc(96, 4).toString('base64') }] });

function configWithModel(config: object) {
  const cfg = writeConfig(config);
  writeFileSync(path.join(cfg.dir, 'motion.tflite'), model);
  return cfg;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makeCerts(dir: string): void {
  const ossl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  const key = (name: string) => ossl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', `${name}.key`);
  key('ca');
  ossl('req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=qie-test-ca');
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const [name, cn, ext] of [['server', '127.0.0.1', ['-extfile', 'server.ext']], ['client', 'daemon', []]] as const) {
    key(name);
    ossl('req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...ext);
  }
}

if (!mosquittoAvailable()) {
  test('daemon connection tests (skipped)', (t) => {
    t.log('NOTICE: /usr/sbin/mosquitto is absent: daemon connection tests skipped');
    t.pass();
  });
} else {
  test('TLS with a client certificate, a CA and a password file', async (t) => {
    if (!existsSync('/usr/bin/openssl')) {
      t.log('NOTICE: openssl is absent: TLS test skipped');
      return t.pass();
    }
    const certs = mkdtempSync(path.join(tmpdir(), 'qie-tls-'));
    t.teardown(() => rmSync(certs, { recursive: true, force: true }));
    makeCerts(certs);
    const broker = await Mosquitto.start(TEST_USERS, TEST_ACL, [`cafile ${certs}/ca.pem`, `certfile ${certs}/server.pem`, `keyfile ${certs}/server.key`, 'require_certificate true']);
    t.teardown(() => broker.dispose());
    const cfg = configWithModel({
      deviceId: 'gw-tls',
      broker: { url: `mqtts://127.0.0.1:${broker.port}`, username: 'daemon', passwordFile: 'password', tls: { ca: `${certs}/ca.pem`, cert: `${certs}/client.pem`, key: `${certs}/client.key` } },
      models: [{ name: 'motion', path: 'motion.tflite' }],
    });
    t.teardown(cfg.cleanup);
    writeFileSync(path.join(cfg.dir, 'password'), 'daemon-secret\n');
    const d = new DaemonProc(cfg.file);
    t.teardown(() => d.stop('SIGKILL'));
    await d.waitFor('serving');
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${broker.port}`, {
      protocolVersion: 5,
      username: 'client',
      password: 'client-secret',
      ca: [readFileSync(`${certs}/ca.pem`)],
      cert: readFileSync(`${certs}/client.pem`),
      key: readFileSync(`${certs}/client.key`),
    });
    t.teardown(() => client.endAsync());
    const r = JSON.parse((await request5(client, 'qie/gw-tls/infer/motion', body)).toString());
    t.is(r.id, 'c1');
    t.is(r.error, undefined);
  });

  test('protocolVersion auto falls back to 3.1.1 against a broker that refuses MQTT 5', async (t) => {
    const aedes = await startEmbeddedBroker('127.0.0.1', 0);
    t.teardown(() => aedes.close());
    const cfg = configWithModel({ deviceId: 'gw-v4', broker: { url: aedes.url }, models: [{ name: 'motion', path: 'motion.tflite' }] });
    t.teardown(cfg.cleanup);
    const d = new DaemonProc(cfg.file);
    t.teardown(() => d.stop('SIGKILL'));
    await d.waitFor('serving');
    t.truthy(d.lines.find((l) => l.msg === 'the broker refuses MQTT 5: falling back to 3.1.1'));
    t.is(d.lines.find((l) => l.msg === 'connected to the broker')!.protocolVersion, 4);
    const client = await mqtt.connectAsync(aedes.url, { protocolVersion: 4 });
    t.teardown(() => client.endAsync());
    await client.subscribeAsync('replies/v4', { qos: 1 });
    const reply = new Promise<Buffer>((resolve) => client.on('message', (_t, p) => resolve(p)));
    await client.publishAsync('qie/gw-v4/infer/motion', JSON.stringify({ id: 'v4', replyTo: 'replies/v4', inputs: [{ dtype: 'int8', data: Buffer.alloc(96).toString('base64') }] }), { qos: 1 });
    t.is(JSON.parse((await reply).toString()).id, 'v4');
  });

  test('credentials the broker refuses stop start-up with exit 1', async (t) => {
    const broker = await Mosquitto.start(TEST_USERS, TEST_ACL);
    t.teardown(() => broker.dispose());
    const cfg = configWithModel({ deviceId: 'gw-bad', broker: { url: broker.url, username: 'daemon', password: 'wrong' }, models: [{ name: 'motion', path: 'motion.tflite' }] });
    t.teardown(cfg.cleanup);
    const d = new DaemonProc(cfg.file);
    t.is(await d.exited, 1);
    t.regex(d.stderr, /the broker refused the connection/);
  });
}
