// Inference duty: the share of the scheduler's capacity (concurrency x wall time)
// spent running models, from the run times the scheduler reports. The governor's
// status shows it; the simulator turns it into heat.
export class DutyMeter {
  private runs: { at: number; ms: number }[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly capacity: () => number,
  ) {}

  /** A run of `ms` finished at `at` (performance.now()). */
  add(at: number, ms: number): void {
    this.runs.push({ at, ms });
    this.trim(at);
  }

  /** Busy fraction over the last window, 0..1. */
  duty(now: number): number {
    this.trim(now);
    // a run that began before the window counts only its part inside it
    const from = now - this.windowMs;
    let busy = 0;
    for (const r of this.runs) busy += Math.min(r.ms, r.at - from);
    return Math.min(1, busy / (this.windowMs * Math.max(1, this.capacity())));
  }

  private trim(now: number): void {
    const from = now - this.windowMs;
    let k = 0;
    while (k < this.runs.length && this.runs[k].at <= from) k++;
    if (k) this.runs.splice(0, k);
  }
}
