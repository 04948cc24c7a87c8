// A rollout of one bundle to a set of devices: orders go out in waves (the canaries
// first, then at most `parallel` devices in transfer at once), the console serves the
// chunks they pull, and each device's retained OTA status decides its outcome. Once
// more devices failed than allowed, no further device gets the order.
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { encodeOrder, isFinalState, otaTopics, UpdateOrder } from '../../src/ota/transfer/protocol';
import { BundleDescription, ChunkServer, DeviceTraffic } from '../../src/ota/transfer/server';
import { DeviceStatus, OtaStatus, readStatusMessage } from './ota-console';

export interface RolloutOptions {
  client: MqttClient;
  prefix: string;
  bundle: BundleDescription;
  devices: string[];
  /** Devices updated first; the rest only go when every canary succeeded (default 0). */
  canary?: number;
  /** Failures tolerated before no further device is ordered (default 0). */
  maxFailures?: number;
  /** Devices in transfer at once after the canaries (default 16). */
  parallel?: number;
  /** Per device, from its order to its final status (default 600 s). */
  timeoutMs?: number;
  /** An order with no answer from the device is sent again after this long (default 10 s). */
  resendMs?: number;
  lockOverride?: boolean;
  transferId?: string;
  /** Called on every change of a device's state or progress. */
  onUpdate?(d: DeviceProgress): void;
  /** Passed to the chunk server (tests inject faults through it). */
  serverHooks?: ConstructorParameters<typeof ChunkServer>[0]['hooks'];
  protocolVersion?: 4 | 5;
}

export interface DeviceProgress {
  deviceId: string;
  /** `waiting`, `ordered`, the device's OTA state, `skipped` or `failed:timeout`. */
  state: string;
  bytes: number;
  total: number;
  reason?: string;
  version?: string;
  activeVersion?: string;
  orderedAt?: number;
  finishedAt?: number;
  traffic: DeviceTraffic;
}

export interface RolloutResult {
  transferId: string;
  devices: DeviceProgress[];
  succeeded: number;
  failed: number;
  skipped: number;
  /** Why the rollout stopped early, if it did. */
  stopped?: string;
  /** Order bytes published (all devices, resends included). */
  orderBytes: number;
}

