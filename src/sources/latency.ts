// Last, median and max of the most recent latencies (a fixed ring of them).
export class LatencyStats {
  private readonly ring: Float64Array;
  private n = 0;
  private next = 0;
  private last: number | null = null;
  private max: number | null = null;

  constructor(capacity: number) {
    this.ring = new Float64Array(capacity);
  }

  add(ms: number): void {
    this.ring[this.next] = ms;
    this.next = (this.next + 1) % this.ring.length;
    this.n = Math.min(this.n + 1, this.ring.length);
    this.last = ms;
    this.max = this.max === null ? ms : Math.max(this.max, ms);
  }

  summary(): { last: number | null; p50: number | null; max: number | null } {
    if (!this.n) return { last: null, p50: null, max: null };
    const sorted = Array.from(this.ring.subarray(0, this.n)).sort((a, b) => a - b);
    return { last: this.last, p50: sorted[Math.floor((this.n - 1) / 2)], max: this.max };
  }
}
