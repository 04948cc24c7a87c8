// The duty cap as a scheduler pacer: a bucket of run time that fills at
// cap x concurrency ms per wall ms; a run may start while the bucket holds
// credit, and each finished run takes its run time out. Over any stretch the
// scheduler then runs models at most `cap` of the time, whatever their speed.
import type { Pacer } from '../daemon/scheduler';

/** Credit never grows past this many typical runs, so an idle spell buys no long burst. */
const BURST_RUNS = 2;
const MIN_BURST_MS = 5;

export class DutyPacer implements Pacer {
  private cap = 1;
  private credit = 0;
  private last: number | undefined;
  private avgRunMs = 1;

  constructor(private readonly concurrency: () => number) {}

  get dutyCap(): number {
    return this.cap;
  }

  setCap(cap: number, now: number): void {
    this.refill(now);
    this.cap = Math.min(1, Math.max(0.001, cap));
  }

  /** Starts pacing from an empty bucket (when the pacer is installed). */
  reset(now: number): void {
    this.credit = 0;
    this.last = now;
  }

  /** A run finished while pacing (scheduler.onFinish). */
  ran(runMs: number): void {
    this.credit -= runMs;
    this.avgRunMs = 0.8 * this.avgRunMs + 0.2 * runMs;
  }

  delayMs(now: number): number {
    this.refill(now);
    return this.credit > 0 ? 0 : (-this.credit + 0.01) / this.rate();
  }

  private rate(): number {
    return this.cap * Math.max(1, this.concurrency());
  }

  private refill(now: number): void {
    if (this.last !== undefined) this.credit = Math.min(Math.max(MIN_BURST_MS, BURST_RUNS * this.avgRunMs), this.credit + (now - this.last) * this.rate());
    this.last = now;
  }
}
