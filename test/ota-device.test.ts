// The device side of OTA on in-process daemons (embedded broker, config through
// configSchema, the extension registered by the config): bundles go through the
// real chunk transfer, requests keep flowing, and each outcome is checked in the
// OTA status, in what the daemon serves and in state.json.
import test from 'ava';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import { configSchema } from '../src/config/schema';
import { Daemon } from '../src/daemon/daemon';
import { createLogger } from '../src/daemon/logger';
import { OtaStore } from '../src/ota/store';
import { sharedDir, modelPath } from './helpers/shared';
import { demo, isFinalState, Kit, makeKit, offer, OtaStatusMsg, requestLoop, rollbackOrder, watchStatus } from './helpers/device-ota';
import { connectClient } from './helpers/mqtt-client';

// only bundles of this version fail their runs (see src/ota/fault.ts)
process.env.QIE_OTA_FAULT = 'run_error@6.6.6';

interface Device {
  id: string;
  daemon: Daemon;
  client: MqttClient;
  status: Awaited<ReturnType<typeof watchStatus>>;
  stateDir: string;
  version(): string | undefined;
  push(file: string, opts?: { lockOverride?: boolean }): Promise<OtaStatusMsg>;
  close(): Promise<void>;
}

async function startDevice(kit: Kit, id: string, ota: Record<string, unknown> = {}): Promise<Device> {
  const stateDir = path.join(kit.dir, id);
  const config = configSchema.parse({
    deviceId: id,
    embeddedBroker: { port: 0 },
    logLevel: 'silent',
    models: [{ name: 'motion', path: kit.modelFile, version: '1.0.0', labels: [...demo.labels], instances: 2 }],
    ota: { stateDir, trustedKeys: [kit.pubFile], healthWindowS: 1, healthMinRuns: 3, ...ota },
  });
  const daemon = new Daemon(config, { log: createLogger('silent', id) });
  await daemon.start();
  const client = await connectClient(daemon.brokerUrl, { protocolVersion: 4 });
  const status = await watchStatus(client, id);
  const dev: Device = {
    id,
    daemon,
    client,
    status,
    stateDir,
    version: () => daemon.scheduler.get('motion')?.identity.version,
    async push(file, opts = {}) {
      const o = await offer(client, id, file, opts);
      try {
        return await status.until((s) => s.transferId === o.transferId && isFinalState(s.state));
      } finally {
        await o.stop();
      }
    },
    async close() {
      await client.endAsync();
      await daemon.stop();
    },
  };
  return dev;
}

