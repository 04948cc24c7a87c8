// Console side of the OTA transfer: answers devices' pulls of one bundle with its
// chunks, read from the file on demand. Per device at most `window` chunks are read
// and in flight at once (the rest of a pull waits as indices), so memory stays
// bounded however many devices pull. Counts what went on the wire per device.
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import type { IClientPublishOptions, MqttClient } from 'mqtt';
import { chunkCount, chunkLength, encodeChunk, HEADER_FIXED_BYTES, MAX_CHUNK_SIZE, MAX_MANIFEST_BYTES, MIN_CHUNK_SIZE, otaTopics, parseHeader, parsePull, ProtocolError, SIGNATURE_BYTES } from './protocol';
import type { DownloadOffer } from './downloader';

/** What an order needs to describe a bundle file, computed once by `describeBundle`. */
export interface BundleDescription {
  path: string;
  size: number;
  sha256: string;
  chunkSize: number;
  chunkSha256: string[];
  /** Bytes 0 .. 76+M-1: fixed header, manifest, signature. */
  header: Buffer;
  manifest: unknown;
}

/** Reads a bundle once: whole and per-chunk sha256, and its header. */
export async function describeBundle(file: string, chunkSize = MAX_CHUNK_SIZE): Promise<BundleDescription> {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) throw new RangeError(`chunk size must be ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE}`);
  const fh = await fsp.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const fixed = Buffer.alloc(HEADER_FIXED_BYTES);
    await fh.read(fixed, 0, HEADER_FIXED_BYTES, 0);
    if (fixed.toString('latin1', 0, 4) !== 'QIEB') throw new ProtocolError('not a qie bundle (magic)');
    const m = fixed.readUInt32LE(8);
    if (m > MAX_MANIFEST_BYTES) throw new ProtocolError(`manifest length ${m} out of range`);
    const headerLength = Math.min(HEADER_FIXED_BYTES + m + SIGNATURE_BYTES, size);
    const header = Buffer.alloc(headerLength);
    await fh.read(header, 0, headerLength, 0);
    parseHeader(header, size);
    let manifest: unknown;
    try {
      manifest = JSON.parse(header.subarray(HEADER_FIXED_BYTES, HEADER_FIXED_BYTES + m).toString('utf8'));
    } catch {
      throw new ProtocolError('the manifest is not JSON');
    }
    const whole = createHash('sha256');
    const chunkSha256: string[] = [];
    const buf = Buffer.allocUnsafe(chunkSize);
    for (let i = 0; i < chunkCount(size, chunkSize); i++) {
      const len = chunkLength(size, chunkSize, i);
      const { bytesRead } = await fh.read(buf, 0, len, i * chunkSize);
      if (bytesRead !== len) throw new Error(`${file} changed while being read`);
      const data = buf.subarray(0, len);
      whole.update(data);
      chunkSha256.push(createHash('sha256').update(data).digest('hex'));
    }
    return { path: file, size, sha256: whole.digest('hex'), chunkSize, chunkSha256, header, manifest };
  } finally {
    await fh.close();
  }
}

export function offerOf(b: BundleDescription, transferId: string): DownloadOffer {
  return { transferId, size: b.size, sha256: b.sha256, chunkSize: b.chunkSize, chunkSha256: b.chunkSha256 };
}

/** Per-device counters of the transfer. */
export interface DeviceTraffic {
  chunksSent: number;
  /** Chunk payload bytes (36-byte chunk header + data). */
  payloadBytes: number;
  /** The PUBLISH packets as they go on the wire (fixed header, topic, packet id, payload) plus their PUBACKs. */
  wireBytes: number;
  pulls: number;
  /** Distinct chunks sent at least once. */
  distinct: number;
}

export interface ChunkServerOptions {
  client: MqttClient;
  topicPrefix: string;
  transferId: string;
  bundle: BundleDescription;
  /** Devices allowed to pull (others are ignored); undefined: anyone. */
  devices?: Iterable<string>;
  /** Chunks read and in flight per device at once (default 8). */
  window?: number;
  /** MQTT protocol of the client: 5 adds a property-length byte to each PUBLISH (default 5). */
  protocolVersion?: 4 | 5;
  /** Test hooks: damage a copy of a chunk, drop a pull. */
  hooks?: {
    corrupt?(deviceId: string, index: number, copy: number): boolean;
    dropPull?(deviceId: string, chunks: number[]): boolean;
    /** Awaited before each chunk is read (pacing a transfer so a test can act mid-way). */
    beforeSend?(deviceId: string, index: number): Promise<void>;
  };
}

interface DeviceQueue {
  pending: number[];
  queued: Set<number>;
  inFlight: number;
  sentOnce: Set<number>;
  copies: Map<number, number>;
  traffic: DeviceTraffic;
}

export class ChunkServer {
  private readonly devices = new Map<string, DeviceQueue>();
  private readonly allowed: Set<string> | undefined;
  private fh: fsp.FileHandle | undefined;
  private readonly pullTopic: string;
  private readonly window: number;
  private readonly onMessage = (topic: string, payload: Buffer) => this.handle(topic, payload);
  /** After a reconnect: the pull subscription again (a clean session lost it; mqtt.js's own resubscribe is not relied on). */
  private readonly onReconnect = () => void this.o.client.subscribeAsync(this.pullTopic, { qos: 1 }).catch(() => undefined);
  /** Pull messages that were not readable or came from a device not served. */
  rejectedPulls = 0;

