// `npm run bench:mqtt`: end-to-end request latency and throughput of `qie serve`
// over loopback mosquitto, against the raw model.run time of the same model, and the
// daemon's memory with the model loaded. person_detect from ../shared when present,
// else the demo model. Not a test: it prints figures.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import { makeDemoModel } from '../firmware-tools/demo/model';
import { encodeBinaryRequest } from '../src/daemon/binary';
import { loadModel } from '../src/engine/model';
import { DaemonProc, writeConfig } from '../test/helpers/daemon-proc';
import { Mosquitto, mosquittoAvailable, TEST_ACL, TEST_USERS } from '../test/helpers/mosquitto';
import { connectClient } from '../test/helpers/mqtt-client';
import { modelPath, readCase, sharedDir } from '../test/helpers/shared';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (x: number) => x.toFixed(2).padStart(8);

function rssKiB(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** Sends `total` requests keeping `inFlight` outstanding; returns per-request round trips (ms) and the wall time. */
async function drive(client: MqttClient, topic: string, payloadOf: (i: number) => Buffer, total: number, inFlight: number): Promise<{ rtt: number[]; wallMs: number; errors: number }> {
  const replyTopic = `replies/${client.options.clientId}`;
  await client.subscribeAsync(replyTopic, { qos: 0 });
  const sentAt = new Map<string, number>();
  const rtt: number[] = [];
  let next = 0;
  let errors = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const send = () => {
      const i = next++;
      const corr = String(i);
      sentAt.set(corr, performance.now());
      client.publish(topic, payloadOf(i), { qos: 0, properties: { responseTopic: replyTopic, correlationData: Buffer.from(corr) } });
    };
    client.on('message', (_t, p, packet) => {
      const corr = packet.properties?.correlationData?.toString();
      const t0 = corr !== undefined ? sentAt.get(corr) : undefined;
      if (t0 === undefined) return;
      sentAt.delete(corr!);
      rtt.push(performance.now() - t0);
      if (p[0] === 0x7b /* { */ && p.includes('"error"')) errors++;
      if (p[0] === 0x51 && p[8] !== 0) errors++;
      if (rtt.length === total) resolve();
      else if (next < total) send();
    });
    for (let k = 0; k < Math.min(inFlight, total); k++) send();
  });
  client.removeAllListeners('message');
  await client.unsubscribeAsync(replyTopic);
  return { rtt, wallMs: performance.now() - start, errors };
}

async function main(): Promise<void> {
  if (!mosquittoAvailable()) throw new Error('needs /usr/sbin/mosquitto (apt-get install mosquitto mosquitto-clients)');
  const shared = sharedDir() !== undefined;
  const name = shared ? 'person_detect' : 'motion';
  const cfg = writeConfig({});
  const file = shared ? modelPath('person_detect') : path.join(cfg.dir, 'motion.tflite');
  if (!shared) writeFileSync(file, makeDemoModel().tflite);
  const input: Buffer = shared ? readCase('person_detect', 'person_tflm_test').inputs[0].data : Buffer.alloc(96, 1);
  console.log(`qie MQTT benchmark: ${name}${shared ? '' : ' (NOTICE: ../shared absent, demo model instead of person_detect)'}, input ${input.length} bytes, kernels ${process.env.QIE_KERNELS ?? 'auto'}`);

  // raw model.run in this process, measured before and after the MQTT runs: the
  // spread between the two shows how noisy the machine was
  const model = await loadModel(file);
  const rawRun = async (label: string): Promise<string> => {
    for (let i = 0; i < 20; i++) await model.run([input]);
    const raw: number[] = [];
    const start = performance.now();
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      await model.run([input]);
      raw.push(performance.now() - t0);
    }
    const wall = performance.now() - start;
    return `${label.padEnd(44)} ${fmt(pct(raw, 50))} ${fmt(pct(raw, 99))} ${((1000 * raw.length) / wall).toFixed(0).padStart(9)}`;
  };
  const rawBefore = await rawRun('raw model.run (in process, sequential)');

  const broker = await Mosquitto.start(TEST_USERS, TEST_ACL);
  const results: string[] = [];
  try {
    for (const instances of [1, 2]) {
      writeFileSync(
        cfg.file,
        JSON.stringify({ deviceId: 'bench', broker: { url: broker.url, username: 'daemon', password: 'daemon-secret' }, models: [{ name, path: file, queueSize: 4096, instances }], concurrency: instances, logLevel: 'warn' }),
      );
      const daemon = new DaemonProc(cfg.file);
      await daemon.waitFor('serving').catch(async () => {
        await new Promise((r) => setTimeout(r, 1500));
      });
      await new Promise((r) => setTimeout(r, 300));
      const idle = rssKiB(daemon.proc.pid!);
      const client = await connectClient(broker.url, { clientId: `bench-${instances}` });
      const json = Buffer.from(JSON.stringify({ inputs: [{ dtype: 'int8', data: input.toString('base64') }] }));
      const bin = encodeBinaryRequest(1, [input]);
      await drive(client, `qie/bench/infer/${name}`, () => json, 50, 1); // warm-up
      const row = async (label: string, payload: Buffer, total: number, inFlight: number) => {
        const r = await drive(client, `qie/bench/infer/${name}`, () => payload, total, inFlight);
        results.push(`${label.padEnd(44)} ${fmt(pct(r.rtt, 50))} ${fmt(pct(r.rtt, 99))} ${((1000 * total) / r.wallMs).toFixed(0).padStart(9)}${r.errors ? `  (${r.errors} errors)` : ''}`);
      };
      if (instances === 1) {
        results.push(rawBefore);
        await row('MQTT JSON, 1 in flight', json, 300, 1);
        await row('MQTT binary, 1 in flight', bin, 300, 1);
      }
      await row(`MQTT JSON, 16 in flight, ${instances} instance(s)`, json, 1000, 16);
      await row(`MQTT binary, 16 in flight, ${instances} instance(s)`, bin, 1000, 16);
      const loaded = rssKiB(daemon.proc.pid!);
      results.push(`  daemon RSS with ${instances} instance(s) loaded: ${(idle.rss / 1024).toFixed(1)} MiB idle, peak ${(loaded.hwm / 1024).toFixed(1)} MiB under load`);
      await client.endAsync();
      await daemon.stop('SIGTERM');
    }
    results.push(await rawRun('raw model.run again, after the MQTT runs'));
  } finally {
    model.dispose();
    await broker.dispose();
    cfg.cleanup();
  }
  console.log(`\n${''.padEnd(44)}  p50 ms   p99 ms     req/s`);
  for (const r of results) console.log(r);
  console.log(`\n(${require('node:os').cpus().length} cores, ${require('node:os').cpus()[0].model}; loopback mosquitto, QoS 0)`);
}

main().catch((e: Error) => {
  console.error(`bench:mqtt: ${e.message}`);
  process.exitCode = 1;
});
