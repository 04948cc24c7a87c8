// Helpers of the device-side OTA tests: keys and bundles on disk, a console that
// pushes one bundle through the real chunk transfer, a client that keeps sending
// inference requests and counts what comes back, the OTA status stream.
import type { OtaStatus } from '../../src/ota/status';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import { makeDemoModel } from '../../firmware-tools/demo/model';
import { packBundle } from '../../src/ota/bundle';
import { generateKeys, signBytes } from '../../src/ota/keys';
import { makeBundle } from '../../src/ota/make-bundle';
import type { Manifest } from '../../src/ota/manifest';
import { ChunkServer, describeBundle } from '../../src/ota/transfer/server';
import { topicMatches } from './mqtt-client';

export const demo = makeDemoModel();

export interface Kit {
  dir: string;
  modelFile: string;
  pubFile: string;
  keys: ReturnType<typeof generateKeys>;
  stranger: ReturnType<typeof generateKeys>;
  /** Writes a bundle of the demo model at `version`; `tamper` may change the manifest before signing. */
  bundle(version: string, opts?: { tamper?: (m: Manifest) => Manifest; signer?: 'trusted' | 'stranger' }): Promise<string>;
  cleanup(): void;
}

export function makeKit(): Kit {
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-ota-dev-'));
  const keys = generateKeys();
  const stranger = generateKeys();
  const modelFile = path.join(dir, 'motion.tflite');
  writeFileSync(modelFile, demo.tflite);
  const pubFile = path.join(dir, 'trusted.pub');
  writeFileSync(pubFile, keys.publicPem);
  return {
    dir,
    modelFile,
    pubFile,
    keys,
    stranger,
    async bundle(version, opts = {}) {
      const key = createPrivateKey((opts.signer === 'stranger' ? stranger : keys).privatePem);
      let { bundle, manifest } = await makeBundle({ model: demo.tflite, name: 'motion', version, key, labels: [...demo.labels], seed: 7 });
      if (opts.tamper) bundle = packBundle(opts.tamper(manifest), demo.tflite, key);
      const file = path.join(dir, `motion-${version}-${Math.random().toString(36).slice(2, 8)}.qie`);
      writeFileSync(file, bundle);
      return file;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A status message as read off the wire (the device's own type; state left open to any string). */
export type OtaStatusMsg = Omit<OtaStatus, 'state' | 'at'> & { state: string };

/** Records every OTA status the device publishes. */
export async function watchStatus(client: MqttClient, deviceId: string): Promise<{ all: OtaStatusMsg[]; until(test: (s: OtaStatusMsg) => boolean, timeoutMs?: number): Promise<OtaStatusMsg> }> {
  const topic = `qie/${deviceId}/ota/status`;
  const all: OtaStatusMsg[] = [];
  const waiters: { test: (s: OtaStatusMsg) => boolean; resolve: (s: OtaStatusMsg) => void }[] = [];
  client.on('message', (t, p) => {
    if (t !== topic) return;
    const s = JSON.parse(p.toString()) as OtaStatusMsg;
    all.push(s);
    for (const w of waiters.splice(0)) (w.test(s) ? w.resolve(s) : waiters.push(w));
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return {
    all,
    until(test, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching OTA status in ${timeoutMs} ms; seen: ${all.map((s) => `${s.transferId}:${s.state}`).join(' ')}`)), timeoutMs);
        waiters.push({ test, resolve: (s) => (clearTimeout(timer), resolve(s)) });
      });
    },
  };
}

export const isFinalState = (s: string): boolean => s === 'succeeded' || s.startsWith('failed:') || s.startsWith('rolled_back:');

let seq = 0;
/** Sends one update order for `file` and serves its chunks until stop(). */
export async function offer(client: MqttClient, deviceId: string, file: string, opts: { transferId?: string; lockOverride?: boolean } = {}): Promise<{ transferId: string; stop(): Promise<void> }> {
  const transferId = opts.transferId ?? `t${process.pid}x${++seq}x${Date.now().toString(36)}`;
  const b = await describeBundle(file, 4096);
  const server = new ChunkServer({ client, topicPrefix: 'qie', transferId, bundle: b, devices: [deviceId], protocolVersion: 4 });
  await server.start();
  const order = { type: 'update', transferId, header: b.header.toString('base64'), bundle: { size: b.size, sha256: b.sha256, chunkSize: b.chunkSize, chunkSha256: b.chunkSha256 }, ...(opts.lockOverride ? { lockOverride: true } : {}) };
  await client.publishAsync(`qie/${deviceId}/ota/order`, JSON.stringify(order), { qos: 1 });
  return { transferId, stop: () => server.stop() };
}

/** A signed rollback order. */
export function rollbackOrder(kit: Kit, body: { deviceId: string; name: string; toVersion: string; issuedAt: string | number }, signer: 'trusted' | 'stranger' = 'trusted'): string {
  const k = signer === 'trusted' ? kit.keys : kit.stranger;
  const bytes = Buffer.from(JSON.stringify({ ...body, keyId: k.keyId }));
  return JSON.stringify({ type: 'rollback', order: bytes.toString('base64'), signature: signBytes(createPrivateKey(k.privatePem), bytes).toString('base64') });
}

/** Keeps `parallel` inference requests in flight on `model` until stop(); counts replies by version and errors. */
export function requestLoop(client: MqttClient, deviceId: string, parallel = 2): { stop(): Promise<void>; versions: Map<string, number>; errors: string[]; sent: () => number } {
  const replyTopic = `replies/loop-${Math.random().toString(36).slice(2, 8)}`;
  const versions = new Map<string, number>();
  const errors: string[] = [];
  const pending = new Map<string, () => void>();
  let sent = 0;
  let running = true;
  client.on('message', (t, p) => {
    if (!topicMatches(replyTopic, t)) return;
    const r = JSON.parse(p.toString()) as { id: string; model?: { version: string }; error?: { code: string; message: string } };
    if (r.error) errors.push(`${r.error.code}: ${r.error.message}`);
    else versions.set(r.model!.version, (versions.get(r.model!.version) ?? 0) + 1);
    pending.get(r.id)?.();
    pending.delete(r.id);
  });
  const sub = client.subscribeAsync(replyTopic, { qos: 1 });
  const data = Buffer.alloc(96, 5).toString('base64');
  const one = async (): Promise<void> => {
    await sub;
    while (running) {
      const id = `r${++sent}`;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          errors.push(`no reply to ${id}`);
          pending.delete(id);
          resolve();
        }, 20_000);
        pending.set(id, () => (clearTimeout(timer), resolve()));
        void client.publishAsync(`qie/${deviceId}/infer/motion`, JSON.stringify({ id, replyTo: replyTopic, inputs: [{ dtype: 'int8', shape: [1, 96], data }] }), { qos: 1 }).catch(() => undefined);
      });
    }
  };
  const loops = Array.from({ length: parallel }, one);
  return {
    versions,
    errors,
    sent: () => sent,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