const stateOf = (dev: Device) => JSON.parse(readFileSync(path.join(dev.stateDir, 'state.json'), 'utf8'));
const statesOf = (dev: Device, transferId: string) => dev.status.all.filter((s) => s.transferId === transferId).map((s) => s.state);

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('an update installs, self-tests and switches while requests run: none fails; the state survives a restart', async (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  let dev = await startDevice(kit, 'dev1', { healthWindowS: 2 });
  try {
    const loop = requestLoop(dev.client, 'dev1', 3);
    await until(() => (loop.versions.get('1.0.0') ?? 0) > 5, 'replies from 1.0.0');
    const file = await kit.bundle('2.0.0');
    const o = await offer(dev.client, 'dev1', file);
    const final = await dev.status.until((s) => s.transferId === o.transferId && isFinalState(s.state));
    await o.stop();
    t.is(final.state, 'succeeded', JSON.stringify(final));
    t.is(final.activeVersion, '2.0.0');
    t.is(final.previousVersion, '1.0.0');
    t.is(final.name, 'motion');
    const seen = statesOf(dev, o.transferId).filter((s, i, a) => a.indexOf(s) === i);
    t.deepEqual(seen, ['offered', 'downloading', 'verifying', 'installing', 'self_testing', 'activating', 'health_check', 'succeeded']);
    const downloading = dev.status.all.filter((s) => s.transferId === o.transferId && s.state === 'downloading');
    t.is(downloading[0].total, readFileSync(file).length);
    await until(() => (loop.versions.get('2.0.0') ?? 0) > 5, 'replies from 2.0.0');
    await loop.stop();
    t.deepEqual(loop.errors, [], 'no request failed across the switch');
    t.is(dev.version(), '2.0.0');
    const st = stateOf(dev);
    t.like(st.models.motion, { active: 'a', activeVersion: '2.0.0', previous: 'config', previousVersion: '1.0.0' });
    t.is(st.models.motion.pending, undefined, 'confirmed after the health window');
    t.is(st.transfer, undefined);
    t.false(existsSync(path.join(dev.stateDir, 'incoming', `${o.transferId}.qie`)));
    t.like((dev.daemon.status() as unknown as { ota: { models: Record<string, unknown> } }).ota.models.motion, { version: '2.0.0', confirmed: true });
    // the same order again gets the same answer, and nothing is downloaded again
    const again = dev.status.until((s) => s.transferId === o.transferId && s.state === 'succeeded');
    await dev.client.publishAsync('qie/dev1/ota/order', JSON.stringify({ type: 'update', transferId: o.transferId, header: readFileSync(file).subarray(0, 76 + readFileSync(file).readUInt32LE(8)).toString('base64'), bundle: { size: 4096, sha256: '0'.repeat(64), chunkSize: 4096, chunkSha256: ['0'.repeat(64)] } }), { qos: 1 });
    t.is((await again).activeVersion, '2.0.0');
    // restart: the active slot is served again
    await dev.close();
    dev = await startDevice(kit, 'dev1');
    t.is(dev.version(), '2.0.0');
    // a slot damaged on disk is never served: back to the configured file
    await dev.close();
    const slotFile = path.join(kit.dir, 'dev1', 'slots', 'a', 'motion.qie');
    const b = readFileSync(slotFile);
    b[b.length - 5] ^= 1;
    writeFileSync(slotFile, b);
    dev = await startDevice(kit, 'dev1');
    t.is(dev.version(), '1.0.0');
    t.deepEqual(stateOf(dev).models, {}, 'state.json follows what is served');
    // and the next update goes on from there
    const next = await dev.push(await kit.bundle('3.0.0'));
    t.is(next.state, 'succeeded');
    t.is(next.previousVersion, '1.0.0');
    t.is(dev.version(), '3.0.0');
  } finally {
    await dev.close();
  }
});

test('refused updates leave the running model alone: untrusted key, bad signature, self-test failure, downgrade, unknown model, no space', async (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  const dev = await startDevice(kit, 'dev2');
  try {
    const cases: [string, Promise<string>][] = [
      ['failed:untrusted_key', kit.bundle('2.0.0', { signer: 'stranger' })],
      ['failed:self_test_failed', kit.bundle('2.0.0', { tamper: (m) => ({ ...m, selfTest: m.selfTest.map((v) => ({ ...v, outputs: v.outputs.map((o) => { const b = Buffer.from(o, 'base64'); b[1] ^= 0x40; return b.toString('base64'); }) })) }) })],
      ['failed:downgrade', kit.bundle('0.9.0')],
      ['failed:downgrade', kit.bundle('1.0.0')],
      ['failed:engine_too_old', kit.bundle('3.0.0', { tamper: (m) => ({ ...m, minEngine: '99.0.0' }) })],
    ];
    for (const [want, file] of cases) {
      const s = await dev.push(await file);
      t.is(s.state, want, s.reason);
      t.truthy(s.reason);
      t.is(dev.version(), '1.0.0');
      t.is(s.activeVersion, '1.0.0');
    }
    const unknown = await dev.push(await kit.bundle('3.0.0', { tamper: (m) => ({ ...m, name: 'other' }) }));
    t.is(unknown.state, 'failed:unknown_model');
    t.is(dev.version(), '1.0.0');
    // the self-test failure got as far as the shadow instance, and no further
    const st = stateOf(dev);
    t.deepEqual(st.models, {});
    t.is(st.transfer, undefined);
    // a signature that does not match the manifest (key id of the trusted key)
    const forged = await kit.bundle('2.0.0', { signer: 'stranger', tamper: (m) => ({ ...m, keyId: kit.keys.keyId }) });
    t.is((await dev.push(forged)).state, 'failed:bad_signature');
    // a truncated bundle (the signed manifest says how long it must be) and one with bytes appended
    const whole = readFileSync(await kit.bundle('2.0.0'));
    const cut = path.join(kit.dir, 'cut.qie');
    writeFileSync(cut, whole.subarray(0, whole.length - 100));
    t.is((await dev.push(cut)).state, 'failed:truncated');
    writeFileSync(cut, Buffer.concat([whole, Buffer.alloc(10)]));
    t.is((await dev.push(cut)).state, 'failed:oversize');
    t.is(dev.version(), '1.0.0');
    // garbage orders never stop the daemon; one with a readable transferId is answered
    await dev.client.publishAsync('qie/dev2/ota/order', '{"type":"update","transferId":"garbage-1","header":"!!"}', { qos: 1 });
    await dev.client.publishAsync('qie/dev2/ota/order', Buffer.from([0xff, 0x00, 0x13]), { qos: 1 });
    t.is((await dev.status.until((s) => s.transferId === 'garbage-1')).state, 'failed:bad_order');
  } finally {
    await dev.close();
  }
  const small = await startDevice(kit, 'dev2q', { maxStorageBytes: 2000 });
  try {
    const s = await small.push(await kit.bundle('2.0.0'));
    t.is(s.state, 'failed:no_space');
    t.regex(s.reason!, /maxStorageBytes 2000/);
    t.is(small.version(), '1.0.0');
  } finally {
    await small.close();
  }
});

