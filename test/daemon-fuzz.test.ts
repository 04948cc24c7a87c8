// A hostile neighbour on a shared broker: 20,000 seeded requests to a real daemon
// through a real mosquitto with an ACL — garbage, broken envelopes, reply topics of
// every character class and depth, payloads at and past the size limit — with
// well-formed requests mixed in. The daemon must stay connected the whole time,
// answer every well-formed request with the reference kernels' bytes and keep its
// memory bounded.
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import { makeDemoModel } from '../firmware-tools/demo/model';
import { loadModel, Model } from '../src/engine/model';
import { asBytes } from '../src/engine/tensors';
import { DaemonProc, writeConfig } from './helpers/daemon-proc';
import { runRequestFuzz } from './helpers/fuzz-run';
import { Mosquitto, mosquittoAvailable, TEST_ACL, TEST_USERS } from './helpers/mosquitto';
import { connectClient } from './helpers/mqtt-client';
import { seededRandom } from '../src/util/random';

const TOTAL = Number(process.env.QIE_FUZZ_REQUESTS ?? 20_000);
const MAX_PAYLOAD = 1 << 20;
const QUEUE_BUDGET = 4 << 20;
// What the process may grow past its queue budget while it parses payloads at the
// size limit (the JSON text, its decoded inputs and V8's lazily collected garbage)
const RSS_MARGIN_MIB = 128;

interface Status {
  counters: { received: number; repliesDropped: number; repliesDroppedByReason: Record<string, number>; errors: Record<string, number>; ok: number };
  memory: { queuedBytes: number; peakQueuedBytes: number; maxQueuedBytes: number; rssBytes: number };
}

/** The retained status, fresh (the daemon publishes it every second here). */
async function statusOf(client: MqttClient, topic: string): Promise<Status> {
  const next = new Promise<Status>((resolve) => {
    const on = (t: string, p: Buffer, packet: { retain?: boolean }) => {
      if (t !== topic || packet.retain) return;
      client.off('message', on);
      resolve(JSON.parse(p.toString()) as Status);
    };
    client.on('message', on);
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return next;
}

function rssMiB(pid: number): number {
  const kib = Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return kib / 1024;
}

if (!mosquittoAvailable()) {
  test('request fuzz (skipped)', (t) => {
    t.log('NOTICE: mosquitto is not installed: the request fuzz is skipped');
    t.pass();
  });
} else {
  test(`${TOTAL.toLocaleString('en')} hostile requests: the daemon stays connected and answers every well-formed one exactly`, async (t) => {
    t.timeout(10 * 60_000);
    const broker = await Mosquitto.start(TEST_USERS, TEST_ACL);
    const cfg = writeConfig({});
    const modelFile = path.join(cfg.dir, 'motion.tflite');
    writeFileSync(modelFile, makeDemoModel().tflite);
    writeFileSync(
      cfg.file,
      JSON.stringify({
        deviceId: 'fz',
        broker: { url: broker.url, username: 'daemon', password: 'daemon-secret', reconnectMs: 500 },
        models: [{ name: 'motion', path: modelFile, queueSize: 256 }],
        maxPayloadBytes: MAX_PAYLOAD,
        maxQueuedBytes: QUEUE_BUDGET,
        statusIntervalS: 1,
        logLevel: 'info',
      }),
    );
    const daemon = new DaemonProc(cfg.file);
    let client: MqttClient | undefined;
    let reference: Model | undefined;
    try {
      await daemon.waitFor('serving');
      reference = await loadModel(modelFile, { kernels: 'ref' });
      const ref = reference;
      client = await connectClient(broker.url);
      const pid = daemon.proc.pid!;
      const rss = { start: rssMiB(pid), peak: 0 };
      const sampler = setInterval(() => (rss.peak = Math.max(rss.peak, rssMiB(pid))), 100);
      const result = await runRequestFuzz({
        client,
        ctx: {
          random: seededRandom(20261207),
          inferBase: 'qie/fz/infer/',
          model: 'motion',
          inputBytes: ref.inputs[0].bytes,
          replyBase: 'replies/fz',
          deviceBase: 'qie/fz',
          maxPayloadBytes: MAX_PAYLOAD,
        },
        total: TOTAL,
        batch: 200,
        expected: async (input) => (await ref.run([input])).map((o) => Buffer.from(asBytes(o))),
        between: () => {
          if (daemon.proc.exitCode !== null) throw new Error(`the daemon exited (${daemon.proc.exitCode}): ${daemon.stderr}`);
        },
      });
      clearInterval(sampler);
      const status = await statusOf(client, 'qie/fz/status');
      t.log(`${result.sent} requests in ${(result.wallMs / 1000).toFixed(1)} s; by kind: ${JSON.stringify(result.byKind)}`);
      t.log(`well-formed: ${result.validRight}/${result.valid} answered with the reference's bytes; replies seen: ${result.replies}; refused on the client side: ${result.clientRefused}; client reconnects: ${result.clientReconnects}`);
      t.log(`daemon RSS: ${rss.start.toFixed(0)} MiB at the start, ${rss.peak.toFixed(0)} MiB at the peak (queue budget ${QUEUE_BUDGET >> 20} MiB, peak queued ${(status.memory.peakQueuedBytes / 1048576).toFixed(2)} MiB)`);
      t.log(`daemon counters: received ${status.counters.received}, ok ${status.counters.ok}, errors ${JSON.stringify(status.counters.errors)}, replies dropped ${status.counters.repliesDropped} ${JSON.stringify(status.counters.repliesDroppedByReason)}`);
      t.is(status.counters.received, result.deliverable, 'every request the daemon subscribes to reached it and was counted');
      t.true(status.memory.peakQueuedBytes <= QUEUE_BUDGET, 'the queued bytes stayed within maxQueuedBytes');
      t.true(status.counters.repliesDropped > 0, 'replies with no valid topic were dropped and counted');
      t.true(rss.peak <= rss.start + QUEUE_BUDGET / 1048576 + RSS_MARGIN_MIB, `peak RSS ${rss.peak.toFixed(0)} MiB within start + budget + ${RSS_MARGIN_MIB} MiB`);
      t.deepEqual(result.validWrong, []);
      t.deepEqual(result.validMissing, []);
      t.is(result.validRight, result.valid);
      t.true(result.valid > TOTAL / 20);
      t.is(daemon.proc.exitCode, null, 'the daemon is still running');
      t.is(daemon.count('connected to the broker'), 1, 'one connection from start to end: no reply made the broker drop the daemon');
      t.is(daemon.count('broker connection lost'), 0);
    } finally {
      await client?.endAsync().catch(() => undefined);
      reference?.dispose();
      await daemon.stop();
      await broker.dispose();
      cfg.cleanup();
    }
  });
}
