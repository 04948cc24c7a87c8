// Text framing: one line per frame, ended by "\n" (a "\r" before it is dropped).
// The payload is the line's bytes; decode.ts reads the comma-separated numbers.
import { BoundedBuffer, Framer, FrameSink } from './framing';

export class LineFramer implements Framer {
  private line: BoundedBuffer;
  constructor(
    private readonly sink: FrameSink,
    maxLineBytes: number,
  ) {
    this.line = new BoundedBuffer(maxLineBytes);
  }
  push(chunk: Uint8Array): void {
    for (const b of chunk) {
      if (b !== 0x0a) {
        this.line.push(b);
        continue;
      }
      if (this.line.overflowed) this.sink.bad('oversize');
      else {
        let bytes = this.line.bytes();
        if (bytes.length && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
        if (bytes.length) this.sink.frame(bytes); // blank lines are not frames
      }
      this.line.clear();
    }
  }
  reset(): void {
    this.line.clear();
  }
}