test('a model that fails after the switch is rolled back within the health window', async (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  const dev = await startDevice(kit, 'dev3', { healthWindowS: 120, healthMinRuns: 4, maxErrorRate: 0.2 });
  const loop = requestLoop(dev.client, 'dev3', 2);
  try {
    await until(() => (loop.versions.get('1.0.0') ?? 0) > 3, 'replies from 1.0.0');
    // 6.6.6 passes its self-test (the fault hits runs once it serves), then every run fails
    const s = await dev.push(await kit.bundle('6.6.6'));
    t.is(s.state, 'rolled_back:health_check', JSON.stringify(s));
    t.is(s.activeVersion, '1.0.0');
    t.regex(s.reason!, /runs failed/);
    const before = loop.versions.get('1.0.0') ?? 0;
    await until(() => (loop.versions.get('1.0.0') ?? 0) > before + 5, 'replies from 1.0.0 again');
    await loop.stop();
    t.true(loop.errors.length > 0 && loop.errors.every((e) => /^internal: injected fault/.test(e)), loop.errors.slice(0, 3).join('; '));
    t.is(dev.version(), '1.0.0');
    t.deepEqual(stateOf(dev).models, {}, 'back on the configured file');
  } finally {
    await loop.stop();
    await dev.close();
  }
});

test('downgrades need a signed, fresh rollback order for this device', async (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  const dev = await startDevice(kit, 'dev4');
  const rollback = async (body: { toVersion: string; issuedAt?: number; deviceId?: string }, signer: 'trusted' | 'stranger' = 'trusted'): Promise<OtaStatusMsg> => {
    const n = dev.status.all.length;
    await dev.client.publishAsync('qie/dev4/ota/order', rollbackOrder(kit, { deviceId: body.deviceId ?? 'dev4', name: 'motion', toVersion: body.toVersion, issuedAt: body.issuedAt ?? Date.now() }, signer), { qos: 1 });
    return dev.status.until((s) => dev.status.all.indexOf(s) >= n && isFinalState(s.state));
  };
  try {
    t.is((await dev.push(await kit.bundle('2.0.0'))).state, 'succeeded');
    const v15 = await kit.bundle('1.5.0');
    t.is((await dev.push(v15)).state, 'failed:downgrade');
    t.is((await rollback({ toVersion: '1.5.0' }, 'stranger')).state, 'failed:untrusted_key');
    t.is((await rollback({ toVersion: '1.5.0', issuedAt: Date.now() - 2 * 3600_000 })).state, 'failed:bad_order');
    t.is((await rollback({ toVersion: '1.5.0', deviceId: 'someone-else' })).state, 'failed:bad_order');
    t.is(dev.version(), '2.0.0');
    // an order naming a version that is not here allows the update to it
    const issuedAt = Date.now();
    t.is((await rollback({ toVersion: '1.5.0', issuedAt })).state, 'succeeded');
    const s = await dev.push(v15);
    t.is(s.state, 'succeeded');
    t.is(s.previousVersion, '2.0.0');
    t.is(dev.version(), '1.5.0');
    // a replayed order is refused
    t.is((await rollback({ toVersion: '1.5.0', issuedAt })).state, 'failed:bad_order');
    // an order naming the previous version switches back to it at once
    const back = await rollback({ toVersion: '2.0.0' });
    t.is(back.state, 'rolled_back:operator');
    t.is(back.activeVersion, '2.0.0');
    t.is(dev.version(), '2.0.0');
  } finally {
    await dev.close();
  }
});

