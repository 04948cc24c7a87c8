// OTA fault injection against real daemons and a real mosquitto, with the small demo
// model (3.8 KB bundle, 1 KiB chunks): SIGKILL during the download and during the
// activation (restart: resume or finish), a corrupt chunk, an untrusted key, a
// truncated bundle, a full disk (a real tmpfs when mounting works, else the quota),
// a broker restart, a failing self-test and a model that fails once switched. In
// every case the device ends with a final status and serves a verified model (the
// old one or the new one) — the one it reports. The rollout is the one `qie-fleet
// push` runs, called in process so the console side can inject faults; the last test
// runs the CLI itself (canary, group, failure threshold, status).
import test, { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { makeDemoModel } from '../firmware-tools/demo/model';
import { connectConsole } from '../firmware-tools/fleet/ota-console';
import { rollout, RolloutOptions, RolloutResult } from '../firmware-tools/fleet/ota-rollout';
import { describeBundle } from '../src/ota/transfer/server';
import { mosquittoAvailable } from './helpers/mosquitto';
import { badSelfTestBundle, DeviceSetup, inferVersion, makeKeys, OtaFleet, RequestStream, runFleet, signedBundle, startOtaFleet } from './helpers/ota-fleet';

const demo = makeDemoModel().tflite;
const INPUT = Buffer.alloc(96, 2);
const CHUNK = 1024;

type Rig = OtaFleet;

const rig = (t: ExecutionContext, ids: string[], per?: (id: string) => Partial<DeviceSetup>, env?: (id: string) => NodeJS.ProcessEnv): Promise<Rig> => startOtaFleet(t, ids, demo, per, env);

async function push(r: Rig, bundle: Buffer, extra: Partial<RolloutOptions> = {}): Promise<RolloutResult> {
  const file = path.join(r.dir, `bundle-${Math.random().toString(36).slice(2)}.qie`);
  writeFileSync(file, bundle);
  return rollout({ client: r.console, prefix: 'qie', bundle: await describeBundle(file, CHUNK), devices: r.devices.map((d) => d.id), timeoutMs: 120_000, resendMs: 3000, maxFailures: 100, ...extra });
}

const device = (r: Rig, id: string) => r.devices.find((d) => d.id === id)!;
const outcome = (res: RolloutResult, id: string) => res.devices.find((d) => d.deviceId === id)!;
const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** The device answers requests with the version its final status says is active. */
async function servesReported(t: ExecutionContext, r: Rig, res: RolloutResult, id: string, expected: string): Promise<void> {
  const o = outcome(res, id);
  // a bundle refused before its manifest is trusted names no model: no active version to report
  if (o.activeVersion !== undefined && o.activeVersion !== null) t.is(o.activeVersion, expected, `${id} ended ${o.state} reporting active ${o.activeVersion}`);
  t.is(await inferVersion(r.client, id, 'motion', INPUT), expected, `${id} serves ${expected}`);
}

if (!mosquittoAvailable()) {
  test('ota fault injection (skipped)', (t) => {
    t.log('NOTICE: /usr/sbin/mosquitto is absent: OTA fault tests skipped');
    t.pass();
  });
} else {
  test.serial('SIGKILL during the download (before chunk 1 and before chunk 3): the restarted daemon resumes and succeeds', async (t) => {
    const r = await rig(t, ['gw-k1', 'gw-k3']);
    const killAt: Record<string, number> = { 'gw-k1': 1, 'gw-k3': 3 };
    const killed = new Set<string>();
    const bundle = await signedBundle(demo, 'motion', '2.0.0', r.keys);
    // chunks go one at a time, 150 ms apart, so the progress file is written between them
    const paced = new Map<string, Promise<void>>();
    const res = await push(r, bundle, {
      serverHooks: {
        beforeSend: async (id, index) => {
          const turn = (paced.get(id) ?? Promise.resolve()).then(() => sleep(150));
          paced.set(id, turn);
          await turn;
          if (index === killAt[id] && !killed.has(id)) {
            killed.add(id);
            await device(r, id).killAndRestart();
          }
        },
      },
    });
    t.deepEqual([...killed].sort(), ['gw-k1', 'gw-k3']);
    for (const id of ['gw-k1', 'gw-k3']) {
      t.is(outcome(res, id).state, 'succeeded', JSON.stringify(r.watcher.states(id, res.transferId)));
      await servesReported(t, r, res, id, '2.0.0');
      t.is(device(r, id).daemon.count('serving'), 1, 'the restarted daemon served again');
    }
    // three chunks were written (and the progress saved) before the kill: the restart resumed
    await device(r, 'gw-k3').daemon.waitFor('ota: resuming a transfer', 1000);
  });

  test.serial('SIGKILL during the activation (self-test, health window): after the restart the device ends final and serves what it reports', async (t) => {
    const r = await rig(t, ['gw-self', 'gw-health'], () => ({ ota: { healthWindowS: 3 } }));
    const killOn: Record<string, string> = { 'gw-self': 'self_testing', 'gw-health': 'health_check' };
    const kills: Promise<void>[] = [];
    const killed = new Set<string>();
    const bundle = await signedBundle(demo, 'motion', '2.0.0', r.keys);
    const res = await push(r, bundle, {
      onUpdate: (d) => {
        if (d.state === killOn[d.deviceId] && !killed.has(d.deviceId)) {
          killed.add(d.deviceId);
          kills.push(device(r, d.deviceId).killAndRestart());
        }
      },
    });
    await Promise.all(kills);
    t.deepEqual([...killed].sort(), ['gw-health', 'gw-self']);
    for (const id of ['gw-self', 'gw-health']) {
      const o = outcome(res, id);
      t.true(o.state === 'succeeded' || o.state.startsWith('rolled_back:'), `${id}: ${o.state}`);
      await servesReported(t, r, res, id, o.state === 'succeeded' ? '2.0.0' : '1.0.0');
    }
  });

  test.serial('a corrupt chunk is re-pulled (the update succeeds); a chunk corrupt in every copy fails chunk_corrupt and the old model keeps serving', async (t) => {
    const r = await rig(t, ['gw-once', 'gw-always']);
    const bundle = await signedBundle(demo, 'motion', '2.0.0', r.keys);
    const res = await push(r, bundle, { serverHooks: { corrupt: (id, index, copy) => (id === 'gw-once' ? index === 2 && copy === 1 : index === 1) } });
    t.is(outcome(res, 'gw-once').state, 'succeeded');
    await servesReported(t, r, res, 'gw-once', '2.0.0');
    t.is(outcome(res, 'gw-always').state, 'failed:chunk_corrupt');
    await servesReported(t, r, res, 'gw-always', '1.0.0');
  });

  test.serial('untrusted key, truncated bundle, failing self-test: each refused with its reason, the old model keeps serving', async (t) => {
    const r = await rig(t, ['gw-a']);
    const stranger = makeKeys(path.join(r.dir, 'stranger'), 'stranger');
    const untrusted = await push(r, await signedBundle(demo, 'motion', '2.0.0', stranger));
    t.is(outcome(untrusted, 'gw-a').state, 'failed:untrusted_key');
    await servesReported(t, r, untrusted, 'gw-a', '1.0.0');

    const whole = await signedBundle(demo, 'motion', '2.0.0', r.keys);
    const truncated = await push(r, whole.subarray(0, whole.length - 700));
    t.regex(outcome(truncated, 'gw-a').state, /^failed:(truncated|bad_order)$/);
    await servesReported(t, r, truncated, 'gw-a', '1.0.0');

    const selfTest = await push(r, await badSelfTestBundle(demo, 'motion', '2.0.0', r.keys));
    t.is(outcome(selfTest, 'gw-a').state, 'failed:self_test_failed');
    t.false(r.watcher.states('gw-a', selfTest.transferId).includes('activating'), 'never activated');
    await servesReported(t, r, selfTest, 'gw-a', '1.0.0');

    // and the device still takes a good update afterwards
    const good = await push(r, whole);
    t.is(outcome(good, 'gw-a').state, 'succeeded');
    await servesReported(t, r, good, 'gw-a', '2.0.0');
  });

  test.serial('a full disk: refused before the download, or failing mid-way; the old model keeps serving, and once space is back the update succeeds', async (t) => {
    const mount = mkdtempSync(path.join(tmpdir(), 'qie-ota-tmpfs-'));
    let tmpfs = false;
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mount], { stdio: 'ignore' });
      tmpfs = true;
    } catch {
      t.log('NOTICE: mount -t tmpfs is not allowed here: the full disk is ota.maxStorageBytes instead');
    }
    t.teardown(() => {
      if (tmpfs) execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
      rmSync(mount, { recursive: true, force: true });
    });
    const stateDir = path.join(mount, 'state');
    mkdirSync(stateDir);
    const r = await rig(t, ['gw-disk'], () => ({ stateDir, ...(tmpfs ? {} : { ota: { maxStorageBytes: 2000 } }) }));
    const bundle = await signedBundle(demo, 'motion', '2.0.0', r.keys);
    const filler = path.join(mount, 'filler');
    const fill = (leave: number) => {
      const free = Number(statfsSync(mount).bavail) * Number(statfsSync(mount).bsize);
      writeFileSync(filler, Buffer.alloc(Math.max(0, free - leave)));
    };

    // 1: not enough room before it starts
    if (tmpfs) fill(64 * 1024);
    const before = await push(r, bundle, { timeoutMs: 60_000 });
    t.is(outcome(before, 'gw-disk').state, 'failed:no_space');
    await servesReported(t, r, before, 'gw-disk', '1.0.0');

    if (tmpfs) {
      // 2: room at the start, the disk fills up while chunks arrive
      unlinkSync(filler);
      const mid = await push(r, bundle, {
        timeoutMs: 60_000,
        serverHooks: {
          beforeSend: async (_id, index) => {
            if (index === 2) fill(0);
          },
        },
      });
      t.regex(outcome(mid, 'gw-disk').state, /^failed:(no_space|io)$/, JSON.stringify(device(r, 'gw-disk').daemon.lines.slice(-3)));
      t.log(`disk filled mid-transfer: ${outcome(mid, 'gw-disk').state}`);
      await servesReported(t, r, mid, 'gw-disk', '1.0.0');
      unlinkSync(filler);
    } else {
      return; // the quota stand-in cannot fill up mid-way or free space again
    }
    // 3: space is back: the same bundle goes through
    const after = await push(r, bundle);
    t.is(outcome(after, 'gw-disk').state, 'succeeded');
    await servesReported(t, r, after, 'gw-disk', '2.0.0');
  });

  test.serial('a broker restart mid-transfer: device and console reconnect, the update succeeds', async (t) => {
    const r = await rig(t, ['gw-b1', 'gw-b2']);
    const bundle = await signedBundle(demo, 'motion', '2.0.0', r.keys);
    let restarted: Promise<void> | undefined;
    const res = await push(r, bundle, {
      serverHooks: {
        beforeSend: async (_id, index) => {
          if (index === 2 && !restarted) restarted = r.broker.stop().then(() => sleep(500)).then(() => r.broker.restart());
          await restarted;
        },
      },
    });
    t.truthy(restarted);
    for (const id of ['gw-b1', 'gw-b2']) {
      t.is(outcome(res, id).state, 'succeeded');
      await servesReported(t, r, res, id, '2.0.0');
      t.true(device(r, id).daemon.count('connected to the broker') >= 2);
    }
  });

  test.serial('the broker down for 5 s mid-push: the console (qie-fleet push\'s own client) and the device wait it out, the update succeeds', async (t) => {
    const r = await rig(t, ['gw-long']);
    const pushClient = await connectConsole({ broker: r.broker.url, username: 'console', password: 'console-secret', prefix: 'qie' }, () => undefined);
    t.teardown(() => pushClient.endAsync(true));
    const bundle = await signedBundle(demo, 'motion', '2.0.0', r.keys);
    let outage: Promise<void> | undefined;
    let downMs = 0;
    const res = await push(r, bundle, {
      client: pushClient,
      timeoutMs: 60_000,
      serverHooks: {
        beforeSend: async (_id, index) => {
          if (index === 2 && !outage) {
            outage = (async () => {
              const t0 = Date.now();
              await r.broker.stop();
              await sleep(5000);
              await r.broker.restart();
              downMs = Date.now() - t0;
            })();
          }
          await outage;
        },
      },
    });
    t.truthy(outage);
    t.log(`broker down ${downMs} ms mid-transfer`);
    t.is(outcome(res, 'gw-long').state, 'succeeded', JSON.stringify(r.watcher.states('gw-long', res.transferId)));
    t.true(pushClient.connected, 'the console client is still connected');
    await servesReported(t, r, res, 'gw-long', '2.0.0');
    t.true(device(r, 'gw-long').daemon.count('connected to the broker') >= 2);
  });

  test.serial('the console lost mid-push: pushing again with the same transfer id resumes the download', async (t) => {
    const r = await rig(t, ['gw-console']);
    const bundle = await signedBundle(demo, 'motion', '2.0.0', r.keys);
    // the first console serves chunks 0 and 1, then hangs until its push gives up
    let release!: () => void;
    const hung = new Promise<void>((res) => (release = res));
    const first = await push(r, bundle, {
      timeoutMs: 4000,
      serverHooks: { beforeSend: async (_id, index) => (index >= 2 ? hung : undefined) },
    });
    release();
    t.is(outcome(first, 'gw-console').state, 'failed:timeout');
    t.true(r.watcher.states('gw-console', first.transferId).includes('downloading'));
    const again = await push(r, bundle, { transferId: first.transferId });
    t.is(again.transferId, first.transferId);
    t.is(outcome(again, 'gw-console').state, 'succeeded');
    t.true(outcome(again, 'gw-console').traffic.distinct <= 2, 'only the chunks the first console never sent were sent again');
    await servesReported(t, r, again, 'gw-console', '2.0.0');
  });

  test.serial('a model that fails once switched is rolled back in its health window; requests keep being answered by a verified model', async (t) => {
    const r = await rig(t, ['gw-sick'], () => ({ ota: { healthWindowS: 20, healthMinRuns: 5 } }), () => ({ QIE_OTA_FAULT: 'run_error@2.0.0' }));
    const stream = new RequestStream(r.client, ['gw-sick'], 'motion', INPUT, 20);
    const res = await push(r, await signedBundle(demo, 'motion', '2.0.0', r.keys));
    await stream.stop();
    const o = outcome(res, 'gw-sick');
    t.is(o.state, 'rolled_back:health_check');
    const states = r.watcher.states('gw-sick', res.transferId);
    t.true(states.includes('health_check'));
    // rolled back on the error rate (after healthMinRuns runs), not at the 20 s window's end
    t.true(o.finishedAt! - o.orderedAt! < 20_000, `rolled back after ${o.finishedAt! - o.orderedAt!} ms`);
    await servesReported(t, r, res, 'gw-sick', '1.0.0');
    t.true(stream.versions.get('gw-sick')?.has('1.0.0'));
    t.true(stream.errors.length >= 1 && stream.errors.every((e) => e.includes('internal')), 'only the broken version failed requests');
  });

  test.serial('qie-fleet push: a failed canary stops the rollout; --max-failures lets it go on; exit codes and qie-fleet status', async (t) => {
    // gw-c0 is the canary (targets sort by id) and trusts another key: it refuses the bundle
    const r = await rig(t, ['gw-c0', 'gw-c1', 'gw-c2'], (id) => ({ group: 'plant', ...(id === 'gw-c0' ? { trusted: [makeKeys(path.join(tmpdir(), `qie-other-${process.pid}`), 'other')] } : {}) }));
    const file = path.join(r.dir, 'motion-2.0.0.qie');
    writeFileSync(file, await signedBundle(demo, 'motion', '2.0.0', r.keys));
    const auth = ['--broker', r.broker.url, '--username', 'console', '--password', 'console-secret'];

    const canary = await runFleet(['push', file, ...auth, '--group', 'plant', '--canary', '1', '--chunk-size', String(CHUNK), '--timeout', '60']);
    t.is(canary.code, 1, canary.stderr);
    t.regex(canary.stdout, /gw-c0\s+failed:untrusted_key/);
    t.regex(canary.stdout, /gw-c1\s+skipped/);
    t.regex(canary.stdout, /gw-c2\s+skipped/);
    t.regex(canary.stdout, /0 succeeded, 1 failed, 2 skipped — stopped: 1 of 1 canaries failed/);
    t.is(await inferVersion(r.client, 'gw-c1', 'motion', INPUT), '1.0.0');

    const tolerant = await runFleet(['push', file, ...auth, '--device', 'gw-c0', '--device', 'gw-c1,gw-c2', '--max-failures', '34%', '--parallel', '1', '--chunk-size', String(CHUNK), '--json']);
    t.is(tolerant.code, 1, 'not every device succeeded');
    const report = JSON.parse(tolerant.stdout) as RolloutResult;
    t.deepEqual(report.devices.map((d) => d.state), ['failed:untrusted_key', 'succeeded', 'succeeded']);
    t.is(report.stopped, undefined);
    for (const id of ['gw-c1', 'gw-c2']) t.is(await inferVersion(r.client, id, 'motion', INPUT), '2.0.0');

    const status = await runFleet(['status', ...auth]);
    t.is(status.code, 0, status.stderr);
    t.regex(status.stdout, /gw-c0\s+yes\s+motion\s+1\.0\.0\s+failed:untrusted_key/);
    t.regex(status.stdout, /gw-c1\s+yes\s+motion\s+2\.0\.0\s+succeeded\s+2\.0\.0\s+100%/);

    const bad = await runFleet(['push', file, ...auth]);
    t.is(bad.code, 2);
    t.regex(bad.stderr, /give exactly one of --device, --group, --all/);
    const noBroker = await runFleet(['push', file, '--broker', 'mqtt://127.0.0.1:1', '--device', 'x']);
    t.is(noBroker.code, 1);
    t.regex(noBroker.stderr, /cannot reach the broker/);
  });
}
