// Fixed-length binary framing: sync bytes, then exactly payloadBytes of payload,
// then (with crc) its CRC-16 over the payload, big-endian. Noise is skipped by
// hunting for the sync bytes; a frame whose CRC fails is dropped and the hunt
// restarts one byte after its sync, so a truncated frame costs one bad frame and
// the next good one is still found.
import { crc16 } from './crc16';
import { Framer, FrameSink } from './framing';

export class FixedFramer implements Framer {
  private readonly buf: Uint8Array;
  private len = 0;
  private readonly crcBytes: number;
  /** Bytes are being skipped (a run of noise counts once). */
  private hunting = false;

  constructor(
    private readonly sink: FrameSink,
    private readonly sync: Uint8Array,
    private readonly payloadBytes: number,
    crc: boolean,
  ) {
    if (sync.length < 1) throw new Error('fixed framing needs at least one sync byte');
    this.crcBytes = crc ? 2 : 0;
    this.buf = new Uint8Array(sync.length + payloadBytes + this.crcBytes);
  }

  push(chunk: Uint8Array): void {
    const s = this.sync.length;
    for (const b of chunk) {
      this.buf[this.len++] = b;
      if (this.len <= s) {
        if (b !== this.sync[this.len - 1]) this.skip(1, true);
        else if (this.len === s) this.hunting = false;
      } else if (this.len === this.buf.length) this.complete();
    }
  }

  private complete(): void {
    const s = this.sync.length;
    const end = s + this.payloadBytes;
    const payload = this.buf.subarray(s, end);
    if (this.crcBytes && crc16(payload) !== ((this.buf[end] << 8) | this.buf[end + 1])) {
      this.sink.bad('crc');
      this.hunting = true; // the bytes skipped now belong to the bad frame
      this.skip(1, false);
      return;
    }
    this.len = 0;
    this.sink.frame(payload);
  }

  /** Drops bytes from the front until the buffer starts with (a prefix of) the sync bytes. */
  private skip(from: number, report: boolean): void {
    if (report && !this.hunting) this.sink.bad('sync');
    this.hunting = true;
    const s = this.sync.length;
    let k = from;
    for (; k < this.len; k++) {
      const n = Math.min(s, this.len - k);
      let match = true;
      for (let i = 0; i < n && match; i++) match = this.buf[k + i] === this.sync[i];
      if (match) break;
    }
    this.buf.copyWithin(0, k, this.len);
    this.len -= k;
    if (this.len >= s) this.hunting = false;
  }

  reset(): void {
    this.len = 0;
    this.hunting = false;
  }
}

/** One fixed-length frame as a sensor sends it. */
export function fixedFrame(sync: Uint8Array, payload: Uint8Array, crc: boolean): Uint8Array {
  const out = new Uint8Array(sync.length + payload.length + (crc ? 2 : 0));
  out.set(sync);
  out.set(payload, sync.length);
  if (crc) {
    const c = crc16(payload);
    out[out.length - 2] = c >> 8;
    out[out.length - 1] = c & 0xff;
  }
  return out;
}