test('the update lock defers activation; release or the maximum deferral ends it; a second order meanwhile is busy', async (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  const dev = await startDevice(kit, 'dev5', { maxDeferralS: 600 });
  try {
    await dev.client.publishAsync('qie/dev5/ota/lock', JSON.stringify({ holdS: 600 }), { qos: 1 });
    await until(() => (dev.daemon.status() as unknown as { ota: { lockedUntil: string | null } }).ota.lockedUntil !== null, 'the lock');
    const o = await offer(dev.client, 'dev5', await kit.bundle('2.0.0'));
    await dev.status.until((s) => s.transferId === o.transferId && s.state === 'deferred');
    t.is(dev.version(), '1.0.0', 'deferred: not switched');
    const other = await offer(dev.client, 'dev5', await kit.bundle('2.1.0'));
    t.is((await dev.status.until((s) => s.transferId === other.transferId && isFinalState(s.state))).state, 'failed:busy');
    await other.stop();
    t.is(dev.version(), '1.0.0');
    await dev.client.publishAsync('qie/dev5/ota/lock', JSON.stringify({ holdS: 0 }), { qos: 1 });
    const s = await dev.status.until((x) => x.transferId === o.transferId && isFinalState(x.state));
    await o.stop();
    t.is(s.state, 'succeeded');
    t.is(dev.version(), '2.0.0');
  } finally {
    await dev.close();
  }
  const short = await startDevice(kit, 'dev5b', { maxDeferralS: 1 });
  try {
    await short.client.publishAsync('qie/dev5b/ota/lock', JSON.stringify({ holdS: 600 }), { qos: 1 });
    await until(() => (short.daemon.status() as unknown as { ota: { lockedUntil: string | null } }).ota.lockedUntil !== null, 'the lock');
    const o = await offer(short.client, 'dev5b', await kit.bundle('2.0.0'));
    const s = await short.status.until((x) => x.transferId === o.transferId && isFinalState(x.state));
    await o.stop();
    t.is(s.state, 'succeeded');
    t.true(statesOf(short, o.transferId).includes('deferred'));
    // lockOverride skips the lock
    const o2 = await offer(short.client, 'dev5b', await kit.bundle('2.1.0'), { lockOverride: true });
    const s2 = await short.status.until((x) => x.transferId === o2.transferId && isFinalState(x.state));
    await o2.stop();
    t.is(s2.state, 'succeeded');
    t.false(statesOf(short, o2.transferId).includes('deferred'));
    t.is(short.version(), '2.1.0');
    // a garbage lock message is ignored
    await short.client.publishAsync('qie/dev5b/ota/lock', '{"holdS":"forever"}', { qos: 1 });
    t.is(short.version(), '2.1.0');
  } finally {
    await short.close();
  }
});

test('state.json is replaced atomically: a crash before the rename leaves the old state', (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  const dir = path.join(kit.dir, 'store');
  const store = new OtaStore(dir);
  const s = store.load();
  s.models.motion = { active: 'a', activeVersion: '2.0.0', previous: 'config', previousVersion: '1.0.0' };
  store.save(s);
  store.atomicHooks.beforeRename = () => {
    throw new Error('power cut');
  };
  const next = store.load();
  next.models.motion = { active: 'b', activeVersion: '3.0.0' };
  t.throws(() => store.save(next), { message: 'power cut' });
  t.true(existsSync(path.join(dir, 'state.json.tmp')), 'the new state was only in the temp file');
  // the next start: the temp file is dropped, the old state is read
  const again = new OtaStore(dir);
  t.false(existsSync(path.join(dir, 'state.json.tmp')));
  t.like(again.load().models.motion, { active: 'a', activeVersion: '2.0.0' });
  // a damaged state file is reported, never a crash
  writeFileSync(path.join(dir, 'state.json'), '{"format":1,"models":');
  const damaged = new OtaStore(dir);
  t.deepEqual(damaged.load().models, {});
  t.regex(damaged.loadProblem!, /not JSON/);
});

