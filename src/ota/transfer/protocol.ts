// The OTA transfer's MQTT messages (README "Pushing updates"): topic names and the
// order, pull and chunk payloads, each validated with every bound checked before
// anything is trusted. Console and device share this file.
import { z } from 'zod';

/** Largest chunk payload (data bytes) a chunk message may carry. */
export const MAX_CHUNK_SIZE = 65536;
/** Smallest chunk size an order may ask for (keeps the chunk list short). */
export const MIN_CHUNK_SIZE = 1024;
/** Chunk indices are u32 on the wire; this caps the chunk list of one order. */
export const MAX_CHUNKS = 65536;
/** Largest bundle an order may announce (MAX_CHUNKS full chunks). */
export const MAX_BUNDLE_SIZE = MAX_CHUNKS * MAX_CHUNK_SIZE;
/** Bundle header: 12 fixed bytes, the manifest (≤ 1 MiB), a 64-byte signature. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
export const HEADER_FIXED_BYTES = 12;
export const SIGNATURE_BYTES = 64;
const MAX_HEADER_BYTES = HEADER_FIXED_BYTES + MAX_MANIFEST_BYTES + SIGNATURE_BYTES;
/** Chunk indices one pull message may ask for. */
export const MAX_PULL_CHUNKS = 64;
/** Chunk message: u32 LE index | 32-byte sha256 of data | data. */
export const CHUNK_HEADER_BYTES = 36;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (sha256)');
const base64 = (maxBytes: number) =>
  z
    .string()
    .max(Math.ceil(maxBytes / 3) * 4)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
    .refine((s) => s.length % 4 === 0, 'base64 length must be a multiple of 4');
