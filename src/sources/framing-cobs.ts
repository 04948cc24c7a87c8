// COBS framing: each frame is COBS-encoded (payload + CRC-16) followed by one 0x00.
// Empty frames (two zeros in a row) are ignored, so a sender may also lead with 0x00.
import { checkCrc, withCrc } from './crc16';
import { BoundedBuffer, Framer, FrameSink } from './framing';

/** Decodes one COBS block (without its 0x00 delimiter) into `out`; returns the length, or -1 when malformed. */
export function cobsDecode(src: Uint8Array, out: Uint8Array): number {
  let i = 0;
  let o = 0;
  while (i < src.length) {
    const code = src[i++];
    if (code === 0) return -1;
    const end = i + code - 1;
    if (end > src.length) return -1;
    while (i < end) out[o++] = src[i++];
    if (code !== 0xff && i < src.length) out[o++] = 0;
  }
  return o;
}

export function cobsEncode(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length + Math.ceil(src.length / 254) + 1);
  let codeAt = 0;
  let o = 1;
  let code = 1;
  for (const b of src) {
    if (b === 0) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
      continue;
    }
    out[o++] = b;
    if (++code === 0xff) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
    }
  }
  out[codeAt] = code;
  return out.subarray(0, o);
}

export class CobsFramer implements Framer {
  private block: BoundedBuffer;
  private decoded: Uint8Array;
  constructor(
    private readonly sink: FrameSink,
    maxFrameBytes: number,
  ) {
    // the encoded block of a maxFrameBytes payload + CRC is at most this long
    const maxEncoded = maxFrameBytes + 2 + Math.ceil((maxFrameBytes + 2) / 254) + 1;
    this.block = new BoundedBuffer(maxEncoded);
    this.decoded = new Uint8Array(maxEncoded);
  }
  push(chunk: Uint8Array): void {
    for (const b of chunk) {
      if (b !== 0) {
        this.block.push(b);
        continue;
      }
      this.end();
      this.block.clear();
    }
  }
  private end(): void {
    if (this.block.overflowed) return this.sink.bad('oversize');
    if (this.block.length === 0) return;
    const n = cobsDecode(this.block.bytes(), this.decoded);
    if (n < 0) return this.sink.bad('parse');
    if (n < 3) return this.sink.bad('length');
    const payload = checkCrc(this.decoded.subarray(0, n));
    if (!payload) return this.sink.bad('crc');
    this.sink.frame(payload);
  }
  reset(): void {
    this.block.clear();
  }
}

/** One COBS frame as a sensor sends it: COBS(payload + CRC) then 0x00. */
export function cobsFrame(payload: Uint8Array): Uint8Array {
  const enc = cobsEncode(withCrc(payload));
  const out = new Uint8Array(enc.length + 1);
  out.set(enc);
  return out;
}
