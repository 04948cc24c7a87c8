// Hostile requests for the daemon, drawn from a seed: garbage payloads, broken JSON
// and binary envelopes, reply topics of every character class and depth, payloads
// up to and past the size limit, and well-formed requests whose answers are known.
// The adversarial test and `npm run soak` both draw from here.
import { encodeBinaryRequest } from '../../src/daemon/binary';

export interface FuzzContext {
  random: () => number;
  /** The daemon's request topic prefix: `<prefix>/<deviceId>/infer/`. */
  inferBase: string;
  model: string;
  /** The model's input size in bytes (one int8 input). */
  inputBytes: number;
  /** A topic the hostile client reads and the daemon may write: valid replies land under it. */
  replyBase: string;
  /** The device's own namespace, `<prefix>/<deviceId>`. */
  deviceBase: string;
  maxPayloadBytes: number;
}

export interface FuzzRequest {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  /** MQTT 5 response topic property, when the case uses one. */
  responseTopic?: string;
  /** For well-formed requests: the input bytes whose outputs the reply must carry, and how to find the reply. */
  valid?: { key: string; input: Buffer; format: 'json' | 'binary' };
  kind: string;
}

const int = (r: () => number, n: number) => Math.floor(r() * n);
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[int(r, xs.length)];

/** One code point of a class brokers refuse in topic names, as a string. */
function badChar(r: () => number): { kind: string; ch: string } {
  switch (int(r, 7)) {
    case 0:
      return { kind: 'c0', ch: String.fromCharCode(1 + int(r, 31)) };
    case 1:
      return { kind: 'c1', ch: String.fromCharCode(0x7f + int(r, 0x21)) };
    case 2:
      return { kind: 'nonchar-fdd0', ch: String.fromCharCode(0xfdd0 + int(r, 32)) };
    case 3: {
      const plane = int(r, 17);
      return { kind: 'nonchar-fffe', ch: String.fromCodePoint(plane * 0x10000 + 0xfffe + int(r, 2)) };
    }
    case 4:
      return { kind: 'nul', ch: '\u0000' };
    case 5:
      return { kind: 'wildcard', ch: pick(r, ['+', '#']) };
    default:
      return { kind: 'lone-surrogate', ch: String.fromCharCode(0xd800 + int(r, 0x800)) };
  }
}

/** A reply topic: mostly hostile, sometimes fine. */
export function replyTopic(c: FuzzContext): { kind: string; topic: string } {
  const r = c.random;
  const tag = int(r, 1e9).toString(36);
  switch (int(r, 9)) {
    case 0:
    case 1: {
      const b = badChar(r);
      const at = int(r, 3);
      const topic = at === 0 ? `${b.ch}${c.replyBase}/${tag}` : at === 1 ? `${c.replyBase}/${tag}${b.ch}x` : `${c.replyBase}/${tag}/${b.ch}`;
      return { kind: `reply-${b.kind}`, topic };
    }
    case 2:
      return { kind: 'reply-deep', topic: `${c.replyBase}/${'l/'.repeat(20 + int(r, 400))}${tag}` };
    case 3:
      return { kind: 'reply-long', topic: `${c.replyBase}/${'x'.repeat(60_000 + int(r, 10_000))}` };
    case 4:
      return { kind: 'reply-own-namespace', topic: pick(r, [`${c.deviceBase}/ota/order`, `${c.deviceBase}/ota/lock`, `${c.deviceBase}/status`, `${c.deviceBase}/infer/${c.model}`, `${c.deviceBase}/ota/chunk/x`]) };
    case 5:
      return { kind: 'reply-sys', topic: pick(r, ['$SYS/broker/x', '$share/g/replies/x', '', '/', '//', `${c.replyBase}/`]) };
    case 6:
      return { kind: 'reply-not-allowed', topic: `elsewhere/${tag}` };
    default:
      return { kind: 'reply-valid', topic: `${c.replyBase}/${tag}` };
  }
}

function randomBytes(r: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

const json = (o: unknown) => Buffer.from(JSON.stringify(o));

/** Byte strings that are not UTF-8: lone continuation bytes, overlong forms, encoded surrogates, truncated sequences. */
function invalidUtf8(r: () => number): Buffer {
  const bad = pick(r, [[0x80], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff], [0xf8, 0x88, 0x80, 0x80, 0x80]]);
  return Buffer.concat([Buffer.from('replies/'), Buffer.from(bad), Buffer.from('/x')]);
}

