// The retained status document on <prefix>/<deviceId>/status (README "MQTT topics").
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config/schema';
import type { ReplyErrorCode } from './reply-error';
import type { ModelSlot } from './scheduler';
import type { ConnectionState } from './connection-watch';

/** Why a reply was dropped: its topic was refused, no connection, the connection ended before the broker took it, or the broker refused it. */
export type ReplyDropReason = 'bad_topic' | 'offline' | 'connection_lost' | 'refused';

export interface Counters {
  received: number;
  ok: number;
  errors: Record<ReplyErrorCode, number>;
  connects: number;
  reloads: number;
  repliesDropped: number;
  repliesDroppedByReason: Record<ReplyDropReason, number>;
}

const QIE_VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

export interface StatusInputs {
  config: Config;
  protocol: 4 | 5;
  startedAt: number;
  connectedAt: number | undefined;
  running: number;
  slots: ModelSlot[];
  counters: Counters;
  connection: ConnectionState;
  memory: { queuedBytes: number; peakQueuedBytes: number; maxQueuedBytes: number };
  /** Each running extension's section, by extension name. */
  extensions?: Record<string, unknown>;
}

export type StatusDoc = ReturnType<typeof buildStatus>;

export function buildStatus(d: StatusInputs) {
  return {
    state: 'online',
    deviceId: d.config.deviceId,
    qieVersion: QIE_VERSION,
    pid: process.pid,
    startedAt: new Date(d.startedAt).toISOString(),
    connectedAt: d.connectedAt ? new Date(d.connectedAt).toISOString() : null,
    uptimeS: Math.round((Date.now() - d.startedAt) / 1000),
    protocolVersion: d.protocol,
    fleetGroup: d.config.fleet?.group ?? null,
    concurrency: d.config.concurrency,
    running: d.running,
    models: d.slots.map((s) => ({
      name: s.identity.name,
      version: s.identity.version,
      instances: s.instances.length,
      queueDepth: s.queue.length,
      queueSize: s.queueSize,
      running: s.running,
      completed: s.completed,
      inputs: s.inputs.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, scale: t.scale ?? null, zeroPoint: t.zeroPoint ?? null })),
      outputs: s.outputs.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, scale: t.scale ?? null, zeroPoint: t.zeroPoint ?? null })),
      labels: s.identity.labels ?? null,
    })),
    counters: { ...d.counters, errors: { ...d.counters.errors }, repliesDroppedByReason: { ...d.counters.repliesDroppedByReason } },
    connection: d.connection,
    // the process's resident memory, for watching the budget from outside
    memory: { ...d.memory, rssBytes: process.memoryUsage.rss() },
    ...(d.extensions ?? {}),
  };
}
