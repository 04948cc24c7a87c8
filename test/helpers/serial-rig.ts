// The serial tests' rig: a real mosquitto, the project's int8 gesture model in a
// temp dir, socat PTY pairs (one per source) and `qie serve` as a child process.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import { makeGestureModel } from '../../firmware-tools/gestures/model';
import { GESTURES } from '../../firmware-tools/gestures/synthetic';
import { DaemonProc, writeConfig } from './daemon-proc';
import { Mosquitto, mosquittoAvailable, TEST_USERS } from './mosquitto';
import { connectClient, nextMessage, topicMatches } from './mqtt-client';
import { PtyPair, socatAvailable } from './pty';

export const DEVICE = 'serial1';

export const SERIAL_ACL = `user daemon
topic readwrite qie/+/status
topic write qie/+/sources/#
topic read qie/+/infer/#
topic write qie/+/reply/#

user client
topic read qie/+/status
topic read qie/+/sources/#
`;

export function serialSkipReason(): string | undefined {
  if (!socatAvailable()) return 'socat is absent';
  if (!mosquittoAvailable()) return 'mosquitto is absent';
  return undefined;
}

export interface Rig {
  dir: string;
  mosquitto: Mosquitto;
  daemon: DaemonProc;
  client: MqttClient;
  ptys: Record<string, PtyPair>;
  modelFile: string;
  /** Every message on qie/<d>/sources/+/result and /event, in arrival order. */
  results: { topic: string; doc: ResultDoc }[];
  events: { topic: string; doc: Record<string, unknown> }[];
  dispose(): Promise<void>;
}

export interface ResultDoc {
  source: string;
  window: number;
  top?: { index: number; label: string; score: number }[];
  values: number[];
  latencyMs: number;
  firstSampleAt: string;
  lastSampleAt: string;
  model: { name: string; version: string };
}

export interface SourceStatusDoc {
  state: string;
  frames: number;
  badFrames: Record<string, number>;
  drops: number;
  windows: number;
  windowsInferred: number;
  inferErrors: number;
  pending: number;
  pendingHigh: number;
  reopens: number;
  lastError: string | null;
  latencyMs: { last: number | null; p50: number | null; max: number | null };
}

let model: Promise<Uint8Array> | undefined;
export function gestureModelBytes(): Promise<Uint8Array> {
  model ??= makeGestureModel().then((g) => g.int8.tflite);
  return model;
}

/**
 * Starts everything. `sources` are config entries without `path` and `model`
 * (filled in: the PTY `dev` end of a pair named after the source, the gesture model).
 * With `ptysLater`, no PTY exists when the daemon starts; `models` are served beside 'gesture'.
 */
export async function startRig(sources: Record<string, unknown>[], opts: { ptysLater?: boolean; models?: Record<string, unknown>[] } = {}): Promise<Rig> {
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-serial-'));
  const modelFile = path.join(dir, 'gesture.int8.tflite');
  writeFileSync(modelFile, await gestureModelBytes());
  const mosquitto = await Mosquitto.start(TEST_USERS, SERIAL_ACL);
  const ptys: Record<string, PtyPair> = {};
  let daemon: DaemonProc | undefined;
  let client: MqttClient | undefined;
  const cfg = writeConfig({}, dir);
  const teardown = async (): Promise<void> => {
    await client?.endAsync().catch(() => undefined);
    await daemon?.stop();
    for (const p of Object.values(ptys)) await p.close();
    await mosquitto.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  const results: Rig['results'] = [];
  const events: Rig['events'] = [];
  try {
    for (const s of sources) {
      const name = s.name as string;
      ptys[name] = opts.ptysLater ? new PtyPair(dir, name) : await PtyPair.create(dir, name);
    }
    const config = {
      deviceId: DEVICE,
      broker: { url: mosquitto.url, username: 'daemon', password: 'daemon-secret' },
      statusIntervalS: 1,
      logLevel: 'info',
      models: [{ name: 'gesture', path: modelFile, labels: [...GESTURES], topK: 4 }, ...(opts.models ?? [])],
      sources: sources.map((s) => ({ path: ptys[s.name as string].dev, model: 'gesture', ...s })),
    };
    writeFileSync(cfg.file, JSON.stringify(config, null, 2));
    daemon = new DaemonProc(cfg.file);
    await daemon.waitFor('serving');
    client = await connectClient(mosquitto.url);
    client.on('message', (topic, payload) => {
      if (topicMatches(`qie/${DEVICE}/sources/+/result`, topic)) results.push({ topic, doc: JSON.parse(payload.toString()) as ResultDoc });
      if (topicMatches(`qie/${DEVICE}/sources/+/event`, topic)) events.push({ topic, doc: JSON.parse(payload.toString()) as Record<string, unknown> });
    });
    await client.subscribeAsync(`qie/${DEVICE}/sources/#`, { qos: 1 });
  } catch (e) {
    // nothing may outlive a failed start: no broker, socat or daemon left running
    await teardown();
    throw e;
  }
  return { dir, mosquitto, daemon, client, ptys, modelFile, results, events, dispose: teardown };
}

/** Waits for a status document whose `sources` section passes `test` (subscribes anew, so the retained one counts). */
export async function waitForStatus(rig: Rig, test: (s: Record<string, SourceStatusDoc>) => boolean, timeoutMs = 30_000): Promise<Record<string, SourceStatusDoc>> {
  const topic = `qie/${DEVICE}/status`;
  const got = nextMessage(
    rig.client,
    topic,
    (p) => {
      try {
        const doc = JSON.parse(p.toString()) as { sources?: Record<string, SourceStatusDoc> };
        return doc.sources !== undefined && test(doc.sources);
      } catch {
        return false;
      }
    },
    timeoutMs,
  );
  await rig.client.unsubscribeAsync(topic);
  await rig.client.subscribeAsync(topic, { qos: 1 });
  return ((JSON.parse((await got).toString()) as { sources: Record<string, SourceStatusDoc> }).sources);
}

/** Resolves once `n` results of `source` have arrived. */
export async function waitForResults(rig: Rig, source: string, n: number, timeoutMs = 30_000): Promise<ResultDoc[]> {
  const mine = () => rig.results.filter((r) => r.doc.source === source).map((r) => r.doc);
  await waitUntil(rig, () => mine().length >= n, timeoutMs, () => `only ${mine().length} of ${n} results of '${source}'`);
  return mine();
}

/** Re-checks `cond` on every MQTT message (and twice a second) until it holds. */
export async function waitUntil(rig: Rig, cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return;
    if (Date.now() > until) throw new Error(`${what()} within ${timeoutMs} ms`);
    await new Promise<void>((resolve) => {
      const on = () => {
        clearTimeout(timer);
        rig.client.off('message', on);
        resolve();
      };
      const timer = setTimeout(on, 500);
      rig.client.on('message', on);
    });
  }
}