/** A binary request whose replyTo field holds raw bytes (a client need not send UTF-8). */
function binaryWithRawReplyTo(id: number, input: Buffer, replyTo: Buffer): Buffer {
  const plain = encodeBinaryRequest(id, [input]);
  const b = Buffer.concat([plain.subarray(0, 14), replyTo, plain.subarray(14)]);
  b.writeUInt16LE(replyTo.length, 12);
  return b;
}

/** A JSON document that looks like a request but is wrong in one or more ways. */
function brokenJson(c: FuzzContext): Buffer {
  const r = c.random;
  const n = c.inputBytes;
  const good = () => randomBytes(r, n).toString('base64');
  const variants: (() => unknown)[] = [
    () => ({}),
    () => ({ inputs: 'x' }),
    () => ({ inputs: [] }),
    () => ({ inputs: [{ dtype: 'int8', data: good() }, { dtype: 'int8', data: good() }] }),
    () => ({ inputs: [{ dtype: pick(r, ['int4', 'float64', 'bool', '', null, 7, 'uint8']), data: good() }] }),
    () => ({ inputs: [{ dtype: 'int8', shape: [1e9, 1e9], data: good() }] }),
    () => ({ inputs: [{ dtype: 'int8', shape: 'big', data: good() }] }),
    () => ({ inputs: [{ dtype: 'int8', data: good().slice(0, -4) }] }),
    () => ({ inputs: [{ dtype: 'int8', data: '!'.repeat(Math.ceil(n / 3) * 4) }] }),
    () => ({ inputs: [{ dtype: 'int8', data: Array.from({ length: n }, () => pick(r, [1e300, -129, 128, 0.5, '1', null, NaN, []])) }] }),
    () => ({ inputs: [{ dtype: 'float32', data: Array.from({ length: n }, () => pick(r, [1e308, -1e308, 1e-320, 0])) }] }),
    () => ({ inputs: [{ dtype: 'float32', data: Array.from({ length: n - 1 }, () => 0) }] }),
    () => ({ id: { nested: true }, inputs: [{ dtype: 'int8', data: good() }] }),
    () => ({ id: 'i'.repeat(300), inputs: [{ dtype: 'int8', data: good() }] }),
    () => ({ deadlineMs: pick(r, [-1, 0, 1e308, 'soon', 86_400_001, null]), inputs: [{ dtype: 'int8', data: good() }] }),
    () => JSON.parse(`{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"x": 1}}, "inputs": [{"dtype": "int8", "data": "${good()}"}]}`),
    () => ({ inputs: JSON.parse('['.repeat(64) + ']'.repeat(64)) as unknown }),
    () => [1, 2, 3],
    () => pick(r, [null, 42, 'text', true]),
  ];
  return json(pick(r, variants)());
}

/** A binary request with a damaged header or body. */
function brokenBinary(c: FuzzContext): Buffer {
  const r = c.random;
  const id = int(r, 2 ** 32);
  const body = randomBytes(r, c.inputBytes);
  const ok = encodeBinaryRequest(id, [body]);
  switch (int(r, 5)) {
    case 0:
      return ok.subarray(0, int(r, ok.length)); // truncated
    case 1: {
      const b = Buffer.from(ok);
      b.writeUInt16LE(int(r, 65536), 12); // replyTo length past the end
      return b;
    }
    case 2:
      return Buffer.concat([ok, randomBytes(r, 1 + int(r, 64))]); // trailing bytes
    case 3: {
      const b = Buffer.from(ok);
      b.writeUInt32LE(int(r, 2 ** 32), 8); // any deadline
      return b;
    }
    default:
      return Buffer.concat([ok.subarray(0, 4), randomBytes(r, int(r, 64))]);
  }
}

