// Sliding window over interleaved samples: once `size` samples have arrived, a
// window every `hop` samples, oldest sample first. Fixed memory: one ring of
// size x channels values and one arrival time per sample.
export interface WindowOut {
  /** Counts the windows of this source from 0. */
  index: number;
  /** size x channels values, sample-major (the model's [1, size, channels, ...] layout). */
  values: Float32Array;
  /** Wall-clock ms (Date.now()) when the first and last samples arrived. */
  firstAt: number;
  lastAt: number;
  /** performance.now() when the chunk holding the window's last byte arrived. */
  lastByteAt: number;
}

export class SlidingWindow {
  private readonly ring: Float32Array;
  private readonly times: Float64Array;
  private pos = 0;
  private total = 0;
  private index = 0;

  constructor(
    readonly size: number,
    readonly hop: number,
    readonly channels: number,
    private readonly onWindow: (w: WindowOut) => void,
  ) {
    this.ring = new Float32Array(size * channels);
    this.times = new Float64Array(size);
  }

  /** `values` holds whole samples (a multiple of channels). */
  push(values: Float32Array, wallAt: number, lastByteAt: number): void {
    const c = this.channels;
    for (let s = 0; s + c <= values.length; s += c) {
      this.ring.set(values.subarray(s, s + c), this.pos * c);
      this.times[this.pos] = wallAt;
      this.pos = (this.pos + 1) % this.size;
      this.total++;
      if (this.total >= this.size && (this.total - this.size) % this.hop === 0) this.emit(lastByteAt);
    }
  }

  private emit(lastByteAt: number): void {
    const c = this.channels;
    const values = new Float32Array(this.size * c);
    // pos is the oldest sample now
    values.set(this.ring.subarray(this.pos * c));
    values.set(this.ring.subarray(0, this.pos * c), (this.size - this.pos) * c);
    const last = (this.pos + this.size - 1) % this.size;
    this.onWindow({ index: this.index++, values, firstAt: this.times[this.pos], lastAt: this.times[last], lastByteAt });
  }

  /** Forgets the samples so far (a gap in the stream); window indices keep counting. */
  reset(): void {
    this.pos = 0;
    this.total = 0;
  }
}