test('the ota config section: defaults, bounds, paths relative to the config file', (t) => {
  const { parseConfig } = require('../src/config/load') as typeof import('../src/config/load');
  const c = parseConfig({ ota: { stateDir: 'ota', trustedKeys: ['keys/a.pub'] } }, '/etc/qie');
  t.like(c.ota, { stateDir: '/etc/qie/ota', trustedKeys: ['/etc/qie/keys/a.pub'], healthWindowS: 60, maxErrorRate: 0.05, crashLoopStarts: 3, maxDeferralS: 600, clockSkewS: 60 });
  t.throws(() => parseConfig({ ota: { stateDir: 'ota', trustedKeys: ['k'], clockSkewS: -1 } }, '/etc/qie'), { message: /ota\.clockSkewS/ });
  t.is(c.ota!.maxStorageBytes, undefined);
  t.throws(() => parseConfig({ ota: { stateDir: 'ota', trustedKeys: [] } }, '/etc/qie'), { message: /ota\.trustedKeys/ });
  t.throws(() => parseConfig({ ota: { stateDir: 'ota', trustedKeys: ['k'], maxErrorRate: 2 } }, '/etc/qie'), { message: /ota\.maxErrorRate/ });
  t.throws(() => parseConfig({ ota: { stateDir: 'ota', trustedKeys: ['k'], healthWindow: 2 } }, '/etc/qie'), { message: /ota\.healthWindow: unknown key/ });
});

test('a 4 MB mobilenet_v2 bundle is delivered, self-tested and activated', async (t) => {
  if (!sharedDir()) {
    t.log('NOTICE: ../shared not found: skipping the mobilenet_v2 update');
    t.pass();
    return;
  }
  const kit = makeKit();
  t.teardown(kit.cleanup);
  const model = readFileSync(modelPath('mobilenet_v2'));
  const { makeBundle } = require('../src/ota/make-bundle') as typeof import('../src/ota/make-bundle');
  const { createPrivateKey } = require('node:crypto') as typeof import('node:crypto');
  const { bundle } = await makeBundle({ model, name: 'mnv2', version: '2.0.0', key: createPrivateKey(kit.keys.privatePem) });
  t.true(bundle.length > 4_000_000);
  const file = path.join(kit.dir, 'mnv2.qie');
  writeFileSync(file, bundle);
  const config = configSchema.parse({
    deviceId: 'big1',
    embeddedBroker: { port: 0 },
    logLevel: 'silent',
    models: [{ name: 'mnv2', path: modelPath('mobilenet_v2'), version: '1.0.0' }],
    ota: { stateDir: path.join(kit.dir, 'big1'), trustedKeys: [kit.pubFile], healthWindowS: 1 },
  });
  const daemon = new Daemon(config, { log: createLogger('silent', 'big1') });
  await daemon.start();
  const client = await connectClient(daemon.brokerUrl, { protocolVersion: 4 });
  try {
    const status = await watchStatus(client, 'big1');
    const o = await offer(client, 'big1', file);
    const s = await status.until((x) => x.transferId === o.transferId && isFinalState(x.state), 120_000);
    await o.stop();
    t.is(s.state, 'succeeded', JSON.stringify(s));
    t.is(s.total, bundle.length);
    t.is(daemon.scheduler.get('mnv2')?.identity.version, '2.0.0');
  } finally {
    await client.endAsync();
    await daemon.stop();
  }
});

