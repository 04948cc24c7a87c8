// Parses request payloads (JSON envelope or binary) into input tensors for a model.
// Every size is checked against the model before anything is allocated, so a
// request claiming a huge tensor costs nothing.
import type { TensorMeta } from '../engine/model';
import { quantize, TYPED_ARRAY } from '../engine/tensors';
import { decodeBinaryRequest, isBinaryRequest, splitInputs } from './binary';
import { ReplyError } from './reply-error';
import { topicNameProblem } from './topic-name';

export type RequestId = string | number | null;

/** Where and how to answer; filled as far as the payload allowed even when it is bad. */
export interface Envelope {
  format: 'json' | 'binary';
  id: RequestId;
  replyTo?: string;
  deadlineMs?: number;
}

export interface ParsedRequest {
  envelope: Envelope;
  /** Turns the payload's tensors into the model's raw input bytes (throws ReplyError). */
  inputs(metas: TensorMeta[]): Uint8Array[];
}

const MAX_DEADLINE_MS = 86_400_000;

/** Why a reply may not go to a topic (the daemon's rules: Topics.replyProblem); undefined when it may. */
export type ReplyTopicCheck = (topic: unknown) => string | undefined;

/**
 * Never throws: a payload that cannot be read gives an envelope plus the error to reply.
 * A refused replyTo is left out of the envelope, so the error goes to the default reply topic.
 */
export function parseRequest(
  payload: Uint8Array,
  maxPayloadBytes: number,
  replyProblem: ReplyTopicCheck = (t) => topicNameProblem(t),
): { request?: ParsedRequest; envelope: Envelope; error?: ReplyError } {
  const binary = isBinaryRequest(payload);
  const envelope: Envelope = { format: binary ? 'binary' : 'json', id: null };
  try {
    if (payload.length > maxPayloadBytes) throw new ReplyError('bad_request', `payload of ${payload.length} bytes exceeds maxPayloadBytes ${maxPayloadBytes}`);
    if (binary) {
      let b;
      try {
        b = decodeBinaryRequest(payload);
      } catch (e) {
        envelope.id = (e as { id?: number }).id ?? 0;
        throw e;
      }
      envelope.id = b.id;
      if (b.deadlineMs !== undefined) envelope.deadlineMs = Math.min(b.deadlineMs, MAX_DEADLINE_MS);
      if (b.replyToMalformed) throw new ReplyError('bad_request', 'replyTo is not well-formed UTF-8');
      if (b.replyTo !== undefined) {
        const bad = replyProblem(b.replyTo);
        if (bad) throw new ReplyError('bad_request', `replyTo: ${bad}`);
        envelope.replyTo = b.replyTo;
      }
      return { envelope, request: { envelope, inputs: (metas) => splitInputs(b.body, metas.map((m) => m.bytes)) } };
    }
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
    } catch {
      throw new ReplyError('bad_request', 'payload is neither JSON nor a qie binary request');
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ReplyError('bad_request', 'the request must be a JSON object');
    const o = doc as Record<string, unknown>;
    // take the address first so that every later error reaches the client
    if (typeof o.id === 'string' || (typeof o.id === 'number' && Number.isFinite(o.id))) envelope.id = o.id.toString().length <= 256 ? o.id : null;
    const badReplyTo = o.replyTo === undefined ? undefined : replyProblem(o.replyTo);
    if (o.replyTo !== undefined && !badReplyTo) envelope.replyTo = o.replyTo as string;
    if (o.id !== undefined && envelope.id === null) throw new ReplyError('bad_request', 'id must be a string or number (at most 256 characters)');
    if (badReplyTo) throw new ReplyError('bad_request', `replyTo: ${badReplyTo}`);
    if (o.deadlineMs !== undefined) {
      if (typeof o.deadlineMs !== 'number' || !(o.deadlineMs > 0) || o.deadlineMs > MAX_DEADLINE_MS)
        throw new ReplyError('bad_request', `deadlineMs must be a number in (0, ${MAX_DEADLINE_MS}]`);
      envelope.deadlineMs = o.deadlineMs;
    }
    if (!Array.isArray(o.inputs)) throw new ReplyError('bad_request', 'inputs must be an array of { dtype, shape, data }');
    const list = o.inputs as unknown[];
    return { envelope, request: { envelope, inputs: (metas) => jsonInputs(list, metas) } };
  } catch (e) {
    return { envelope, error: e instanceof ReplyError ? e : new ReplyError('internal', (e as Error).message) };
  }
}

