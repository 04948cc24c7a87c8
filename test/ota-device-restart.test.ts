// OTA across real daemon processes (`qie serve`, SIGKILL as a power cut would):
// a daemon that keeps dying after a switch is rolled back at start-up, before the
// new model loads; an update killed while it waited to activate is finished by the
// next start. The OTA status is republished from state.json after each start.
import test from 'ava';
import * as path from 'node:path';
import { DaemonProc, writeConfig } from './helpers/daemon-proc';
import { isFinalState, makeKit, offer, watchStatus } from './helpers/device-ota';
import { freePort } from './helpers/mosquitto';
import { connectClient } from './helpers/mqtt-client';

async function setup(t: import('ava').ExecutionContext, id: string, ota: Record<string, unknown>) {
  const kit = makeKit();
  const port = await freePort();
  const cfg = writeConfig(
    {
      deviceId: id,
      embeddedBroker: { port },
      logLevel: 'info',
      models: [{ name: 'motion', path: kit.modelFile, version: '1.0.0' }],
      ota: { stateDir: path.join(kit.dir, 'ota'), trustedKeys: [kit.pubFile], ...ota },
    },
    kit.dir,
  );
  const procs: DaemonProc[] = [];
  t.teardown(async () => {
    for (const p of procs) await p.stop('SIGKILL');
    kit.cleanup();
  });
  const start = async (): Promise<DaemonProc> => {
    const d = new DaemonProc(cfg.file);
    procs.push(d);
    await d.waitFor('serving', 60_000);
    return d;
  };
  const loadedVersion = async (d: DaemonProc): Promise<unknown> => (await d.waitFor('model loaded')).version;
  return { kit, url: `mqtt://127.0.0.1:${port}`, start, loadedVersion };
}

test('a daemon that crash-loops after a switch rolls back at start-up, before loading the new model', async (t) => {
  const s = await setup(t, 'crash1', { healthWindowS: 3600, crashLoopStarts: 2 });
  let d = await s.start();
  t.is(await s.loadedVersion(d), '1.0.0');
  const client = await connectClient(s.url, { protocolVersion: 4 });
  t.teardown(() => client.end(true));
  const status = await watchStatus(client, 'crash1');
  const o = await offer(client, 'crash1', await s.kit.bundle('2.0.0'));
  await status.until((x) => x.transferId === o.transferId && x.state === 'health_check');
  await o.stop();
  // the new version serves, unconfirmed; now the daemon dies again and again
  await d.stop('SIGKILL');
  for (let i = 1; i <= 2; i++) {
    d = await s.start();
    t.is(await s.loadedVersion(d), '2.0.0', `start ${i}: still within crashLoopStarts`);
    await d.stop('SIGKILL');
  }
  d = await s.start();
  await d.waitFor('OTA: crash loop after an activation: rolled back before loading');
  t.is(await s.loadedVersion(d), '1.0.0');
  // the outcome is published again (retained) once the daemon is connected
  const final = await status.until((x) => x.transferId === o.transferId && isFinalState(x.state));
  t.is(final.state, 'rolled_back:crash_loop');
  t.is(final.activeVersion, '1.0.0');
  t.is(await d.stop('SIGTERM'), 0);
});

test('an update killed while deferred by the lock is finished by the next start', async (t) => {
  const s = await setup(t, 'resume1', { healthWindowS: 1, healthMinRuns: 1, maxDeferralS: 600 });
  let d = await s.start();
  const client = await connectClient(s.url, { protocolVersion: 4 });
  t.teardown(() => client.end(true));
  const status = await watchStatus(client, 'resume1');
  await client.publishAsync('qie/resume1/ota/lock', JSON.stringify({ holdS: 600 }), { qos: 1 });
  const o = await offer(client, 'resume1', await s.kit.bundle('2.0.0'));
  await status.until((x) => x.transferId === o.transferId && x.state === 'deferred');
  await o.stop();
  await d.stop('SIGKILL');
  // the lock lived in the killed process; the installed bundle is verified, self-tested and activated
  d = await s.start();
  const final = await status.until((x) => x.transferId === o.transferId && isFinalState(x.state));
  t.is(final.state, 'succeeded', JSON.stringify(final));
  t.is(final.activeVersion, '2.0.0');
  await d.stop('SIGTERM');
  d = await s.start();
  t.is(await s.loadedVersion(d), '2.0.0');
  t.is(await d.stop('SIGTERM'), 0);
});
