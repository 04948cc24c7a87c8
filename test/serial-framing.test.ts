// The serial parsers on their own: CRC-16/CCITT-FALSE's check value, every framing
// fed in random splits, with noise, CRC errors, truncated and oversize frames;
// sample decoding and the sliding window.
import test from 'ava';
import { checkCrc, crc16, withCrc } from '../src/sources/crc16';
import { decodeBinary, decodeText, encodeBinary } from '../src/sources/decode';
import { encodeFrame, FramingConfig } from '../src/sources/encode';
import { BadFrameKind, Framer, FrameSink } from '../src/sources/framing';
import { CobsFramer, cobsDecode, cobsEncode, cobsFrame } from '../src/sources/framing-cobs';
import { FixedFramer, fixedFrame } from '../src/sources/framing-fixed';
import { LineFramer } from '../src/sources/framing-lines';
import { SlipFramer, slipEncode } from '../src/sources/framing-slip';
import { LatencyStats } from '../src/sources/latency';
import { SlidingWindow, WindowOut } from '../src/sources/window';
import { seededRandom } from '../src/util/random';

class Collect {
  frames: number[][] = [];
  bad: Record<string, number> = {};
  frame(p: Uint8Array): void {
    this.frames.push(Array.from(p));
  }
  badFrame(kind: BadFrameKind): void {
    this.bad[kind] = (this.bad[kind] ?? 0) + 1;
  }
  get sink(): FrameSink {
    return { frame: (p) => this.frame(p), bad: (k) => this.badFrame(k) };
  }
}

/** Feeds `bytes` in random pieces (1 byte up to the whole). */
function feedSplit(f: Framer, bytes: Uint8Array, rand: () => number): void {
  let i = 0;
  while (i < bytes.length) {
    const n = 1 + Math.floor(rand() * Math.min(64, bytes.length - i));
    f.push(bytes.subarray(i, i + n));
    i += n;
  }
}

function randomPayloads(rand: () => number, n: number, maxLen: number): Uint8Array[] {
  return Array.from({ length: n }, () => Uint8Array.from({ length: 1 + Math.floor(rand() * maxLen) }, () => (rand() < 0.2 ? 0 : Math.floor(rand() * 256))));
}

const cat = (parts: Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));

test('CRC-16/CCITT-FALSE: check value of "123456789" is 0x29B1; appended big-endian', (t) => {
  t.is(crc16(new TextEncoder().encode('123456789')), 0x29b1);
  t.is(crc16(new Uint8Array(0)), 0xffff);
  const f = withCrc(Uint8Array.from([1, 2, 3]));
  t.deepEqual(Array.from(f.subarray(3)), [crc16(Uint8Array.from([1, 2, 3])) >> 8, crc16(Uint8Array.from([1, 2, 3])) & 0xff]);
  t.deepEqual(Array.from(checkCrc(f)!), [1, 2, 3]);
  f[1] ^= 0x10;
  t.is(checkCrc(f), undefined);
  t.is(checkCrc(Uint8Array.from([7])), undefined);
});

test('COBS encode/decode round trip, including 254-byte runs and zeros at the ends', (t) => {
  const rand = seededRandom(3);
  const cases = [new Uint8Array(0), Uint8Array.from([0]), Uint8Array.from([0, 0]), new Uint8Array(254).fill(7), new Uint8Array(255).fill(7), new Uint8Array(600).fill(1), Uint8Array.from([0, 1, 0]), ...randomPayloads(rand, 200, 700)];
  for (const c of cases) {
    const enc = cobsEncode(c);
    t.false(enc.includes(0), 'no zero inside an encoded block');
    const out = new Uint8Array(enc.length);
    const n = cobsDecode(enc, out);
    t.deepEqual(Array.from(out.subarray(0, n)), Array.from(c));
  }
  t.is(cobsDecode(Uint8Array.from([5, 1, 2]), new Uint8Array(8)), -1, 'a code past the end is malformed');
});

interface Kind {
  name: string;
  make(sink: FrameSink): Framer;
  encode(p: Uint8Array): Uint8Array;
  /** Bytes that end whatever partial frame precedes them. */
  delimiter: Uint8Array;
}

const KINDS: Kind[] = [
  { name: 'cobs', make: (s) => new CobsFramer(s, 512), encode: cobsFrame, delimiter: Uint8Array.from([0]) },
  { name: 'slip', make: (s) => new SlipFramer(s, 512), encode: slipEncode, delimiter: Uint8Array.from([0xc0]) },
];

