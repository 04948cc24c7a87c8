// SLIP framing (RFC 1055): payload + CRC-16, with 0xC0 escaped as 0xDB 0xDC and
// 0xDB as 0xDB 0xDD, ended by 0xC0. Empty frames are ignored, so a sender may also
// lead with 0xC0.
import { checkCrc, withCrc } from './crc16';
import { BoundedBuffer, Framer, FrameSink } from './framing';

export const SLIP_END = 0xc0;
const ESC = 0xdb;
const ESC_END = 0xdc;
const ESC_ESC = 0xdd;

export function slipEncode(payload: Uint8Array): Uint8Array {
  const body = withCrc(payload);
  const out: number[] = [SLIP_END];
  for (const b of body) {
    if (b === SLIP_END) out.push(ESC, ESC_END);
    else if (b === ESC) out.push(ESC, ESC_ESC);
    else out.push(b);
  }
  out.push(SLIP_END);
  return Uint8Array.from(out);
}

export class SlipFramer implements Framer {
  private frameBuf: BoundedBuffer;
  private escaped = false;
  private badEscape = false;
  constructor(
    private readonly sink: FrameSink,
    maxFrameBytes: number,
  ) {
    this.frameBuf = new BoundedBuffer(maxFrameBytes + 2);
  }
  push(chunk: Uint8Array): void {
    for (const b of chunk) {
      if (b === SLIP_END) {
        this.end();
        this.reset();
      } else if (this.escaped) {
        this.escaped = false;
        if (b === ESC_END) this.frameBuf.push(SLIP_END);
        else if (b === ESC_ESC) this.frameBuf.push(ESC);
        else this.badEscape = true;
      } else if (b === ESC) this.escaped = true;
      else this.frameBuf.push(b);
    }
  }
  private end(): void {
    if (this.frameBuf.overflowed) return this.sink.bad('oversize');
    if (this.badEscape || this.escaped) return this.sink.bad('parse');
    if (this.frameBuf.length === 0) return;
    if (this.frameBuf.length < 3) return this.sink.bad('length');
    const payload = checkCrc(this.frameBuf.bytes());
    if (!payload) return this.sink.bad('crc');
    this.sink.frame(payload);
  }
  reset(): void {
    this.frameBuf.clear();
    this.escaped = false;
    this.badEscape = false;
  }
}