test('an installed update that every start fails to finish is given up: failed:crash_loop', async (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  let dev = await startDevice(kit, 'dev6', { crashLoopStarts: 2 });
  let transferId: string;
  try {
    await dev.client.publishAsync('qie/dev6/ota/lock', JSON.stringify({ holdS: 600 }), { qos: 1 });
    await until(() => (dev.daemon.status() as unknown as { ota: { lockedUntil: string | null } }).ota.lockedUntil !== null, 'the lock');
    const o = await offer(dev.client, 'dev6', await kit.bundle('2.0.0'));
    transferId = o.transferId;
    await dev.status.until((s) => s.transferId === o.transferId && s.state === 'deferred');
    await o.stop();
  } finally {
    await dev.close();
  }
  // stopped while deferred: installed, not active; as if two start-ups had died in its self-test
  const file = path.join(dev.stateDir, 'state.json');
  const st = JSON.parse(readFileSync(file, 'utf8'));
  t.like(st.transfer, { transferId, phase: 'installed', name: 'motion' });
  st.transfer.resumes = 2;
  writeFileSync(file, JSON.stringify(st));
  dev = await startDevice(kit, 'dev6', { crashLoopStarts: 2 });
  try {
    const s = await dev.status.until((x) => x.transferId === transferId && isFinalState(x.state));
    t.is(s.state, 'failed:crash_loop');
    t.is(dev.version(), '1.0.0');
    t.is(stateOf(dev).transfer, undefined);
  } finally {
    await dev.close();
  }
});

/** The retained OTA status as a client connecting now reads it. */
async function retainedStatus(dev: Device): Promise<OtaStatusMsg> {
  const c = await connectClient(dev.daemon.brokerUrl, { protocolVersion: 4 });
  try {
    const s = await watchStatus(c, dev.id);
    return await s.until(() => true, 10_000);
  } finally {
    await c.endAsync();
  }
}

async function sendRollback(dev: Device, kit: Kit, toVersion: string, issuedAt = Date.now()): Promise<OtaStatusMsg> {
  const n = dev.status.all.length;
  await dev.client.publishAsync(`qie/${dev.id}/ota/order`, rollbackOrder(kit, { deviceId: dev.id, name: 'motion', toVersion, issuedAt }), { qos: 1 });
  return dev.status.until((s) => dev.status.all.indexOf(s) >= n && isFinalState(s.state));
}