for (const k of KINDS) {
  test(`${k.name}: frames survive random splits; noise, CRC errors, truncation and oversize are counted and skipped`, (t) => {
    const rand = seededRandom(11);
    const payloads = randomPayloads(rand, 300, 300);
    // clean stream, random splits
    const c = new Collect();
    feedSplit(k.make(c.sink), cat(payloads.map(k.encode)), rand);
    t.deepEqual(c.frames, payloads.map((p) => Array.from(p)));
    t.deepEqual(c.bad, {});

    // one bad thing before every 3rd frame, each ended by the delimiter
    const d = new Collect();
    const parts: Uint8Array[] = [];
    let bad = 0;
    const expected: number[][] = [];
    payloads.forEach((p, i) => {
      const enc = k.encode(p);
      if (i % 3 === 0) {
        const r = i % 4;
        if (r === 0) {
          // CRC error: one bit of the payload flipped (the byte's encoding may change: re-encode)
          const body = withCrc(p);
          body[Math.floor(rand() * p.length)] ^= 0x01;
          parts.push(k.name === 'cobs' ? Uint8Array.from([...cobsEncode(body), 0]) : slipRaw(body));
        } else if (r === 1) parts.push(enc.subarray(0, Math.max(1, enc.length >> 1)), k.delimiter); // truncated
        else if (r === 2) parts.push(Uint8Array.from({ length: 600 }, () => 1 + Math.floor(rand() * 0xbf)), k.delimiter); // oversize
        else parts.push(Uint8Array.from({ length: 5 }, () => 1 + Math.floor(rand() * 0xbf)), k.delimiter); // short noise
        bad++;
      }
      parts.push(enc);
      expected.push(Array.from(p));
    });
    feedSplit(k.make(d.sink), cat(parts), rand);
    t.deepEqual(d.frames, expected, 'every good frame still arrives');
    const total = Object.values(d.bad).reduce((a, b) => a + b, 0);
    t.is(total, bad, JSON.stringify(d.bad));
    t.true(d.bad.oversize! > 0 && d.bad.crc! > 0, JSON.stringify(d.bad));
  });
}

/** SLIP-escapes bytes that already carry their CRC. */
function slipRaw(body: Uint8Array): Uint8Array {
  const out: number[] = [0xc0];
  for (const b of body) out.push(...(b === 0xc0 ? [0xdb, 0xdc] : b === 0xdb ? [0xdb, 0xdd] : [b]));
  out.push(0xc0);
  return Uint8Array.from(out);
}

test('slip: a bad escape is a parse error; the frame after it is fine', (t) => {
  const c = new Collect();
  const f = new SlipFramer(c.sink, 64);
  f.push(Uint8Array.from([0xc0, 1, 0xdb, 0x05, 2, 3, 0xc0]));
  f.push(slipEncode(Uint8Array.from([9, 9])));
  t.deepEqual(c.bad, { parse: 1 });
  t.deepEqual(c.frames, [[9, 9]]);
});

test('lines: CRLF and LF, blank lines ignored, oversize lines skipped to the next newline', (t) => {
  const c = new Collect();
  const f = new LineFramer(c.sink, 16);
  const rand = seededRandom(5);
  feedSplit(f, new TextEncoder().encode('1,2,3\r\n\n4,5,6\n' + 'x'.repeat(40) + '\n7,8,9\n'), rand);
  t.deepEqual(c.frames.map((b) => Buffer.from(b).toString()), ['1,2,3', '4,5,6', '7,8,9']);
  t.deepEqual(c.bad, { oversize: 1 });
});

test('fixed: sync hunting through noise, CRC errors and truncated frames, random splits', (t) => {
  const sync = Uint8Array.from([0xa5, 0x5a]);
  const rand = seededRandom(9);
  // payloads without the first sync byte, so that a false sync cannot start inside a frame
  const payloads = Array.from({ length: 300 }, () => Uint8Array.from({ length: 6 }, () => Math.floor(rand() * 0xa5)));
  const c = new Collect();
  feedSplit(new FixedFramer(c.sink, sync, 6, true), cat(payloads.map((p) => fixedFrame(sync, p, true))), rand);
  t.deepEqual(c.frames, payloads.map((p) => Array.from(p)));
  t.deepEqual(c.bad, {});

  const d = new Collect();
  const parts: Uint8Array[] = [];
  let noise = 0;
  let crc = 0;
  payloads.forEach((p, i) => {
    const frame = fixedFrame(sync, p, true);
    if (i % 5 === 1) {
      parts.push(Uint8Array.from({ length: 1 + (i % 7) }, () => Math.floor(rand() * 0xa5))); // noise
      noise++;
    } else if (i % 5 === 2) {
      const bad = Uint8Array.from(frame);
      bad[3] ^= 0x40;
      parts.push(bad); // CRC error
      crc++;
    } else if (i % 5 === 3) {
      parts.push(frame.subarray(0, 5)); // truncated: the next frame's sync is found again
      crc++;
    }
    parts.push(frame);
  });
  feedSplit(new FixedFramer(d.sink, sync, 6, true), cat(parts), rand);
  t.deepEqual(d.frames, payloads.map((p) => Array.from(p)), 'every good frame still arrives');
  t.is(d.bad.sync, noise);
  t.is(d.bad.crc, crc);
});

