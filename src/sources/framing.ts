// What every framer shares: it is fed raw bytes in chunks of any size and reports
// each complete frame's payload, or a bad frame by kind. Buffers are bounded: a
// frame longer than its limit is bad and its bytes are skipped.
export const BAD_FRAME_KINDS = ['crc', 'length', 'parse', 'oversize', 'sync'] as const;
export type BadFrameKind = (typeof BAD_FRAME_KINDS)[number];

export interface FrameSink {
  /** A complete frame's payload (CRC checked and removed); only valid during the call. */
  frame(payload: Uint8Array): void;
  bad(kind: BadFrameKind): void;
}

export interface Framer {
  push(chunk: Uint8Array): void;
  /** Forgets a partial frame (the port was reopened). */
  reset(): void;
}

/** Collects bytes up to `limit`; past it the frame is marked oversize. */
export class BoundedBuffer {
  private buf: Uint8Array;
  length = 0;
  overflowed = false;
  constructor(readonly limit: number) {
    this.buf = new Uint8Array(limit);
  }
  push(b: number): void {
    if (this.length >= this.limit) this.overflowed = true;
    else this.buf[this.length++] = b;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
  clear(): void {
    this.length = 0;
    this.overflowed = false;
  }
}
