// `npm run soak [-- --minutes M --rate R --fuzz N]`: a long run of `qie serve` over a
// loopback mosquitto. Steady phase: R well-formed requests a second for M minutes,
// with the daemon's RSS and the round-trip p50/p99 reported each minute. Then a
// hostile phase: a flood of payloads at the size limit and N fuzzed requests, with
// the daemon's peak RSS held against its configured queue budget. Not a test: it
// prints figures (defaults: 10 minutes at 200 requests/s, 20,000 fuzzed requests).
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import { makeDemoModel } from '../firmware-tools/demo/model';
import { encodeBinaryRequest } from '../src/daemon/binary';
import { loadModel } from '../src/engine/model';
import { asBytes } from '../src/engine/tensors';
import { seededRandom } from '../src/util/random';
import { DaemonProc, writeConfig } from '../test/helpers/daemon-proc';
import { runRequestFuzz } from '../test/helpers/fuzz-run';
import { Mosquitto, mosquittoAvailable, TEST_ACL, TEST_USERS } from '../test/helpers/mosquitto';
import { connectClient } from '../test/helpers/mqtt-client';
import { modelPath, readCase, sharedDir } from '../test/helpers/shared';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} needs a number`);
  return v;
}

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

function rssMiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
}

const MAX_PAYLOAD = 1 << 20;
const QUEUE_BUDGET = 16 << 20;

/** Sends `rate` requests a second for `ms`; returns every round trip (ms) and what was lost. */
async function steady(client: MqttClient, topic: string, payloads: Buffer[], rate: number, ms: number, onMinute: (minute: number, rtt: number[], sent: number, answered: number) => void) {
  const replyTopic = `replies/soak/${client.options.clientId}`;
  await client.subscribeAsync(replyTopic, { qos: 0 });
  const sentAt = new Map<number, number>();
  let rtt: number[] = [];
  const all: number[] = [];
  let sent = 0;
  let answered = 0;
  let errors = 0;
  const on = (_t: string, p: Buffer, packet: { properties?: { correlationData?: Buffer } }) => {
    const c = packet.properties?.correlationData;
    if (!c || c.length !== 4) return;
    const k = c.readUInt32LE(0);
    const t0 = sentAt.get(k);
    if (t0 === undefined) return;
    sentAt.delete(k);
    const d = performance.now() - t0;
    rtt.push(d);
    all.push(d);
    answered++;
    if ((p[0] === 0x7b && p.includes('"error"')) || (p[0] === 0x51 && p[8] !== 0)) errors++;
  };
  client.on('message', on);
  const start = performance.now();
  let minute = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      const due = Math.min(Math.floor(((now - start) / 1000) * rate), Math.floor((ms / 1000) * rate));
      while (sent < due) {
        const k = sent++;
        const c = Buffer.alloc(4);
        c.writeUInt32LE(k);
        sentAt.set(k, performance.now());
        client.publish(topic, payloads[k % payloads.length], { qos: k % 2 ? 1 : 0, properties: { responseTopic: replyTopic, correlationData: c } });
      }
      if (now - start >= (minute + 1) * 60_000 || now - start >= ms) {
        minute++;
        onMinute(minute, rtt, sent, answered);
        rtt = [];
      }
      if (now - start >= ms) {
        clearInterval(tick);
        setTimeout(resolve, 2000); // the last replies
      }
    }, 5);
  });
  client.off('message', on);
  return { all, sent, answered, errors, lost: sentAt.size };
}

async function main(): Promise<void> {
  if (!mosquittoAvailable()) throw new Error('needs /usr/sbin/mosquitto (apt-get install mosquitto mosquitto-clients)');
  const minutes = arg('minutes', 10);
  const rate = arg('rate', 200);
  const fuzzCount = arg('fuzz', 20_000);
  const shared = sharedDir() !== undefined;
  const name = shared ? 'person_detect' : 'motion';
  const cfg = writeConfig({});
  const file = shared ? modelPath('person_detect') : path.join(cfg.dir, 'motion.tflite');
  if (!shared) writeFileSync(file, makeDemoModel().tflite);
  const broker = await Mosquitto.start(TEST_USERS, TEST_ACL);
  writeFileSync(
    cfg.file,
    JSON.stringify({
      deviceId: 'soak',
      broker: { url: broker.url, username: 'daemon', password: 'daemon-secret' },
      models: [{ name, path: file, queueSize: 1024 }],
      maxPayloadBytes: MAX_PAYLOAD,
      maxQueuedBytes: QUEUE_BUDGET,
      logLevel: 'info',
    }),
  );
  const daemon = new DaemonProc(cfg.file);
  const reference = await loadModel(file, { kernels: 'ref' });
  let client: MqttClient | undefined;
  try {
    await daemon.waitFor('serving');
    const pid = daemon.proc.pid!;
    client = await connectClient(broker.url, { clientId: 'soak-client' });
    const input: Buffer = shared ? readCase('person_detect', 'person_tflm_test').inputs[0].data : Buffer.alloc(reference.inputs[0].bytes, 1);
    const payloads = [Buffer.from(JSON.stringify({ inputs: [{ dtype: 'int8', data: input.toString('base64') }] })), encodeBinaryRequest(1, [input])];
    const rssStart = rssMiB(pid);
    console.log(`qie soak: ${name}${shared ? '' : ' (NOTICE: ../shared absent: the demo model)'}, ${rate} requests/s for ${minutes} min, then ${fuzzCount} fuzzed requests; daemon pid ${pid}, RSS ${rssStart.toFixed(1)} MiB at the start`);
    console.log('\nminute      sent  answered   p50 ms   p99 ms  RSS MiB');
    const s = await steady(client, `qie/soak/infer/${name}`, payloads, rate, minutes * 60_000, (m, rtt, sent, answered) =>
      console.log(`${String(m).padStart(6)} ${String(sent).padStart(9)} ${String(answered).padStart(9)} ${pct(rtt, 50).toFixed(2).padStart(8)} ${pct(rtt, 99).toFixed(2).padStart(8)} ${rssMiB(pid).toFixed(1).padStart(8)}`),
    );
    const rssSteady = rssMiB(pid);
    console.log(`\nsteady: ${s.sent} sent, ${s.answered} answered (${s.errors} errors, ${s.lost} unanswered); p50 ${pct(s.all, 50).toFixed(2)} ms, p99 ${pct(s.all, 99).toFixed(2)} ms; RSS ${rssStart.toFixed(1)} -> ${rssSteady.toFixed(1)} MiB (${(rssSteady - rssStart >= 0 ? '+' : '') + (rssSteady - rssStart).toFixed(1)} MiB)`);

    // hostile phase: RSS sampled throughout
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 50);
    const flood = Buffer.from(`{"inputs":[{"dtype":"int8","data":"${input.toString('base64')}"}],"pad":"${'p'.repeat(MAX_PAYLOAD - 200 - input.length * 2)}"}`);
    const floodCount = 400;
    await Promise.all(Array.from({ length: floodCount }, () => client!.publishAsync(`qie/soak/infer/${name}`, flood, { qos: 0 })));
    await new Promise((r) => setTimeout(r, 3000));
    const floodPeak = peak;
    const fuzz = await runRequestFuzz({
      client,
      ctx: { random: seededRandom(7), inferBase: 'qie/soak/infer/', model: name, inputBytes: reference.inputs[0].bytes, replyBase: 'replies/soak-fuzz', deviceBase: 'qie/soak', maxPayloadBytes: MAX_PAYLOAD },
      total: fuzzCount,
      batch: 200,
      expected: async (x) => (await reference.run([x])).map((o) => Buffer.from(asBytes(o))),
    });
    clearInterval(sampler);
    const connects = daemon.lines.filter((l) => l.msg === 'connected to the broker').length;
    console.log(`flood: ${floodCount} payloads of ${(flood.length / 1048576).toFixed(2)} MiB at once: peak RSS ${floodPeak.toFixed(1)} MiB`);
    console.log(`fuzz: ${fuzz.sent} requests in ${(fuzz.wallMs / 1000).toFixed(1)} s, well-formed ${fuzz.validRight}/${fuzz.valid} exact, ${fuzz.validWrong.length} wrong, ${fuzz.validMissing.length} missing; peak RSS ${peak.toFixed(1)} MiB`);
    console.log(`queue budget (maxQueuedBytes) ${(QUEUE_BUDGET / 1048576).toFixed(0)} MiB: peak RSS ${peak.toFixed(1)} MiB = start ${rssStart.toFixed(1)} + ${(peak - rssStart).toFixed(1)} MiB; daemon connections ${connects} (1 = never dropped), still running: ${daemon.proc.exitCode === null}`);
  } finally {
    await client?.endAsync().catch(() => undefined);
    reference.dispose();
    await daemon.stop();
    await broker.dispose();
    cfg.cleanup();
  }
}

main().catch((e: Error) => {
  console.error(`soak: ${e.stack ?? e.message}`);
  process.exitCode = 1;
});
