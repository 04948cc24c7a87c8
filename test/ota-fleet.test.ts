// Acceptance of over-the-air updates: `qie-fleet push` (a child process, as an
// operator runs it) sends a signed mobilenet_v2 bundle (≈4 MB) to a fleet group of
// ten real daemons on a real mosquitto while a client keeps sending requests to
// every one of them. All ten end `succeeded` and serve the new version; not one
// request fails across the transfer and the switch; `qie-fleet status` agrees.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { mosquittoAvailable } from './helpers/mosquitto';
import { connectClient } from './helpers/mqtt-client';
import { startOtaBroker } from './helpers/ota-broker';
import { inferVersion, makeKeys, OtaDevice, RequestStream, runFleet, signedBundle } from './helpers/ota-fleet';
import { modelPath, sharedDir } from './helpers/shared';

const DEVICES = 10;

if (!mosquittoAvailable() || !sharedDir()) {
  test('ota fleet acceptance (skipped)', (t) => {
    t.log(`NOTICE: ${!mosquittoAvailable() ? '/usr/sbin/mosquitto is absent' : '../shared (mobilenet_v2) is absent'}: OTA fleet acceptance skipped`);
    t.pass();
  });
} else {
  test('push mobilenet_v2 to 10 daemons: all succeed, serve the new version, no request fails', async (t) => {
    t.timeout(300_000);
    const broker = await startOtaBroker();
    const dir = mkdtempSync(path.join(tmpdir(), 'qie-ota-fleet-'));
    const devices: OtaDevice[] = [];
    t.teardown(async () => {
      await Promise.all(devices.map((d) => d.dispose()));
      await broker.dispose();
      rmSync(dir, { recursive: true, force: true });
    });
    const keys = makeKeys(dir);
    const model = readFileSync(modelPath('mobilenet_v2'));
    const bundleFile = path.join(dir, 'mobilenet-1.1.0.qie');
    writeFileSync(bundleFile, await signedBundle(model, 'mobilenet', '1.1.0', keys));
    for (let i = 0; i < DEVICES; i++)
      devices.push(new OtaDevice(broker, { deviceId: `gw${i}`, group: 'ota-fleet', model: { name: 'mobilenet', file: 'mobilenet.tflite', bytes: model, version: '1.0.0' }, trusted: [keys] }));
    await Promise.all(devices.map((d) => d.daemon.waitFor('serving', 60_000)));

    const client = await connectClient(broker.url);
    t.teardown(() => client.endAsync());
    const input = Buffer.alloc(150528, 3);
    const stream = new RequestStream(client, devices.map((d) => d.id), 'mobilenet', input, 30);
    await until(() => devices.every((d) => stream.versions.get(d.id)?.has('1.0.0')));

    const push = await runFleet(['push', bundleFile, '--broker', broker.url, '--username', 'console', '--password', 'console-secret', '--group', 'ota-fleet', '--timeout', '240']);
    // a few more requests on the new version before stopping the stream
    const after = stream.ok;
    await until(() => stream.ok >= after + 20);
    await stream.stop();
    t.is(push.code, 0, `push failed: ${push.stdout}\n${push.stderr}`);
    t.is(push.stdout.match(/ succeeded /g)?.length, DEVICES, push.stdout);
    t.regex(push.stdout, new RegExp(`${DEVICES} succeeded, 0 failed, 0 skipped`));
    t.deepEqual(stream.errors, [], 'no request failed during transfer and switch');
    for (const d of devices) {
      t.deepEqual([...(stream.versions.get(d.id) ?? [])].sort(), ['1.0.0', '1.1.0'], `${d.id} served both versions`);
      t.is(await inferVersion(client, d.id, 'mobilenet', input), '1.1.0');
    }
    const status = await runFleet(['status', '--broker', broker.url, '--username', 'console', '--password', 'console-secret', '--json']);
    t.is(status.code, 0, status.stderr);
    const rows = JSON.parse(status.stdout) as { device: string; online: boolean; models: { version: string }[]; ota: { state: string } | null }[];
    t.is(rows.length, DEVICES);
    for (const r of rows) {
      t.true(r.online);
      t.deepEqual(r.models.map((m) => m.version), ['1.1.0']);
      t.is(r.ota?.state, 'succeeded');
    }
    t.log(push.stdout);
  });
}

async function until(cond: () => boolean, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