  constructor(private readonly o: ChunkServerOptions) {
    this.pullTopic = otaTopics.pull(o.topicPrefix, o.transferId);
    this.allowed = o.devices ? new Set(o.devices) : undefined;
    this.window = Math.max(1, o.window ?? 8);
  }

  async start(): Promise<void> {
    this.fh = await fsp.open(this.o.bundle.path, 'r');
    this.o.client.on('message', this.onMessage);
    this.o.client.on('connect', this.onReconnect);
    await this.o.client.subscribeAsync(this.pullTopic, { qos: 1 });
  }

  async stop(): Promise<void> {
    this.o.client.off('message', this.onMessage);
    this.o.client.off('connect', this.onReconnect);
    if (this.o.client.connected) await this.o.client.unsubscribeAsync(this.pullTopic).catch(() => undefined);
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
  }

  /** Lets a device pull (for devices added after start). */
  allow(deviceId: string): void {
    this.allowed?.add(deviceId);
  }

  traffic(deviceId: string): DeviceTraffic {
    return { ...(this.devices.get(deviceId)?.traffic ?? { chunksSent: 0, payloadBytes: 0, wireBytes: 0, pulls: 0, distinct: 0 }) };
  }

  totalTraffic(): DeviceTraffic {
    const t: DeviceTraffic = { chunksSent: 0, payloadBytes: 0, wireBytes: 0, pulls: 0, distinct: 0 };
    for (const d of this.devices.values()) for (const k of Object.keys(t) as (keyof DeviceTraffic)[]) t[k] += d.traffic[k];
    return t;
  }

  private handle(topic: string, payload: Buffer): void {
    if (topic !== this.pullTopic) return;
    let pull;
    try {
      pull = parsePull(payload);
    } catch {
      this.rejectedPulls++;
      return;
    }
    const count = this.o.bundle.chunkSha256.length;
    if ((this.allowed && !this.allowed.has(pull.deviceId)) || pull.chunks.some((i) => i >= count)) {
      this.rejectedPulls++;
      return;
    }
    if (this.o.hooks?.dropPull?.(pull.deviceId, pull.chunks)) return;
    let q = this.devices.get(pull.deviceId);
    if (!q) {
      q = { pending: [], queued: new Set(), inFlight: 0, sentOnce: new Set(), copies: new Map(), traffic: { chunksSent: 0, payloadBytes: 0, wireBytes: 0, pulls: 0, distinct: 0 } };
      this.devices.set(pull.deviceId, q);
    }
    q.traffic.pulls++;
    for (const i of pull.chunks) {
      if (q.queued.has(i)) continue; // already waiting: one copy answers both asks
      q.queued.add(i);
      q.pending.push(i);
    }
    this.pump(pull.deviceId, q);
  }

  private pump(deviceId: string, q: DeviceQueue): void {
    while (q.inFlight < this.window && q.pending.length && this.fh) {
      const index = q.pending.shift()!;
      q.queued.delete(index);
      q.inFlight++;
      this.send(deviceId, q, index)
        .catch(() => undefined) // the device re-pulls what it does not get
        .finally(() => {
          q.inFlight--;
          this.pump(deviceId, q);
        });
    }
  }

  private async send(deviceId: string, q: DeviceQueue, index: number): Promise<void> {
    await this.o.hooks?.beforeSend?.(deviceId, index);
    const b = this.o.bundle;
    const len = chunkLength(b.size, b.chunkSize, index);
    const data = Buffer.allocUnsafe(len);
    const fh = this.fh;
    if (!fh) return;
    const { bytesRead } = await fh.read(data, 0, len, index * b.chunkSize);
    if (bytesRead !== len) throw new Error(`${b.path}: short read`);
    const sha = Buffer.from(b.chunkSha256[index], 'hex');
    const copy = (q.copies.get(index) ?? 0) + 1;
    q.copies.set(index, copy);
    if (this.o.hooks?.corrupt?.(deviceId, index, copy)) data[len >> 1] ^= 0x5a;
    const payload = encodeChunk(index, sha, data);
    const topic = otaTopics.chunk(this.o.topicPrefix, deviceId, this.o.transferId);
    const t = q.traffic;
    t.chunksSent++;
    t.payloadBytes += payload.length;
    t.wireBytes += publishPacketBytes(topic, payload.length, this.o.protocolVersion ?? 5) + 4;
    if (!q.sentOnce.has(index)) {
      q.sentOnce.add(index);
      t.distinct++;
    }
    const opts: IClientPublishOptions = { qos: 1 };
    await this.o.client.publishAsync(topic, payload, opts);
  }
}

/** Size of a QoS 1 PUBLISH: fixed header (1 + remaining-length varint), topic, packet id, [properties length], payload. */
export function publishPacketBytes(topic: string, payloadBytes: number, protocol: 4 | 5): number {
  const remaining = 2 + Buffer.byteLength(topic) + 2 + (protocol === 5 ? 1 : 0) + payloadBytes;
  const varint = remaining < 128 ? 1 : remaining < 16384 ? 2 : remaining < 2097152 ? 3 : 4;
  return 1 + varint + remaining;
}
