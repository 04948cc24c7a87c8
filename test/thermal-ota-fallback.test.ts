// The thermal governor and OTA updates on one in-process daemon (embedded broker,
// sensor files written by the test, bundles through the real chunk transfer):
// an update activated while the governor serves the fallback must leave the new
// version serving after cooling, with no failed request and no disposed model run;
// a bundle packed with a fallback gives the governor that fallback, also after a restart.
import test from 'ava';
import { createPrivateKey } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { quantizeMlp } from '../firmware-tools/demo/quantize';
import { CLASSES, makeDataset } from '../firmware-tools/demo/synthetic';
import { train } from '../firmware-tools/demo/train';
import { configSchema } from '../src/config/schema';
import { Daemon } from '../src/daemon/daemon';
import { createExtensions } from '../src/daemon/extensions';
import type { ModelSlot } from '../src/daemon/scheduler';
import { makeBundle } from '../src/ota/make-bundle';
import type { ThermalExtension } from '../src/thermal/extension';
import { demo, isFinalState, Kit, makeKit, offer, requestLoop, watchStatus } from './helpers/device-ota';
import { captureLogger } from './helpers/log-capture';
import { connectClient } from './helpers/mqtt-client';

/** A lighter model with the demo model's inputs and outputs (4 hidden units instead of 16). */
function lightModel(): Uint8Array {
  const { x, y } = makeDataset(60, 2026);
  return quantizeMlp(train(x, y, 4, CLASSES.length), x, CLASSES);
}

function put(root: string, rel: string, text: string): void {
  const f = path.join(root, rel);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, text);
}

const setTemp = (root: string, c: number) => put(root, 'sys/class/thermal/thermal_zone0/temp', `${c * 1000}\n`);