test('decode: int8/int16/float32 little-endian and CSV text; wrong lengths and junk are bad', (t) => {
  for (const format of ['int8', 'int16', 'float32'] as const) {
    const v = [1, -2, 100, -100, 0, 7];
    const d = decodeBinary(encodeBinary(v, format), format, 3);
    t.true(d.ok);
    if (d.ok) t.deepEqual(Array.from(d.values), v);
    t.deepEqual(decodeBinary(encodeBinary(v, format).subarray(1), format, 3), { ok: false, kind: 'length' });
  }
  t.deepEqual(Array.from(new Int16Array(encodeBinary([258], 'int16').buffer)), [258]);
  t.deepEqual(Array.from(encodeBinary([258], 'int16')), [2, 1], 'little-endian');
  t.deepEqual(decodeBinary(Uint8Array.from([0, 0, 0xc0, 0x7f]), 'float32', 1), { ok: false, kind: 'parse' }, 'NaN is refused');
  const enc = (s: string) => new TextEncoder().encode(s);
  const ok = decodeText(enc(' -1.5, 2e3 ,3'), 3);
  t.true(ok.ok && Array.from(ok.values).join() === '-1.5,2000,3');
  t.deepEqual(decodeText(enc('1,2'), 3), { ok: false, kind: 'length' });
  t.deepEqual(decodeText(enc('1,x,3'), 3), { ok: false, kind: 'parse' });
  t.deepEqual(decodeText(enc('1,,3'), 3), { ok: false, kind: 'parse' });
  t.deepEqual(decodeText(Uint8Array.from([0x31, 0xff, 0x2c, 0x32, 0x2c, 0x33]), 3), { ok: false, kind: 'parse' });
});

test('encodeFrame: every framing decodes back to the samples it carries', (t) => {
  const framings: FramingConfig[] = [
    { kind: 'lines', maxLineBytes: 64 },
    { kind: 'cobs', maxFrameBytes: 64 },
    { kind: 'slip', maxFrameBytes: 64 },
    { kind: 'fixed', sync: [0xa5, 0x5a], payloadBytes: 6, crc: true },
  ];
  const v = [-650, 230, 781];
  for (const f of framings) {
    const c = new Collect();
    const framer = f.kind === 'lines' ? new LineFramer(c.sink, 64) : f.kind === 'cobs' ? new CobsFramer(c.sink, 64) : f.kind === 'slip' ? new SlipFramer(c.sink, 64) : new FixedFramer(c.sink, Uint8Array.from([0xa5, 0x5a]), 6, true);
    framer.push(encodeFrame(f, 'int16', v));
    t.is(c.frames.length, 1, f.kind);
    const d = f.kind === 'lines' ? decodeText(Uint8Array.from(c.frames[0]), 3) : decodeBinary(Uint8Array.from(c.frames[0]), 'int16', 3);
    t.true(d.ok && Array.from(d.values).join() === v.join(), f.kind);
  }
});

test('sliding window: first window after size samples, then every hop, oldest first; reset starts over', (t) => {
  const got: WindowOut[] = [];
  const w = new SlidingWindow(4, 2, 2, (x) => got.push(x));
  const samples = (from: number, n: number) => Float32Array.from({ length: n * 2 }, (_, i) => from + Math.floor(i / 2) + (i % 2) * 0.5);
  w.push(samples(0, 3), 1000, 1);
  t.is(got.length, 0);
  w.push(samples(3, 5), 2000, 2);
  t.deepEqual(got.map((g) => g.index), [0, 1, 2]);
  t.deepEqual(Array.from(got[0].values), [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]);
  t.deepEqual(Array.from(got[2].values), [4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5]);
  t.is(got[0].firstAt, 1000);
  t.is(got[0].lastAt, 2000);
  w.reset();
  w.push(samples(100, 3), 3000, 3);
  t.is(got.length, 3, 'a reset needs a whole window again');
  w.push(samples(103, 1), 3000, 3);
  t.deepEqual(Array.from(got[3].values), [100, 100.5, 101, 101.5, 102, 102.5, 103, 103.5]);
  t.is(got[3].index, 3);
});

test('latency stats: last, median, max over a bounded ring', (t) => {
  const s = new LatencyStats(4);
  t.deepEqual(s.summary(), { last: null, p50: null, max: null });
  for (const v of [5, 1, 9, 3, 4, 2]) s.add(v);
  t.deepEqual(s.summary(), { last: 2, p50: 3, max: 9 });
});