export async function rollout(o: RolloutOptions): Promise<RolloutResult> {
  const transferId = o.transferId ?? randomUUID();
  const total = o.bundle.size;
  const order: UpdateOrder = { type: 'update', transferId, header: o.bundle.header.toString('base64'), bundle: { size: total, sha256: o.bundle.sha256, chunkSize: o.bundle.chunkSize, chunkSha256: o.bundle.chunkSha256 }, ...(o.lockOverride ? { lockOverride: true } : {}) };
  const orderText = encodeOrder(order);
  const timeoutMs = o.timeoutMs ?? 600_000;
  const resendMs = o.resendMs ?? 10_000;
  const state = new Map<string, DeviceProgress & { heard: boolean; sentAt: number; pid?: number }>();
  for (const d of new Set(o.devices)) state.set(d, { deviceId: d, state: 'waiting', bytes: 0, total, heard: false, sentAt: 0, traffic: emptyTraffic() });
  const server = new ChunkServer({ client: o.client, topicPrefix: o.prefix, transferId, bundle: o.bundle, devices: state.keys(), hooks: o.serverHooks, protocolVersion: o.protocolVersion });
  let orderBytes = 0;
  let wake: () => void = () => undefined;
  const changed = (d: DeviceProgress) => {
    d.traffic = server.traffic(d.deviceId);
    o.onUpdate?.(d);
    wake();
  };
  const send = (d: DeviceProgress & { sentAt: number }) => {
    d.sentAt = Date.now();
    orderBytes += orderText.length;
    o.client.publish(otaTopics.order(o.prefix, d.deviceId), orderText, { qos: 1 }, () => undefined);
  };
  const finish = (d: DeviceProgress, s: string, reason?: string) => {
    d.state = s;
    d.reason = reason;
    d.finishedAt = Date.now();
    changed(d);
  };

  const onMessage = (topic: string, payload: Buffer) => {
    const m = readStatusMessage(o.prefix, topic, payload);
    if (!m) return;
    const d = state.get(m.deviceId);
    if (!d) return;
    if (m.kind === 'status') {
      const s = m.doc as DeviceStatus;
      if (s.state !== 'online') return;
      // the device restarted (new pid) while updating: make sure it has the order
      const restarted = d.pid !== undefined && s.pid !== d.pid;
      d.pid = s.pid;
      if (restarted && d.orderedAt !== undefined && !isFinalState(d.state)) send(d);
      return;
    }
    if (d.orderedAt === undefined || isFinalState(d.state)) return;
    const s = m.doc as OtaStatus;
    if (s.transferId !== transferId) return; // an earlier transfer's retained status
    d.heard = true;
    d.bytes = typeof s.bytes === 'number' ? s.bytes : d.bytes;
    d.version = s.version ?? d.version;
    d.activeVersion = s.activeVersion ?? d.activeVersion;
    if (isFinalState(s.state)) finish(d, s.state, s.reason);
    else {
      d.state = s.state;
      changed(d);
    }
  };

  const statusTopics = [otaTopics.otaStatusFilter(o.prefix), otaTopics.statusFilter(o.prefix)];
  // after a broker restart: the statuses again (retained, so what changed meanwhile is read too)
  const onReconnect = () => void o.client.subscribeAsync(statusTopics, { qos: 1 }).catch(() => undefined);
  o.client.on('message', onMessage);
  o.client.on('connect', onReconnect);
  await server.start();
  await o.client.subscribeAsync(statusTopics, { qos: 1 });
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const d of state.values()) {
      if (d.orderedAt === undefined || isFinalState(d.state)) continue;
      if (now - d.orderedAt > timeoutMs) finish(d, 'failed:timeout', 'timeout');
      else if (!d.heard && now - d.sentAt > resendMs) send(d);
      else {
        // chunks served show progress before the device reports it
        const t = server.traffic(d.deviceId);
        if (t.chunksSent !== d.traffic.chunksSent) changed(d);
      }
    }
    wake();
  }, 250);

  const list = [...state.values()];
  const failures = () => list.filter((d) => isFinalState(d.state) && d.state !== 'succeeded').length;
  let stopped: string | undefined;
  try {
    const canary = Math.min(o.canary ?? 0, list.length);
    const parallel = Math.max(1, o.parallel ?? 16);
    const waitUntil = async (cond: () => boolean) => {
      while (!cond()) await new Promise<void>((r) => (wake = r));
    };
    const start = (d: (typeof list)[number]) => {
      d.orderedAt = Date.now();
      d.state = 'ordered';
      send(d);
      changed(d);
    };
    if (canary > 0) {
      const canaries = list.slice(0, canary);
      canaries.forEach(start);
      await waitUntil(() => canaries.every((d) => isFinalState(d.state)));
      if (canaries.some((d) => d.state !== 'succeeded')) stopped = `${canaries.filter((d) => d.state !== 'succeeded').length} of ${canary} canaries failed`;
    }
    let next = canary;
    const maxFailures = o.maxFailures ?? 0;
    while (!stopped && next < list.length) {
      if (failures() > maxFailures) {
        stopped = `${failures()} failures (more than the ${maxFailures} allowed)`;
        break;
      }
      const inFlight = list.filter((d) => d.orderedAt !== undefined && !isFinalState(d.state)).length;
      if (inFlight < parallel) start(list[next++]);
      else await new Promise<void>((r) => (wake = r));
    }
    await waitUntil(() => list.every((d) => d.orderedAt === undefined || isFinalState(d.state)));
    if (!stopped && failures() > maxFailures) stopped = `${failures()} failures (more than the ${maxFailures} allowed)`;
  } finally {
    clearInterval(ticker);
    o.client.off('message', onMessage);
    o.client.off('connect', onReconnect);
    if (o.client.connected) await o.client.unsubscribeAsync(statusTopics).catch(() => undefined);
    await server.stop();
  }
  for (const d of list) {
    if (d.orderedAt === undefined) d.state = 'skipped';
    d.traffic = server.traffic(d.deviceId);
  }
  const devices = list.map(({ heard: _h, sentAt: _s, pid: _p, ...d }) => d);
  return {
    transferId,
    devices,
    succeeded: devices.filter((d) => d.state === 'succeeded').length,
    failed: devices.filter((d) => d.state !== 'succeeded' && d.state !== 'skipped').length,
    skipped: devices.filter((d) => d.state === 'skipped').length,
    stopped,
    orderBytes,
  };
}

function emptyTraffic(): DeviceTraffic {
  return { chunksSent: 0, payloadBytes: 0, wireBytes: 0, pulls: 0, distinct: 0 };
}
