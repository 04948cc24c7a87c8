// The compact binary request and reply (little-endian), for clients that cannot
// afford JSON and base64. Layouts are documented in README "MQTT topics".
//
// request: "QIE" 0x01 | u32 id | u32 deadlineMs (0: none) | u16 R | R bytes replyTo (UTF-8)
//          | every input's raw bytes, in input order, exactly the model's sizes
// reply:   "QIE" 0x81 | u32 id | u8 status (0 ok, else error number) | u8 count
//          | ok: count x (u32 length | bytes)   error: u16 length | UTF-8 message
import { ReplyError, ReplyErrorCode, statusByte } from './reply-error';
import { decodeTopicBytes } from './topic-name';

export const REQUEST_MAGIC = [0x51, 0x49, 0x45, 0x01];
export const REPLY_MAGIC = [0x51, 0x49, 0x45, 0x81];
const HEADER = 14;

export function isBinaryRequest(p: Uint8Array): boolean {
  return p.length >= 4 && REQUEST_MAGIC.every((b, i) => p[i] === b);
}

export interface BinaryRequest {
  id: number;
  deadlineMs?: number;
  replyTo?: string;
  /** replyTo bytes were present but not well-formed UTF-8. */
  replyToMalformed?: boolean;
  body: Uint8Array;
}

/** Reads the header; throws ReplyError (with whatever id could be read) on a bad one. */
export function decodeBinaryRequest(p: Uint8Array): BinaryRequest {
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const id = p.length >= 8 ? dv.getUint32(4, true) : 0;
  if (p.length < HEADER) throw Object.assign(new ReplyError('bad_request', `binary request header needs ${HEADER} bytes, got ${p.length}`), { id });
  const deadline = dv.getUint32(8, true);
  const r = dv.getUint16(12, true);
  if (HEADER + r > p.length) throw Object.assign(new ReplyError('bad_request', `binary request: replyTo length ${r} runs past the payload`), { id });
  // strict: a lenient decode would turn bad bytes into U+FFFD and answer on another topic
  const replyTo = r ? decodeTopicBytes(p.subarray(HEADER, HEADER + r)) : undefined;
  return { id, deadlineMs: deadline || undefined, replyTo, replyToMalformed: r > 0 && replyTo === undefined, body: p.subarray(HEADER + r) };
}

/** Splits the body into one view per input; sizes must add up exactly. */
export function splitInputs(body: Uint8Array, sizes: number[]): Uint8Array[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (body.length !== total)
    throw new ReplyError('bad_request', `binary request carries ${body.length} input bytes; the model takes ${total} (${sizes.join(' + ')})`);
  const out: Uint8Array[] = [];
  let off = 0;
  for (const s of sizes) {
    out.push(body.subarray(off, off + s));
    off += s;
  }
  return out;
}

export function encodeBinaryOk(id: number, outputs: Uint8Array[]): Buffer {
  const size = 10 + outputs.reduce((a, o) => a + 4 + o.length, 0);
  const b = Buffer.alloc(size);
  b.set(REPLY_MAGIC, 0);
  b.writeUInt32LE(id >>> 0, 4);
  b[8] = 0;
  b[9] = outputs.length;
  let off = 10;
  for (const o of outputs) {
    b.writeUInt32LE(o.length, off);
    b.set(o, off + 4);
    off += 4 + o.length;
  }
  return b;
}

export function encodeBinaryError(id: number, code: ReplyErrorCode, message: string): Buffer {
  const msg = Buffer.from(message.slice(0, 1000), 'utf8');
  const b = Buffer.alloc(12 + msg.length);
  b.set(REPLY_MAGIC, 0);
  b.writeUInt32LE(id >>> 0, 4);
  b[8] = statusByte(code);
  b[9] = 0;
  b.writeUInt16LE(msg.length, 10);
  b.set(msg, 12);
  return b;
}

export interface BinaryReply {
  id: number;
  status: number;
  outputs: Buffer[];
  message?: string;
}

/** Client side (tests, benchmarks, examples): parses a binary reply. */
export function decodeBinaryReply(b: Buffer): BinaryReply {
  if (b.length < 10 || !REPLY_MAGIC.every((x, i) => b[i] === x)) throw new Error('not a qie binary reply');
  const id = b.readUInt32LE(4);
  const status = b[8];
  if (status !== 0) return { id, status, outputs: [], message: b.subarray(12, 12 + b.readUInt16LE(10)).toString('utf8') };
  const outputs: Buffer[] = [];
  let off = 10;
  for (let i = 0; i < b[9]; i++) {
    const n = b.readUInt32LE(off);
    outputs.push(b.subarray(off + 4, off + 4 + n));
    off += 4 + n;
  }
  return { id, status, outputs };
}

/** Client side (tests, benchmarks, examples): builds a binary request. */
export function encodeBinaryRequest(id: number, inputs: Uint8Array[], opts: { deadlineMs?: number; replyTo?: string } = {}): Buffer {
  const reply = Buffer.from(opts.replyTo ?? '', 'utf8');
  const b = Buffer.alloc(HEADER + reply.length + inputs.reduce((a, x) => a + x.length, 0));
  b.set(REQUEST_MAGIC, 0);
  b.writeUInt32LE(id >>> 0, 4);
  b.writeUInt32LE(opts.deadlineMs ?? 0, 8);
  b.writeUInt16LE(reply.length, 12);
  b.set(reply, HEADER);
  let off = HEADER + reply.length;
  for (const x of inputs) {
    b.set(x, off);
    off += x.length;
  }
  return b;
}
