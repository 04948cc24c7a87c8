// The fleet console's MQTT side shared by `qie-fleet push` and `qie-fleet status`:
// connecting with the console's credentials, and reading the retained device status
// documents (`<p>/<d>/status`) and OTA statuses (`<p>/<d>/ota/status`).
import { readFileSync } from 'node:fs';
import mqtt, { MqttClient } from 'mqtt';
import { otaTopics } from '../../src/ota/transfer/protocol';
import { Parsed, UsageError } from './args';

export interface ConsoleOptions {
  broker: string;
  username?: string;
  password?: string;
  ca?: string;
  prefix: string;
}

export const CONSOLE_VALUED = ['broker', 'username', 'password', 'ca', 'prefix'] as const;
export const CONSOLE_USAGE = `--broker URL [--username U --password P] [--ca CA.pem] [--prefix P (default qie)]`;

export function consoleOptions(p: Parsed): ConsoleOptions {
  const broker = p.options.get('broker');
  if (!broker) throw new UsageError('--broker is required');
  if (!/^(mqtts?|wss?|tcp|ssl):\/\/\S+$/.test(broker)) throw new UsageError(`--broker must be an mqtt://, mqtts://, ws:// or wss:// URL, got ${broker}`);
  const prefix = p.options.get('prefix') ?? 'qie';
  if (!/^[^/+#\u0000]+$/.test(prefix)) throw new UsageError('--prefix must be one topic level');
  return { broker, username: p.options.get('username'), password: p.options.get('password'), ca: p.options.get('ca'), prefix };
}

/** `notice`: where a lost and regained broker is reported (stderr by default). */
export async function connectConsole(o: ConsoleOptions, notice: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<MqttClient> {
  let ca: Buffer | undefined;
  if (o.ca) {
    try {
      ca = readFileSync(o.ca);
    } catch (e) {
      throw new UsageError(`cannot read --ca ${o.ca}: ${(e as Error).message}`);
    }
  }
  const client = mqtt.connect(o.broker, {
    protocolVersion: 5,
    username: o.username,
    password: o.password,
    ca,
    clientId: `qie-fleet-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    reconnectPeriod: 500,
    connectTimeout: 10_000,
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`no connection to ${o.broker} within 15 s`)), 15_000);
    let attempts = 0;
    const onFirstError = (e: Error & { code?: number | string }) => {
      // refused credentials or authorization: retrying will not help
      if (e.code === 4 || e.code === 5 || e.code === 134 || e.code === 135) fail(new Error(`the broker refused the connection: ${e.message}`));
      // nothing listening (or no such host): a few quick retries, then say so
      else if (typeof e.code === 'string' && ++attempts >= 4) fail(new Error(`cannot reach the broker ${o.broker}: ${e.message}`));
    };
    const fail = (e: Error) => {
      clearTimeout(timer);
      client.off('error', onFirstError);
      client.end(true);
      reject(e);
    };
    client.on('error', onFirstError);
    client.once('connect', () => {
      clearTimeout(timer);
      // from now on a lost broker is waited for (mqtt.js reconnects and resubscribes): the
      // rollout's own timeouts decide when to give up, not a count of connection errors
      client.off('error', onFirstError);
      keepReconnecting(client, o.broker, notice);
      resolve();
    });
  });
  return client;
}

/** After the first connection: connection errors are reported once per outage, never end the client. */
function keepReconnecting(client: MqttClient, broker: string, notice: (line: string) => void): void {
  let down = false;
  client.on('error', (e: Error) => {
    if (down) return;
    down = true;
    notice(`qie-fleet: broker ${broker}: ${e.message}; reconnecting`);
  });
  client.on('offline', () => {
    if (down) return;
    down = true;
    notice(`qie-fleet: lost the broker ${broker}; reconnecting`);
  });
  client.on('connect', () => {
    if (!down) return;
    down = false;
    notice(`qie-fleet: reconnected to ${broker}`);
  });
}

/** A device's retained status document, as far as the console reads it. */
export interface DeviceStatus {
  state: string;
  deviceId?: string;
  pid?: number;
  startedAt?: string;
  fleetGroup?: string | null;
  models?: { name: string; version: string }[];
  [k: string]: unknown;
}

export interface OtaStatus {
  state: string;
  transferId?: string;
  name?: string;
  version?: string;
  bytes?: number;
  total?: number;
  reason?: string;
  activeVersion?: string;
  previousVersion?: string;
  at?: string;
}

export interface FleetView {
  status: Map<string, DeviceStatus>;
  ota: Map<string, OtaStatus>;
}

/** Parses `<p>/<d>/status` or `<p>/<d>/ota/status`; undefined for other topics or unreadable payloads. */
export function readStatusMessage(prefix: string, topic: string, payload: Buffer): { deviceId: string; kind: 'status' | 'ota'; doc: DeviceStatus | OtaStatus } | undefined {
  const parts = topic.split('/');
  if (parts[0] !== prefix) return undefined;
  let kind: 'status' | 'ota';
  if (parts.length === 3 && parts[2] === 'status') kind = 'status';
  else if (parts.length === 4 && parts[2] === 'ota' && parts[3] === 'status') kind = 'ota';
  else return undefined;
  if (payload.length === 0 || payload.length > 1024 * 1024) return undefined;
  try {
    const doc = JSON.parse(payload.toString()) as unknown;
    if (!doc || typeof doc !== 'object' || typeof (doc as { state?: unknown }).state !== 'string') return undefined;
    return { deviceId: parts[1], kind, doc: doc as DeviceStatus };
  } catch {
    return undefined;
  }
}

/**
 * Subscribes to every device's status and OTA status and returns what the broker
 * holds retained: waits until no message came for `quietMs` (at most `maxMs`).
 */
export async function readFleet(client: MqttClient, prefix: string, quietMs = 400, maxMs = 5000): Promise<FleetView> {
  const view: FleetView = { status: new Map(), ota: new Map() };
  let last = Date.now();
  const on = (topic: string, payload: Buffer) => {
    const m = readStatusMessage(prefix, topic, payload);
    if (!m) return;
    last = Date.now();
    if (m.kind === 'status') view.status.set(m.deviceId, m.doc as DeviceStatus);
    else view.ota.set(m.deviceId, m.doc as OtaStatus);
  };
  client.on('message', on);
  try {
    await client.subscribeAsync([otaTopics.statusFilter(prefix), otaTopics.otaStatusFilter(prefix)], { qos: 1 });
    const start = Date.now();
    last = Date.now();
    while (Date.now() - last < quietMs && Date.now() - start < maxMs) await new Promise((r) => setTimeout(r, 50));
  } finally {
    client.off('message', on);
  }
  return view;
}

/** A count or a percentage of `total` (`3` or `20%`), rounded up. */
export function countOrPercent(v: string | undefined, total: number, name: string): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(v.trim());
  if (!m) throw new UsageError(`--${name} must be a count or a percentage (e.g. 2 or 20%), got ${v}`);
  const n = Number(m[1]);
  if (m[2]) {
    if (n > 100) throw new UsageError(`--${name} over 100%`);
    return Math.ceil((n / 100) * total);
  }
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be a whole count, got ${v}`);
  return n;
}