test('a version rolled back by a signed order is refused when its update is replayed; a signed order naming it allows it again', async (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  const dev = await startDevice(kit, 'dev7');
  try {
    const v2 = await kit.bundle('2.0.0');
    t.is((await dev.push(v2)).state, 'succeeded');
    const back = await sendRollback(dev, kit, '1.0.0');
    t.is(back.state, 'rolled_back:operator');
    t.is(dev.version(), '1.0.0');
    // the same signed bundle offered again (a replayed order under a new transfer id): newer than 1.0.0, still refused
    const replay = await dev.push(v2);
    t.is(replay.state, 'failed:rolled_back', replay.reason);
    t.regex(replay.reason!, /rolled back here \(operator/);
    t.is(dev.version(), '1.0.0');
    t.like(stateOf(dev).rolledBack[0], { name: 'motion', version: '2.0.0', by: 'operator' });
    // an order naming 2.0.0 allows it again (and takes it off the list once it serves)
    t.is((await sendRollback(dev, kit, '2.0.0', Date.now() + 1)).state, 'succeeded');
    t.is((await dev.push(v2)).state, 'succeeded');
    t.is(dev.version(), '2.0.0');
    t.deepEqual(stateOf(dev).rolledBack, []);
  } finally {
    await dev.close();
  }
});

test('a version rolled back by its health window is refused when offered again', async (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  const dev = await startDevice(kit, 'dev8', { healthWindowS: 120, healthMinRuns: 3, maxErrorRate: 0.2 });
  const loop = requestLoop(dev.client, 'dev8', 2);
  try {
    const sick = await kit.bundle('6.6.6');
    t.is((await dev.push(sick)).state, 'rolled_back:health_check');
    const again = await dev.push(sick);
    t.is(again.state, 'failed:rolled_back', again.reason);
    t.false(statesOf(dev, dev.status.all.at(-1)!.transferId).includes('downloading'), 'refused from the order, nothing downloaded');
    t.is(dev.version(), '1.0.0');
  } finally {
    await loop.stop();
    await dev.close();
  }
});

test('state.json lost between restarts: older bundles and rolled-back versions are still refused (floor from the verified slots, list from guard.json)', async (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  let dev = await startDevice(kit, 'dev9', { healthWindowS: 2, healthMinRuns: 3, maxErrorRate: 0.2 });
  const sick = await kit.bundle('6.6.6');
  const loop = requestLoop(dev.client, 'dev9', 2);
  try {
    t.is((await dev.push(await kit.bundle('2.0.0'))).state, 'succeeded');
    t.is((await dev.push(sick)).state, 'rolled_back:health_check');
    t.is(dev.version(), '2.0.0');
  } finally {
    await loop.stop();
    await dev.close();
  }
  unlinkSync(path.join(dev.stateDir, 'state.json'));
  dev = await startDevice(kit, 'dev9');
  try {
    t.is(dev.version(), '1.0.0', 'without state.json the configured file serves');
    const lost = await retainedStatus(dev);
    t.is(lost.state, 'failed:state_lost', 'the retained status no longer says succeeded');
    t.is(lost.activeVersion, '1.0.0');
    const older = await dev.push(await kit.bundle('1.5.0'));
    t.is(older.state, 'failed:downgrade', older.reason);
    t.regex(older.reason!, /older than 2\.0\.0, held verified in slot a/);
    t.is((await dev.push(sick)).state, 'failed:rolled_back');
    t.is(dev.version(), '1.0.0');
  } finally {
    await dev.close();
  }
  // guard.json lost instead: state.json still has the list
  unlinkSync(path.join(dev.stateDir, 'guard.json'));
  dev = await startDevice(kit, 'dev9');
  try {
    t.is((await dev.push(sick)).state, 'failed:rolled_back');
    t.is((await dev.push(await kit.bundle('2.1.0'))).state, 'succeeded');
    t.is(dev.version(), '2.1.0');
  } finally {
    await dev.close();
  }
});

test('a rollback order dated beyond the clock skew is refused and does not block correctly dated ones', async (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  const dev = await startDevice(kit, 'dev10'); // ota.clockSkewS: the default 60 s
  try {
    t.is((await dev.push(await kit.bundle('2.0.0'))).state, 'succeeded');
    const ahead = await sendRollback(dev, kit, '1.5.0', Date.now() + 30 * 60_000);
    t.is(ahead.state, 'failed:bad_order');
    t.regex(ahead.reason!, /in the future/);
    t.is(stateOf(dev).rollbackSeen, undefined);
    // within the skew: accepted
    t.is((await sendRollback(dev, kit, '1.4.0', Date.now() + 10_000)).state, 'succeeded');
    // a correctly dated order after the refused one
    const now = await sendRollback(dev, kit, '1.5.0', Date.now() + 11_000);
    t.is(now.state, 'succeeded', now.reason);
    t.is((await dev.push(await kit.bundle('1.5.0'))).state, 'succeeded');
    t.is(dev.version(), '1.5.0');
  } finally {
    await dev.close();
  }
});

test('after a fallback from a damaged slot the retained OTA status says what serves and why', async (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  let dev = await startDevice(kit, 'dev11');
  let last: OtaStatusMsg;
  try {
    t.is((await dev.push(await kit.bundle('2.0.0'))).state, 'succeeded');
    last = await dev.push(await kit.bundle('3.0.0'));
    t.is(last.state, 'succeeded');
  } finally {
    await dev.close();
  }
  // 3.0.0 went into slot b; damage it
  const slotFile = path.join(dev.stateDir, 'slots', 'b', 'motion.qie');
  const b = readFileSync(slotFile);
  b[b.length - 3] ^= 1;
  writeFileSync(slotFile, b);
  dev = await startDevice(kit, 'dev11');
  try {
    t.is(dev.version(), '2.0.0');
    const s = await retainedStatus(dev);
    t.is(s.state, 'failed:slot_damaged', JSON.stringify(s));
    t.is(s.activeVersion, '2.0.0');
    t.is(s.version, '3.0.0');
    t.regex(s.reason!, /slot b \(motion 3\.0\.0\) did not verify at start-up: serving 2\.0\.0 from slot a/);
    t.like((dev.daemon.status() as unknown as { ota: { state: string; models: Record<string, unknown> } }).ota, { state: 'failed:slot_damaged', models: { motion: { version: '2.0.0' } } });
    // the damaged version may be sent again (it no longer verifies, so it holds no floor)
    t.is((await dev.push(await kit.bundle('3.0.0'))).state, 'succeeded');
    t.is(dev.version(), '3.0.0');
  } finally {
    await dev.close();
  }
});