function jsonInputs(list: unknown[], metas: TensorMeta[]): Uint8Array[] {
  if (list.length !== metas.length) throw new ReplyError('bad_request', `the model takes ${metas.length} input(s); the request has ${list.length}`);
  return list.map((x, i) => jsonInput(x, metas[i], i));
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(s: string, bytes: number, what: string): Buffer {
  // decoded size from the string length alone: no allocation for a wrong size
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const decoded = s.length % 4 === 0 ? (s.length / 4) * 3 - pad : -1;
  if (decoded !== bytes) throw new ReplyError('bad_request', `${what}: base64 data must encode ${bytes} bytes (${Math.ceil(bytes / 3) * 4} characters); got ${s.length} characters`);
  if (!BASE64.test(s)) throw new ReplyError('bad_request', `${what}: data is not valid base64`);
  return Buffer.from(s, 'base64');
}

function jsonInput(x: unknown, m: TensorMeta, i: number): Uint8Array {
  const what = `inputs[${i}] (${m.name})`;
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new ReplyError('bad_request', `${what} must be an object { dtype, shape, data }`);
  const t = x as Record<string, unknown>;
  if (t.shape !== undefined) {
    const ok = Array.isArray(t.shape) && t.shape.length === m.shape.length && t.shape.every((d, k) => d === m.shape[k]);
    if (!ok) throw new ReplyError('bad_request', `${what}: shape ${JSON.stringify(t.shape).slice(0, 80)} does not match the model's [${m.shape}]`);
  }
  const dtype = t.dtype ?? m.dtype;
  const count = m.shape.reduce((a, b) => a * b, 1);
  const quantized = m.dtype !== 'float32' && m.scale !== undefined && m.zeroPoint !== undefined;
  if (dtype === m.dtype) {
    if (typeof t.data === 'string') return decodeBase64(t.data, m.bytes, what);
    if (Array.isArray(t.data)) return numbersToBytes(t.data, m, count, what);
    throw new ReplyError('bad_request', `${what}: data must be base64 or an array of numbers`);
  }
  if (dtype === 'float32' && quantized && (m.dtype === 'int8' || m.dtype === 'uint8' || m.dtype === 'int16')) {
    let floats: ArrayLike<number>;
    if (typeof t.data === 'string') {
      const raw = decodeBase64(t.data, count * 4, what);
      floats = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    } else if (Array.isArray(t.data)) {
      if (t.data.length !== count) throw new ReplyError('bad_request', `${what}: expected ${count} values for [${m.shape}], got ${t.data.length}`);
      if (!t.data.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new ReplyError('bad_request', `${what}: data must hold finite numbers`);
      floats = t.data as number[];
    } else throw new ReplyError('bad_request', `${what}: data must be base64 or an array of numbers`);
    const q = quantize(floats, { scale: m.scale!, zeroPoint: m.zeroPoint!, dtype: m.dtype });
    return new Uint8Array(q.buffer, q.byteOffset, q.byteLength);
  }
  throw new ReplyError('bad_request', `${what}: dtype ${JSON.stringify(dtype).slice(0, 40)} does not match the model's ${m.dtype}${quantized ? ' (or float32, quantized by the daemon)' : ''}`);
}

const INT_RANGE: Record<string, [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  bool: [0, 1],
};

function numbersToBytes(data: unknown[], m: TensorMeta, count: number, what: string): Uint8Array {
  if (data.length !== count) throw new ReplyError('bad_request', `${what}: expected ${count} values for [${m.shape}], got ${data.length}`);
  if (m.dtype === 'int64') throw new ReplyError('bad_request', `${what}: int64 data must be base64`);
  const range = INT_RANGE[m.dtype];
  for (const v of data) {
    const ok = typeof v === 'number' && Number.isFinite(v) && (!range || (Number.isInteger(v) && v >= range[0] && v <= range[1]));
    if (!ok) throw new ReplyError('bad_request', `${what}: ${JSON.stringify(v)?.slice(0, 40)} is not a ${m.dtype} value`);
  }
  const Ctor = TYPED_ARRAY[m.dtype] as unknown as { from(a: ArrayLike<number>): ArrayBufferView };
  const arr = Ctor.from(data as number[]);
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}
