// `npm run bench:ota`: how long a signed mobilenet_v2 bundle (≈4 MB) takes to reach
// and go live on 1 and on 10 daemons over loopback mosquitto (the rollout `qie-fleet
// push` runs), and the bytes on the wire against the bundle's size. Delivered = the
// device has every byte (it reports `verifying`), switched = the new version serves
// (`health_check`), succeeded = after its health window (1 s here). The demo model
// stands in when ../shared is absent. Not a test: it prints figures and writes
// bench-results/ota.json.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { makeDemoModel } from '../firmware-tools/demo/model';
import { rollout } from '../firmware-tools/fleet/ota-rollout';
import { describeBundle } from '../src/ota/transfer/server';
import { mosquittoAvailable } from '../test/helpers/mosquitto';
import { connectClient } from '../test/helpers/mqtt-client';
import { startOtaBroker } from '../test/helpers/ota-broker';
import { makeKeys, OtaDevice, signedBundle } from '../test/helpers/ota-fleet';
import { modelPath, sharedDir } from '../test/helpers/shared';

interface Row {
  devices: number;
  bundleBytes: number;
  deliveredMs: { median: number; max: number };
  switchedMs: { median: number; max: number };
  succeededMs: { median: number; max: number };
  allSucceededMs: number;
  wireBytes: number;
  payloadBytes: number;
  orderBytes: number;
  wirePerDeviceOverBundle: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  if (!mosquittoAvailable()) {
    console.error('bench:ota: /usr/sbin/mosquitto is needed');
    process.exitCode = 1;
    return;
  }
  const shared = sharedDir() !== undefined;
  const model = shared ? readFileSync(modelPath('mobilenet_v2')) : makeDemoModel().tflite;
  const modelName = shared ? 'mobilenet' : 'motion';
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-bench-ota-'));
  const broker = await startOtaBroker();
  const rows: Row[] = [];
  try {
    const keys = makeKeys(dir);
    const bundleFile = path.join(dir, 'bundle.qie');
    writeFileSync(bundleFile, await signedBundle(model, modelName, '1.1.0', keys));
    const bundle = await describeBundle(bundleFile);
    const consoleClient = await connectClient(broker.url, { username: 'console', password: 'console-secret' });
    for (const n of [1, 10]) {
      const devices: OtaDevice[] = [];
      for (let i = 0; i < n; i++)
        devices.push(new OtaDevice(broker, { deviceId: `bench${n}-${i}`, model: { name: modelName, file: 'model.tflite', bytes: model, version: '1.0.0' }, trusted: [keys] }));
      try {
        await Promise.all(devices.map((d) => d.daemon.waitFor('serving', 120_000)));
        const delivered = new Map<string, number>();
        const switched = new Map<string, number>();
        const t0 = performance.now();
        const res = await rollout({
          client: consoleClient,
          prefix: 'qie',
          bundle,
          devices: devices.map((d) => d.id),
          parallel: n,
          timeoutMs: 600_000,
          onUpdate: (d) => {
            if (d.state === 'verifying' && !delivered.has(d.deviceId)) delivered.set(d.deviceId, performance.now() - t0);
            if (d.state === 'health_check' && !switched.has(d.deviceId)) switched.set(d.deviceId, performance.now() - t0);
          },
        });
        const allMs = performance.now() - t0;
        if (res.succeeded !== n) throw new Error(`${n - res.succeeded} of ${n} devices did not succeed: ${res.devices.map((d) => `${d.deviceId} ${d.state}`).join(', ')}`);
        const done = res.devices.map((d) => d.finishedAt! - d.orderedAt!);
        const wire = res.devices.reduce((a, d) => a + d.traffic.wireBytes, 0);
        const payload = res.devices.reduce((a, d) => a + d.traffic.payloadBytes, 0);
        const stat = (m: Map<string, number>) => ({ median: median([...m.values()]), max: Math.max(...m.values()) });
        rows.push({
          devices: n,
          bundleBytes: bundle.size,
          deliveredMs: stat(delivered),
          switchedMs: stat(switched),
          succeededMs: { median: median(done), max: Math.max(...done) },
          allSucceededMs: allMs,
          wireBytes: wire,
          payloadBytes: payload,
          orderBytes: res.orderBytes,
          wirePerDeviceOverBundle: (wire + res.orderBytes) / n / bundle.size,
        });
      } finally {
        await Promise.all(devices.map((d) => d.dispose()));
      }
    }
    await consoleClient.endAsync();
  } finally {
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  const ms = (x: number) => (x / 1000).toFixed(2).padStart(7);
  console.log(`\nbundle: ${modelName} ${rows[0].bundleBytes} bytes, ${Math.ceil(rows[0].bundleBytes / 65536)} chunks of 64 KiB; health window 1 s\n`);
  console.log('devices  delivered s (med/max)  switched s (med/max)  succeeded s (med/max)  all done s  wire bytes   of which orders  wire/device/bundle');
  for (const r of rows)
    console.log(
      `${String(r.devices).padStart(7)}  ${ms(r.deliveredMs.median)} ${ms(r.deliveredMs.max)}        ${ms(r.switchedMs.median)} ${ms(r.switchedMs.max)}       ${ms(r.succeededMs.median)} ${ms(r.succeededMs.max)}        ${ms(r.allSucceededMs)}  ${String(r.wireBytes + r.orderBytes).padStart(11)}  ${String(r.orderBytes).padStart(15)}  ${r.wirePerDeviceOverBundle.toFixed(4)}`,
    );
  console.log(`\n(wire bytes: chunk PUBLISH packets + their PUBACKs + orders, console side; an order carries the bundle header (manifest with self-test vectors) in base64; ${cpus().length} cores, ${cpus()[0].model}; loopback mosquitto, QoS 1)`);
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(path.join('bench-results', 'ota.json'), JSON.stringify({ model: modelName, cpus: cpus().length, rows }, null, 2) + '\n');
  console.log('written: bench-results/ota.json');
}

main().catch((e: Error) => {
  console.error(`bench:ota: ${e.stack ?? e.message}`);
  process.exitCode = 1;
});