/** One topic level: it is placed inside topics. */
const topicLevel = z.string().min(1).max(128).regex(/^[^/+#\u0000]+$/, 'must be one topic level');
/** Transfer ids are uuids in practice; any short [A-Za-z0-9_-] id is taken. */
export const transferIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8..64 characters of [A-Za-z0-9_-]');

export const offerSchema = z
  .strictObject({
    size: z.number().int().min(1).max(MAX_BUNDLE_SIZE),
    sha256: hex64,
    chunkSize: z.number().int().min(MIN_CHUNK_SIZE).max(MAX_CHUNK_SIZE),
    chunkSha256: z.array(hex64).min(1).max(MAX_CHUNKS),
  })
  .superRefine((b, ctx) => {
    const want = chunkCount(b.size, b.chunkSize);
    if (b.chunkSha256.length !== want) ctx.addIssue({ code: 'custom', path: ['chunkSha256'], message: `${b.chunkSha256.length} chunk hashes for ${want} chunks` });
  });

export const updateOrderSchema = z.strictObject({
  type: z.literal('update'),
  transferId: transferIdSchema,
  header: base64(MAX_HEADER_BYTES),
  bundle: offerSchema,
  lockOverride: z.boolean().optional(),
});

export const rollbackOrderSchema = z.strictObject({
  type: z.literal('rollback'),
  order: base64(4096).min(4),
  signature: base64(SIGNATURE_BYTES).length(88),
});

export const orderSchema = z.discriminatedUnion('type', [updateOrderSchema, rollbackOrderSchema]);

export const pullSchema = z.strictObject({
  deviceId: topicLevel,
  chunks: z.array(z.number().int().min(0).max(MAX_CHUNKS - 1)).min(1).max(MAX_PULL_CHUNKS),
});

export type UpdateOrder = z.output<typeof updateOrderSchema>;
export type RollbackOrder = z.output<typeof rollbackOrderSchema>;
export type Order = z.output<typeof orderSchema>;
export type Pull = z.output<typeof pullSchema>;
export type Offer = z.output<typeof offerSchema>;

export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** Bytes of chunk `index` of a bundle (the last one may be short). */
export function chunkLength(size: number, chunkSize: number, index: number): number {
  return Math.min(chunkSize, size - index * chunkSize);
}

// ---- topics (`p` = topicPrefix, `d` = deviceId) ----
export const otaTopics = {
  order: (p: string, d: string) => `${p}/${d}/ota/order`,
  status: (p: string, d: string) => `${p}/${d}/ota/status`,
  lock: (p: string, d: string) => `${p}/${d}/ota/lock`,
  chunk: (p: string, d: string, transferId: string) => `${p}/${d}/ota/chunk/${transferId}`,
  /** What a device subscribes for the chunks of any of its transfers. */
  chunkFilter: (p: string, d: string) => `${p}/${d}/ota/chunk/+`,
  pull: (p: string, transferId: string) => `${p}/ota/${transferId}/pull`,
  /** Every device's status and OTA status, for the console. */
  statusFilter: (p: string) => `${p}/+/status`,
  otaStatusFilter: (p: string) => `${p}/+/ota/status`,
};

/** Thrown by the parsers below: a message that must be ignored (and counted). */
export class ProtocolError extends Error {}

function parseJson<T>(schema: z.ZodType<T>, payload: Buffer | string, what: string, maxBytes: number): T {
  if (payload.length > maxBytes) throw new ProtocolError(`${what}: ${payload.length} bytes (max ${maxBytes})`);
  let value: unknown;
  try {
    value = JSON.parse(payload.toString());
  } catch {
    throw new ProtocolError(`${what}: not JSON`);
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ProtocolError(`${what}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return r.data;
}

// An update order carries the header (≤ 1 MiB base64) and up to 64 Ki hashes.
const MAX_ORDER_BYTES = Math.ceil(MAX_HEADER_BYTES / 3) * 4 + MAX_CHUNKS * 67 + 4096;

export function parseOrder(payload: Buffer | string): Order {
  const o = parseJson(orderSchema, payload, 'order', MAX_ORDER_BYTES);
  if (o.type === 'update') parseHeader(Buffer.from(o.header, 'base64'), o.bundle.size);
  return o;
}

export function encodeOrder(o: Order): string {
  return JSON.stringify(o);
}

export function parsePull(payload: Buffer | string): Pull {
  return parseJson(pullSchema, payload, 'pull', 2048);
}

export function encodePull(p: Pull): string {
  return JSON.stringify(p);
}

/**
 * Checks the fixed part of a bundle header (magic, version, manifest length) and that
 * the bytes are exactly the header; returns the manifest length. The signature and
 * manifest are the device's to check (src/ota/bundle.ts).
 */
export function parseHeader(header: Buffer, bundleSize: number): { manifestLength: number } {
  if (header.length < HEADER_FIXED_BYTES) throw new ProtocolError(`header: ${header.length} bytes, shorter than the fixed ${HEADER_FIXED_BYTES}`);
  if (header.toString('latin1', 0, 4) !== 'QIEB') throw new ProtocolError('header: not a qie bundle (magic)');
  const version = header.readUInt16LE(4);
  if (version !== 1) throw new ProtocolError(`header: format version ${version} (this device reads 1)`);
  const m = header.readUInt32LE(8);
  if (m < 2 || m > MAX_MANIFEST_BYTES) throw new ProtocolError(`header: manifest length ${m} out of range`);
  const want = HEADER_FIXED_BYTES + m + SIGNATURE_BYTES;
  if (header.length !== want) throw new ProtocolError(`header: ${header.length} bytes, the manifest length says ${want}`);
  if (want > bundleSize) throw new ProtocolError(`header: ${want} bytes but the bundle is ${bundleSize}`);
  return { manifestLength: m };
}

export interface Chunk {
  index: number;
  sha256: Buffer;
  data: Buffer;
}

export function encodeChunk(index: number, sha256: Buffer, data: Buffer): Buffer {
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new RangeError(`chunk index ${index}`);
  if (sha256.length !== 32) throw new RangeError('chunk sha256 must be 32 bytes');
  if (data.length > MAX_CHUNK_SIZE) throw new RangeError(`chunk of ${data.length} bytes`);
  const head = Buffer.allocUnsafe(CHUNK_HEADER_BYTES);
  head.writeUInt32LE(index, 0);
  sha256.copy(head, 4);
  return Buffer.concat([head, data]);
}

/** Splits a chunk message; the data is a view of the payload (no copy). */
export function decodeChunk(payload: Buffer): Chunk {
  if (payload.length < CHUNK_HEADER_BYTES + 1) throw new ProtocolError(`chunk: ${payload.length} bytes, too short`);
  if (payload.length > CHUNK_HEADER_BYTES + MAX_CHUNK_SIZE) throw new ProtocolError(`chunk: ${payload.length} bytes, too long`);
  return { index: payload.readUInt32LE(0), sha256: payload.subarray(4, CHUNK_HEADER_BYTES), data: payload.subarray(CHUNK_HEADER_BYTES) };
}

/** Final OTA states (the device's last word on a transfer). */
export function isFinalState(state: string): boolean {
  return state === 'succeeded' || state.startsWith('failed:') || state.startsWith('rolled_back:');
}