/** A request the daemon should run; its reply must carry the model's outputs for `input`. */
function wellFormed(c: FuzzContext, key: string, replyTo?: string): FuzzRequest {
  const r = c.random;
  const input = randomBytes(r, c.inputBytes);
  const topic = c.inferBase + c.model;
  switch (int(r, 3)) {
    case 0:
      return { kind: 'valid-json-base64', topic, qos: 1, payload: json({ id: key, replyTo, inputs: [{ dtype: 'int8', data: input.toString('base64') }] }), valid: { key, input, format: 'json' } };
    case 1:
      return { kind: 'valid-json-array', topic, qos: 1, payload: json({ id: key, replyTo, inputs: [{ dtype: 'int8', data: Array.from(new Int8Array(input.buffer, input.byteOffset, input.length)) }] }), valid: { key, input, format: 'json' } };
    default: {
      const id = Number(key.slice(1));
      return { kind: 'valid-binary', topic, qos: 1, payload: encodeBinaryRequest(id, [input], { replyTo }), valid: { key: String(id), input, format: 'binary' } };
    }
  }
}

/**
 * Request number `i` of a fuzz run. Well-formed requests reply to `<replyBase>/ok`
 * with key `v<i>`; the rest are anything.
 */
export function fuzzRequest(c: FuzzContext, i: number): FuzzRequest {
  const r = c.random;
  const qos = r() < 0.5 ? 0 : 1;
  const infer = c.inferBase + c.model;
  const roll = int(r, 100);
  if (roll < 12) return wellFormed(c, `v${i}`, `${c.replyBase}/ok`);
  if (roll < 32) {
    // a hostile reply topic in the JSON envelope, the binary header or the MQTT 5 property
    const t = replyTopic(c);
    const input = randomBytes(r, c.inputBytes);
    const where = int(r, 3);
    if (where === 0) return { kind: `${t.kind}:json`, topic: infer, qos, payload: json({ id: i, replyTo: t.topic, inputs: [{ dtype: 'int8', data: input.toString('base64') }] }) };
    if (where === 1 && Buffer.byteLength(t.topic) < 65_536) return { kind: `${t.kind}:binary`, topic: infer, qos, payload: encodeBinaryRequest(i, [input], { replyTo: t.topic }) };
    if (where === 1) return { kind: 'reply-invalid-utf8:binary', topic: infer, qos, payload: binaryWithRawReplyTo(i, input, invalidUtf8(r)) };
    // the broker itself refuses a malformed property from the sender (and would cut off this
    // client, not the daemon): such topics travel inside the payload only
    if (/^reply-(c0|c1|nonchar|nul|lone|wildcard)/.test(t.kind) || t.topic === '' || Buffer.byteLength(t.topic) > 65_535)
      return { kind: `${t.kind}:json`, topic: infer, qos, payload: json({ id: i, replyTo: t.topic, inputs: [{ dtype: 'int8', data: input.toString('base64') }] }) };
    return { kind: `${t.kind}:property`, topic: infer, qos, responseTopic: t.topic, payload: encodeBinaryRequest(i, [input]) };
  }
  if (roll < 52) return { kind: 'json-broken', topic: infer, qos, payload: brokenJson(c) };
  if (roll < 67) return { kind: 'binary-broken', topic: infer, qos, payload: brokenBinary(c) };
  if (roll < 77) return { kind: 'garbage', topic: infer, qos, payload: randomBytes(r, int(r, 4096)) };
  if (roll < 85) {
    const name = pick(r, ['nope', 'x'.repeat(1 + int(r, 2000)), `${c.model}/extra`, `${c.model} `, '..', '%00', 'ü¿€']);
    return { kind: 'unknown-model', topic: c.inferBase + name, qos, payload: wellFormed(c, `u${i}`).payload };
  }
  if (roll < 88) {
    // around the payload limit: one byte under, at, and over
    const size = c.maxPayloadBytes + pick(r, [-1, 0, 1, -int(r, 4096), 1 + int(r, 4096)]);
    const input = randomBytes(r, c.inputBytes).toString('base64');
    const head = `{"id":${i},"inputs":[{"dtype":"int8","data":"${input}"}],"pad":"`;
    const pad = Math.max(0, size - head.length - 2);
    return { kind: 'large', topic: infer, qos, payload: Buffer.from(head + 'p'.repeat(pad) + '"}') };
  }
  return { kind: 'empty', topic: infer, qos, payload: Buffer.alloc(int(r, 2)) };
}
