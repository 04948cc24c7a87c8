// The OTA fault loop of CI (issue 16): real `qie serve` daemons, a real mosquitto with
// the OTA ACL, the rollout `qie-fleet push` runs and its own console client. A seeded
// random schedule SIGKILLs each daemon at one moment of every update (a phase of the
// download, verification, self-test, switch or health window, plus a random delay),
// sometimes damages a slot, state.json, guard.json or the partial download while it is
// down, and sometimes floods the transfer with corrupt chunks nobody asked for. After
// every round the device must serve a verified model — the configured file or a slot
// that verifies, the new version exactly when the update succeeded — and the update
// must have ended with a clean outcome. Then: replayed and future-dated orders, and
// broker outages of 1-10 s during pushes. The figures are printed with t.log.
import test, { ExecutionContext } from 'ava';
import { createPublicKey } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import { makeDemoModel } from '../firmware-tools/demo/model';
import { connectConsole } from '../firmware-tools/fleet/ota-console';
import { rollout, RolloutOptions, RolloutResult } from '../firmware-tools/fleet/ota-rollout';
import { verifyBundleFile } from '../src/ota/bundle';
import { KeyRing, keyId, signBytes } from '../src/ota/keys';
import { encodeChunk, otaTopics } from '../src/ota/transfer/protocol';
import { BundleDescription, describeBundle } from '../src/ota/transfer/server';
import { seededRandom } from '../src/util/random';
import { mosquittoAvailable } from './helpers/mosquitto';
import { inferVersion, OtaDevice, OtaFleet, signedBundle, startOtaFleet } from './helpers/ota-fleet';

const SEED = Number(process.env.QIE_OTA_FAULT_SEED ?? 16);
/** Kill rounds per device (two devices run side by side: 2 x 17 = 34 kill points). */
const ROUNDS = 17;
const DEVICES = ['gw-loop-a', 'gw-loop-b'];
const CHUNK = 1024;
const INPUT = Buffer.alloc(96, 3);
const demo = makeDemoModel().tflite;

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));
const KILL_PHASES = ['offered', 'downloading', 'verifying', 'self_testing', 'activating', 'health_check'] as const;
const DAMAGE = ['none', 'none', 'active_slot', 'other_slot', 'state_deleted', 'state_garbage', 'guard_deleted', 'partial_download'] as const;

