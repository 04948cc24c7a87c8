// Real daemons with the `ota` section for the fleet tests and the benchmark: keys,
// signed bundles, device configs, `qie-fleet` as a child process, a watcher of OTA
// statuses and a client that keeps sending requests and counts what comes back.
import { execFile } from 'node:child_process';
import { createPrivateKey, KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import { generateKeys } from '../../src/ota/keys';
import { makeBundle, MakeBundleOptions } from '../../src/ota/make-bundle';
import { packBundle } from '../../src/ota/bundle';
import { DaemonProc, writeConfig } from './daemon-proc';
import type { Mosquitto } from './mosquitto';
import { connectClient, request5 } from './mqtt-client';
import { startOtaBroker } from './ota-broker';

export const FLEET_CLI = path.resolve('dist/firmware-tools/qie-fleet.js');

export interface OtaKeys {
  pubFile: string;
  privFile: string;
  key: KeyObject;
}

export function makeKeys(dir: string, name = 'fleet'): OtaKeys {
  const k = generateKeys();
  mkdirSync(dir, { recursive: true });
  const pubFile = path.join(dir, `${name}.pub.pem`);
  const privFile = path.join(dir, `${name}.pem`);
  writeFileSync(pubFile, k.publicPem);
  writeFileSync(privFile, k.privatePem);
  return { pubFile, privFile, key: createPrivateKey(k.privatePem) };
}

export async function signedBundle(model: Uint8Array, name: string, version: string, keys: OtaKeys, extra: Partial<MakeBundleOptions> = {}): Promise<Buffer> {
  return (await makeBundle({ model, name, version, key: keys.key, randomVectors: 2, ...extra })).bundle;
}

/** A correctly signed bundle whose self-test expects output bytes the model does not produce. */
export async function badSelfTestBundle(model: Uint8Array, name: string, version: string, keys: OtaKeys): Promise<Buffer> {
  const { manifest } = await makeBundle({ model, name, version, key: keys.key, randomVectors: 1 });
  const out = Buffer.from(manifest.selfTest[0].outputs[0], 'base64');
  out[0] ^= 0x01;
  manifest.selfTest[0].outputs[0] = out.toString('base64');
  return packBundle(manifest, model, keys.key);
}

export interface DeviceSetup {
  deviceId: string;
  model: { name: string; file: string; bytes: Uint8Array; version: string };
  trusted: OtaKeys[];
  group?: string;
  ota?: Record<string, unknown>;
  stateDir?: string;
}

/** One gateway: its config dir (model file, keys, state) and its current daemon process. */
export class OtaDevice {
  daemon: DaemonProc;
  readonly dir: string;
  readonly file: string;
  private readonly cleanupDir: () => void;

  constructor(
    broker: Mosquitto,
    readonly setup: DeviceSetup,
    env: NodeJS.ProcessEnv = {},
  ) {
    const cfg = writeConfig({
      deviceId: setup.deviceId,
      broker: { url: broker.url, username: 'daemon', password: 'daemon-secret', reconnectMs: 200, keepaliveS: 5 },
      models: [{ name: setup.model.name, path: setup.model.file, version: setup.model.version, queueSize: 1000 }],
      statusIntervalS: 2,
      ...(setup.group ? { fleet: { group: setup.group } } : {}),
      ota: { stateDir: setup.stateDir ?? 'state', trustedKeys: setup.trusted.map((k) => k.pubFile), healthWindowS: 1, healthMinRuns: 5, chunkTimeoutMs: 1000, transferIdleS: 60, ...setup.ota },
    });
    writeFileSync(path.join(cfg.dir, setup.model.file), setup.model.bytes);
    this.dir = cfg.dir;
    this.file = cfg.file;
    this.cleanupDir = cfg.cleanup;
    this.env = env;
    this.daemon = new DaemonProc(cfg.file, env);
  }

  private readonly env: NodeJS.ProcessEnv;

  get id(): string {
    return this.setup.deviceId;
  }

  /** SIGKILL (a power cut, as far as the process can tell) and start again; `between` runs while it is down. */
  async killAndRestart(between?: () => void): Promise<void> {
    await this.daemon.stop('SIGKILL');
    between?.();
    this.daemon = new DaemonProc(this.file, this.env);
  }

  async dispose(): Promise<void> {
    await this.daemon.stop('SIGKILL');
    this.cleanupDir();
  }
}

/** `qie-fleet ...` as a child process. */
export function runFleet(args: string[], timeoutMs = 240_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [FLEET_CLI, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface OtaStatusDoc {
  state: string;
  transferId: string;
  version: string | null;
  activeVersion: string | null;
  reason?: string;
  bytes: number;
  total: number;
}

/** Records every OTA status of every device. */
export class OtaWatcher {
  readonly seen = new Map<string, OtaStatusDoc[]>();
  private waiters: (() => void)[] = [];

  static async start(client: MqttClient): Promise<OtaWatcher> {
    const w = new OtaWatcher();
    client.on('message', (topic, payload) => {
      const m = /^qie\/([^/]+)\/ota\/status$/.exec(topic);
      if (!m) return;
      try {
        const doc = JSON.parse(payload.toString()) as OtaStatusDoc;
        const list = w.seen.get(m[1]) ?? [];
        list.push(doc);
        w.seen.set(m[1], list);
        for (const f of w.waiters.splice(0)) f();
      } catch {
        // not ours to judge here
      }
    });
    await client.subscribeAsync('qie/+/ota/status', { qos: 1 });
    return w;
  }

  /** Resolves with the first status of `deviceId` for `transferId` that passes `test`. */
  async waitFor(deviceId: string, test: (s: OtaStatusDoc) => boolean, timeoutMs = 90_000): Promise<OtaStatusDoc> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = (this.seen.get(deviceId) ?? []).find(test);
      if (hit) return hit;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`${deviceId}: no matching OTA status in ${timeoutMs} ms; seen: ${JSON.stringify((this.seen.get(deviceId) ?? []).map((s) => s.state))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  states(deviceId: string, transferId: string): string[] {
    return (this.seen.get(deviceId) ?? []).filter((s) => s.transferId === transferId).map((s) => s.state);
  }
}

/** One request; resolves with the version that answered, rejects on an error reply. */
export async function inferVersion(client: MqttClient, deviceId: string, model: string, input: Buffer, timeoutMs = 30_000): Promise<string> {
  const reply = JSON.parse((await request5(client, `qie/${deviceId}/infer/${model}`, JSON.stringify({ inputs: [{ dtype: 'int8', data: input.toString('base64') }] }), timeoutMs)).toString()) as { model?: { version: string }; error?: { code: string; message: string } };
  if (reply.error) throw new Error(`${deviceId}: ${reply.error.code}: ${reply.error.message}`);
  return reply.model!.version;
}

/** Sends requests to every device in turn, one at a time per device, until stopped; counts replies by version and errors. */
export class RequestStream {
  ok = 0;
  readonly errors: string[] = [];
  readonly versions = new Map<string, Set<string>>();
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(client: MqttClient, deviceIds: string[], model: string, input: Buffer, gapMs = 20) {
    this.loops = deviceIds.map(async (d) => {
      while (this.running) {
        try {
          const v = await inferVersion(client, d, model, input);
          this.ok++;
          const set = this.versions.get(d) ?? new Set();
          set.add(v);
          this.versions.set(d, set);
        } catch (e) {
          this.errors.push((e as Error).message);
        }
        await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

export interface OtaFleet {
  broker: Mosquitto;
  dir: string;
  keys: OtaKeys;
  devices: OtaDevice[];
  /** The console's user: the watcher's client. */
  console: MqttClient;
  /** A requester. */
  client: MqttClient;
  watcher: OtaWatcher;
}

/**
 * A broker with the OTA ACL, one daemon per id serving `model` as motion 1.0.0 and
 * trusting a fresh key, a console client watching OTA statuses and a requester;
 * everything is stopped and removed when the test ends.
 */
export async function startOtaFleet(
  t: { teardown(fn: () => unknown): void },
  ids: string[],
  model: Uint8Array,
  per: (id: string) => Partial<DeviceSetup> = () => ({}),
  env: (id: string) => NodeJS.ProcessEnv = () => ({}),
): Promise<OtaFleet> {
  const broker = await startOtaBroker();
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-ota-fleet-'));
  const keys = makeKeys(dir);
  const devices: OtaDevice[] = [];
  t.teardown(async () => {
    await Promise.all(devices.map((d) => d.dispose()));
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const id of ids) devices.push(new OtaDevice(broker, { deviceId: id, model: { name: 'motion', file: 'motion.tflite', bytes: model, version: '1.0.0' }, trusted: [keys], ...per(id) }, env(id)));
  await Promise.all(devices.map((d) => d.daemon.waitFor('serving', 60_000)));
  const consoleClient = await connectClient(broker.url, { username: 'console', password: 'console-secret' });
  const client = await connectClient(broker.url);
  t.teardown(() => consoleClient.endAsync(true));
  t.teardown(() => client.endAsync(true));
  const watcher = await OtaWatcher.start(consoleClient);
  return { broker, dir, keys, devices, console: consoleClient, client, watcher };
}