async function until(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function bundleFile(kit: Kit, version: string, fallback?: Uint8Array): Promise<string> {
  const key = createPrivateKey(kit.keys.privatePem);
  const { bundle } = await makeBundle({ model: demo.tflite, name: 'motion', version, key, labels: [...demo.labels], seed: 7, fallback });
  const file = path.join(kit.dir, `motion-${version}.qie`);
  writeFileSync(file, bundle);
  return file;
}

async function startDevice(kit: Kit, id: string, fallbackPath?: string) {
  const root = path.join(kit.dir, `${id}-sys`);
  setTemp(root, 50);
  const { log, lines } = captureLogger('info');
  const config = configSchema.parse({
    deviceId: id,
    embeddedBroker: { port: 0 },
    models: [{ name: 'motion', path: kit.modelFile, version: '1.0.0', labels: [...demo.labels], instances: 2, priority: 5, ...(fallbackPath ? { fallbackPath } : {}) }],
    ota: { stateDir: path.join(kit.dir, id), trustedKeys: [kit.pubFile], healthWindowS: 1, healthMinRuns: 3 },
    thermal: { sysfsRoot: root, pollMs: 50, setpointC: 70, hardLimitC: 80, hysteresisC: 3, minDwellMs: 200, useCommands: false },
  });
  const extensions = createExtensions(config);
  const daemon = new Daemon(config, { log, extensions });
  await daemon.start();
  const client = await connectClient(daemon.brokerUrl, { protocolVersion: 4 });
  const status = await watchStatus(client, id);
  // every slot that is installed, and whether it was already disposed then
  const installed: { version: string; disposed: boolean; slot: ModelSlot }[] = [];
  daemon.scheduler.onReplace((_name, next) => installed.push({ version: next.identity.version, disposed: next.disposed, slot: next }));
  // every finished run, by version, with its outcome
  const runs: { version: string; ok: boolean }[] = [];
  daemon.scheduler.onFinish((slot, r) => runs.push({ version: slot.identity.version, ok: r.ok }));
  const thermal = extensions.find((x) => x.name === 'thermal') as ThermalExtension;
  const governor = () => (daemon.status() as unknown as { thermal: { governor: { level: string; fallback: string[]; fallbackErrors: Record<string, string> } } }).thermal.governor;
  return {
    daemon,
    client,
    root,
    lines,
    installed,
    runs,
    thermal,
    governor,
    version: () => daemon.scheduler.get('motion')?.identity.version,
    async push(file: string) {
      const o = await offer(client, id, file);
      try {
        return await status.until((s) => s.transferId === o.transferId && isFinalState(s.state));
      } finally {
        await o.stop();
      }
    },
    closed: false,
    async close() {
      if (this.closed) return;
      this.closed = true;
      await client.endAsync();
      await daemon.stop();
    },
  };
}

test('an update activated while the governor serves the fallback: after cooling the new version serves, nothing fails', async (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  const light = path.join(kit.dir, 'light.tflite');
  writeFileSync(light, lightModel());
  const dev = await startDevice(kit, 'gw-swap', light);
  t.teardown(() => dev.close());
  const loop = requestLoop(dev.client, 'gw-swap', 2);
  try {
    t.is(dev.version(), '1.0.0');
    setTemp(dev.root, 85);
    await until(() => dev.version() === '1.0.0-fallback', 'the config fallback to serve');
    t.deepEqual(dev.governor().fallback, ['motion']);

    // the update lands while the fallback serves
    const fin = await dev.push(await bundleFile(kit, '2.0.0'));
    t.is(fin.state, 'succeeded', fin.reason);
    await dev.thermal.fallbacksSettled();
    // still hot: the fallback is back in, now standing for the new version
    await until(() => dev.version() === '2.0.0-fallback', 'a fallback for the new version');
    t.deepEqual(dev.governor().fallback, ['motion']);
    const runsBefore = dev.runs.length;
    await until(() => dev.runs.slice(runsBefore).some((r) => r.version === '2.0.0-fallback'), 'runs of the new fallback');

    // cooling: the new version, never the old one
    setTemp(dev.root, 45);
    await until(() => dev.version() === '2.0.0', 'the new version after cooling');
    const runsCool = dev.runs.length;
    await until(() => dev.runs.slice(runsCool).filter((r) => r.version === '2.0.0').length >= 5, 'runs of the new version');
    await new Promise((r) => setTimeout(r, 500));
    t.deepEqual(dev.runs.slice(runsCool).filter((r) => !r.version.startsWith('2.0.0')), [], 'nothing older runs after cooling');
    t.is(dev.daemon.scheduler.get('motion')!.disposed, false);
  } finally {
    await loop.stop();
  }
  t.deepEqual(loop.errors, [], 'no request failed');
  t.true((loop.versions.get('2.0.0') ?? 0) > 0);
  t.deepEqual(dev.runs.filter((r) => !r.ok), [], 'no run failed (a disposed model answers shutting_down)');
  t.deepEqual(dev.installed.filter((i) => i.disposed), [], 'no disposed slot was installed');
  t.false(dev.lines.some((l) => l.msg === 'thermal: poll failed'), 'no governor poll failed');
  // the old version's slots held by the governor were freed, not leaked
  const old = dev.installed.filter((i) => i.version.startsWith('1.0.0'));
  t.true(old.length > 0);
  t.true(old.every((i) => i.slot.disposed));
  await dev.close();
});

test("a bundle's fallback is the governor's fallback: heat serves it, cooling brings the bundle's model back", async (t) => {
  const kit = makeKit();
  t.teardown(kit.cleanup);
  // no fallbackPath in the config: the only fallback is the bundle's
  const dev = await startDevice(kit, 'gw-bundle');
  t.teardown(() => dev.close());
  const loop = requestLoop(dev.client, 'gw-bundle', 2);
  try {
    t.deepEqual(dev.governor().fallback, []);
    const fin = await dev.push(await bundleFile(kit, '2.1.0', lightModel()));
    t.is(fin.state, 'succeeded', fin.reason);
    await dev.thermal.fallbacksSettled();
    t.is(dev.version(), '2.1.0');
    t.deepEqual(dev.governor().fallbackErrors, {});
    t.true(dev.lines.some((l) => l.msg === 'thermal: fallback model loaded' && l.version === '2.1.0-fallback' && /OTA bundle of 2\.1\.0/.test(String(l.from))));

    setTemp(dev.root, 85);
    await until(() => dev.version() === '2.1.0-fallback', "the bundle's fallback to serve");
    t.deepEqual(dev.governor().fallback, ['motion']);
    await until(() => (loop.versions.get('2.1.0-fallback') ?? 0) >= 3, "replies from the bundle's fallback");
    // the fallback is a different model: it has fewer parameters, so its slot is not the main model's
    const fb = dev.daemon.scheduler.get('motion')!;
    t.is(fb.instances.length, 2, "loaded with the model's instances");

    setTemp(dev.root, 45);
    await until(() => dev.version() === '2.1.0', "the bundle's main model after cooling");
    const seen = loop.versions.get('2.1.0') ?? 0;
    await until(() => (loop.versions.get('2.1.0') ?? 0) >= seen + 3, 'replies from the main model');
  } finally {
    await loop.stop();
  }
  t.deepEqual(loop.errors, []);
  t.deepEqual(dev.installed.filter((i) => i.disposed), []);
  await dev.close();

  // a restart serves the active bundle, and its fallback is the governor's again
  const again = await startDevice(kit, 'gw-bundle');
  t.teardown(() => again.close());
  t.is(again.version(), '2.1.0');
  t.true(again.lines.some((l) => l.msg === 'thermal: fallback model loaded' && l.version === '2.1.0-fallback' && /OTA bundle of 2\.1\.0/.test(String(l.from))));
  setTemp(again.root, 85);
  await until(() => again.version() === '2.1.0-fallback', "the bundle's fallback after a restart");
  await again.close();
});