interface Figures {
  killsAt: Map<string, number>;
  outcomes: Map<string, number>;
  damage: Map<string, number>;
  served: Map<string, number>;
  floods: number;
  unsolicitedSent: number;
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

type Rig = OtaFleet & { ring: KeyRing };

async function rig(t: ExecutionContext): Promise<Rig> {
  const fleet = await startOtaFleet(t, DEVICES, demo, () => ({ ota: { chunkWindow: 1, chunkTimeoutMs: 500, healthWindowS: 1, crashLoopStarts: 3 } }));
  return { ...fleet, ring: KeyRing.fromFiles([fleet.keys.pubFile]) };
}

async function bundleFile(r: Rig, version: string): Promise<BundleDescription> {
  const file = path.join(r.dir, `motion-${version}.qie`);
  if (!existsSync(file)) writeFileSync(file, await signedBundle(demo, 'motion', version, r.keys));
  return describeBundle(file, CHUNK);
}

/** One console per device loop: a rollout unsubscribes its status topics when it ends. */
async function consoleFor(t: ExecutionContext, r: Rig): Promise<MqttClient> {
  const c = await connectConsole({ broker: r.broker.url, username: 'console', password: 'console-secret', prefix: 'qie' }, () => undefined);
  t.teardown(() => c.endAsync(true));
  return c;
}

function push(client: MqttClient, id: string, bundle: BundleDescription, extra: Partial<RolloutOptions> = {}): Promise<RolloutResult> {
  return rollout({ client, prefix: 'qie', bundle, devices: [id], timeoutMs: 120_000, resendMs: 2000, maxFailures: 1, ...extra });
}

/** What the device serves: the configured 1.0.0, or a version whose slot bundle verifies now. */
async function servedVersion(t: ExecutionContext, r: Rig, dev: OtaDevice, what: string): Promise<string> {
  const v = await inferVersion(r.client, dev.id, 'motion', INPUT, 30_000);
  if (v === '1.0.0') return v;
  const holders = (['a', 'b'] as const).filter((slot) => {
    try {
      return verifyBundleFile(path.join(dev.dir, 'state', 'slots', slot, 'motion.qie'), r.ring).header.manifest.version === v;
    } catch {
      return false;
    }
  });
  t.true(holders.length > 0, `${what}: ${dev.id} serves ${v}, which no verified slot holds`);
  return v;
}

function damage(dev: OtaDevice, kind: (typeof DAMAGE)[number], rnd: () => number): string {
  const stateDir = path.join(dev.dir, 'state');
  const stateFile = path.join(stateDir, 'state.json');
  const flip = (file: string): boolean => {
    if (!existsSync(file)) return false;
    const b = readFileSync(file);
    if (!b.length) return false;
    b[Math.floor(rnd() * b.length)] ^= 1 << Math.floor(rnd() * 8);
    writeFileSync(file, b);
    return true;
  };
  let active: string | undefined;
  try {
    active = (JSON.parse(readFileSync(stateFile, 'utf8')) as { models: Record<string, { active: string }> }).models.motion?.active;
  } catch {
    active = undefined;
  }
  switch (kind) {
    case 'none':
      return 'none';
    case 'active_slot':
    case 'other_slot': {
      const slot = kind === 'active_slot' ? (active ?? 'a') : active === 'a' ? 'b' : 'a';
      return flip(path.join(stateDir, 'slots', slot, 'motion.qie')) ? kind : 'none';
    }
    case 'state_deleted':
      if (!existsSync(stateFile)) return 'none';
      unlinkSync(stateFile);
      return kind;
    case 'state_garbage':
      if (!existsSync(stateFile)) return 'none';
      writeFileSync(stateFile, readFileSync(stateFile).subarray(0, 40));
      return kind;
    case 'guard_deleted':
      if (!existsSync(path.join(stateDir, 'guard.json'))) return 'none';
      unlinkSync(path.join(stateDir, 'guard.json'));
      return kind;
    case 'partial_download': {
      const inc = path.join(stateDir, 'incoming');
      const part = readdirSync(inc).find((f) => f.endsWith('.qie'));
      return part && flip(path.join(inc, part)) ? kind : 'none';
    }
  }
}

/** A signed rollback order for `id`. */
function rollbackOrder(r: Rig, id: string, toVersion: string, issuedAt: number): string {
  const bytes = Buffer.from(JSON.stringify({ deviceId: id, name: 'motion', toVersion, issuedAt, keyId: keyId(createPublicKey(r.keys.key)) }));
  return JSON.stringify({ type: 'rollback', order: bytes.toString('base64'), signature: signBytes(r.keys.key, bytes).toString('base64') });
}

async function sendRollback(r: Rig, console_: MqttClient, id: string, toVersion: string, issuedAt: number): Promise<string> {
  const n = r.watcher.seen.get(id)?.length ?? 0;
  await console_.publishAsync(otaTopics.order('qie', id), rollbackOrder(r, id, toVersion, issuedAt), { qos: 1 });
  const s = await r.watcher.waitFor(id, (x) => (r.watcher.seen.get(id) ?? []).indexOf(x) >= n && /^(succeeded|failed:|rolled_back:)/.test(x.state), 30_000);
  return s.state;
}

// no outcome for a fault the device must ride out: chunk_corrupt (only unsolicited copies are bad), transfer_timeout, internal
const CLEAN = /^(succeeded|rolled_back:(health_check|crash_loop|load_failed|operator)|failed:(downgrade|rolled_back|busy|slot_damaged|state_lost|hash_mismatch|bad_bundle|load_failed|self_test_failed))$/;

/** Kill rounds on one device: returns when all are done. */
async function killLoop(t: ExecutionContext, r: Rig, dev: OtaDevice, rnd: () => number, f: Figures, firstVersion: number): Promise<number> {
  const console_ = await consoleFor(t, r);
  let minor = firstVersion;
  for (let round = 0; round < ROUNDS; round++) {
    const version = `2.${minor++}.0`;
    const bundle = await bundleFile(r, version);
    const target = KILL_PHASES[Math.floor(rnd() * KILL_PHASES.length)];
    // verification, self-test and switch of the small bundle take milliseconds: kill close behind those states
    const slow = target === 'offered' || target === 'downloading' || target === 'health_check';
    const extraMs = slow ? Math.floor(rnd() * 200) : rnd() < 0.5 ? 0 : Math.floor(rnd() * 6);
    const damageKind = DAMAGE[Math.floor(rnd() * DAMAGE.length)];
    const flood = rnd() < 0.3;
    let lastState = 'ordered';
    const seenBefore = r.watcher.seen.get(dev.id)?.length ?? 0;
    // chosen here, so the flood knows the chunk topic before the order goes
    const transferId = `loop-${SEED}-${dev.id}-${round}-${Date.now().toString(36)}`;
    let kill: Promise<void> | undefined;
    let floodSent: Promise<unknown> | undefined;
    const res = await push(console_, dev.id, bundle, {
      serverHooks: {
        beforeSend: async (_id, index) => {
          await sleep(40);
          // while chunk 0 is asked for (one chunk at a time), bad copies of the last one: nobody asked for them
          if (flood && index === 0 && !floodSent) {
            const last = bundle.chunkSha256.length - 1;
            const topic = otaTopics.chunk('qie', dev.id, transferId);
            floodSent = Promise.all(Array.from({ length: 10 }, () => console_.publishAsync(topic, encodeChunk(last, Buffer.from(bundle.chunkSha256[last], 'hex'), Buffer.alloc(bundle.size - last * CHUNK, 0x55)), { qos: 1 })));
            f.unsolicitedSent += 10;
          }
        },
      },
      onUpdate: (d) => {
        if (d.state !== 'ordered') lastState = d.state;
        if (!kill && d.state === target) {
          const now = async () => {
            bump(f.killsAt, lastState);
            let did = 'none';
            // the SIGKILL goes out synchronously, inside this status message's handler when extraMs is 0
            await dev.killAndRestart(() => (did = damage(dev, damageKind, rnd)));
            bump(f.damage, did);
          };
          kill = extraMs === 0 ? now() : sleep(extraMs).then(now);
        }
      },
      transferId,
    });
    if (flood) f.floods++;
    await floodSent;
    if (!kill) {
      // the target phase went by unseen (or never came, e.g. a refusal): kill after the outcome
      kill = (async () => {
        bump(f.killsAt, `after:${res.devices[0].state}`);
        let did = 'none';
        await dev.killAndRestart(() => (did = damage(dev, damageKind, rnd)));
        bump(f.damage, did);
      })();
    }
    await kill;
    await dev.daemon.waitFor('serving', 60_000);
    const o = res.devices[0];
    bump(f.outcomes, o.state);
    const what = `${dev.id} round ${round} (${version}, kill at ${target}+${extraMs} ms, damage ${damageKind})`;
    t.regex(o.state, CLEAN, `${what}: ${o.state} ${o.reason ?? ''}`);
    const v = await servedVersion(t, r, dev, what);
    bump(f.served, v === version ? 'new' : v === '1.0.0' ? 'configured' : 'older slot');
    if (o.state === 'succeeded' && v !== version) {
      // killed after `succeeded`, then the active slot or the state damaged: the status must say what serves now
      const s = await r.watcher.waitFor(dev.id, (x) => (r.watcher.seen.get(dev.id) ?? []).indexOf(x) >= seenBefore && ['failed:slot_damaged', 'rolled_back:load_failed', 'failed:state_lost'].includes(x.state), 20_000);
      t.is(s.activeVersion, v, `${what}: the fallback status names what serves`);
      bump(f.outcomes, `then ${s.state}`);
    } else if (o.state !== 'succeeded') {
      t.not(v, version, `${what}: ${o.state}, yet the new version serves`);
    }
    t.is(dev.daemon.proc.exitCode, null, `${what}: the daemon runs`);
  }
  return minor;
}

if (!mosquittoAvailable()) {
  test('ota fault loop (skipped)', (t) => {
    t.log('NOTICE: /usr/sbin/mosquitto is absent: the OTA fault loop is skipped');
    t.pass();
  });
} else {
  test.serial(`OTA fault loop (seed ${SEED}): SIGKILL at ${ROUNDS * DEVICES.length} moments of updates, damage between restarts, unsolicited chunks, replayed and future-dated orders, broker outages`, async (t) => {
    t.timeout(600_000);
    const started = Date.now();
    const r = await rig(t);
    const rnd = seededRandom(SEED);
    const f: Figures = { killsAt: new Map(), outcomes: new Map(), damage: new Map(), served: new Map(), floods: 0, unsolicitedSent: 0 };
    // each device loop draws from its own stream (the two run side by side)
    const streams = DEVICES.map(() => seededRandom(Math.floor(rnd() * 2 ** 31)));
    const minors = await Promise.all(r.devices.map((dev, i) => killLoop(t, r, dev, streams[i], f, 1 + i * 100)));
    const killSeconds = (Date.now() - started) / 1000;
    const kills = [...f.killsAt.values()].reduce((a, b) => a + b, 0);
    t.true(kills >= 30, `${kills} kill points`);

    // replayed and future-dated orders on the first device
    const dev = r.devices[0];
    const console_ = await consoleFor(t, r);
    let minor = minors[0];
    const good = await bundleFile(r, `2.${minor++}.0`);
    t.is((await push(console_, dev.id, good)).devices[0].state, 'succeeded');
    const next = await bundleFile(r, `2.${minor++}.0`);
    const first = await push(console_, dev.id, next);
    t.is(first.devices[0].state, 'succeeded');
    const previous = (r.watcher.seen.get(dev.id) ?? []).filter((s) => s.transferId === first.transferId).at(-1) as unknown as { previousVersion?: string };
    t.truthy(previous.previousVersion);
    t.is(await sendRollback(r, console_, dev.id, previous.previousVersion!, Date.now()), 'rolled_back:operator');
    const replay = await push(console_, dev.id, next);
    t.is(replay.devices[0].state, 'failed:rolled_back', 'the rolled-back version offered again');
    const sameId = await push(console_, dev.id, next, { transferId: first.transferId });
    t.is(sameId.devices[0].state, 'succeeded', 'the very same order again: its recorded answer, nothing installed');
    t.is(await servedVersion(t, r, dev, 'after the replays'), previous.previousVersion!);
    t.is(await sendRollback(r, console_, dev.id, '1.0.0', Date.now() + 3_600_000), 'failed:bad_order');
    t.is(await sendRollback(r, console_, dev.id, '1.0.0', Date.now() - 2 * 3_600_000), 'failed:bad_order');
    t.is(await sendRollback(r, console_, dev.id, '1.5.0', Date.now()), 'succeeded', 'a correctly dated order after the future-dated one');

    // broker outages of 1-10 s during pushes to both devices
    const outages: number[] = [];
    for (let k = 0; k < 3; k++) {
      const downMs = 1000 + Math.floor(rnd() * 9000);
      const atChunk = Math.floor(rnd() * 3);
      let outage: Promise<void> | undefined;
      const consoles = await Promise.all(r.devices.map(() => consoleFor(t, r)));
      const results = await Promise.all(
        r.devices.map(async (d, i) =>
          push(consoles[i], d.id, await bundleFile(r, `3.${k}.${i}`), {
            timeoutMs: 90_000,
            serverHooks: {
              beforeSend: async (_id, index) => {
                if (index === atChunk && !outage) outage = r.broker.stop().then(() => sleep(downMs)).then(() => r.broker.restart());
                await outage;
              },
            },
          }),
        ),
      );
      outages.push(downMs);
      for (const [i, res] of results.entries()) {
        t.is(res.devices[0].state, 'succeeded', `outage ${downMs} ms: ${r.devices[i].id} ${res.devices[0].state} ${res.devices[0].reason ?? ''}`);
        t.is(await servedVersion(t, r, r.devices[i], `outage ${k}`), `3.${k}.${i}`);
      }
    }

    const fmt = (m: Map<string, number>) => [...m].sort().map(([k, v]) => `${k} ${v}`).join(', ');
    t.log(`seed ${SEED}: ${kills} SIGKILLs in ${killSeconds.toFixed(0)} s on ${DEVICES.length} daemons`);
    t.log(`kill points by the device's last published state: ${fmt(f.killsAt)}`);
    t.log(`damage while down: ${fmt(f.damage)}`);
    t.log(`outcomes: ${fmt(f.outcomes)}`);
    t.log(`served after each round: ${fmt(f.served)} (every one the configured file or a slot that verifies)`);
    t.log(`unsolicited corrupt chunks: ${f.unsolicitedSent} in ${f.floods} transfers`);
    t.log(`replay of a rolled-back version: ${replay.devices[0].state}; future-dated rollback order: failed:bad_order`);
    t.log(`broker outages during pushes (ms): ${outages.join(', ')}: every push succeeded`);
    t.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
  });
}
