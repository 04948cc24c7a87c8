// The health window after a switch: the new slot's runs are watched through
// Scheduler.onFinish; more than maxErrorRate failed runs (after minRuns, or at the
// window's end) is a failure. Only model failures count (`internal`), not bad
// requests, deadlines or shutdown.
import type { JobResult, ModelSlot, Scheduler } from '../daemon/scheduler';

export interface HealthPolicy {
  windowMs: number;
  maxErrorRate: number;
  minRuns: number;
}

export type HealthResult = { ok: true; runs: number; errors: number } | { ok: false; runs: number; errors: number; reason: string } | { ok: 'cancelled' };

interface Watch {
  slot: ModelSlot;
  runs: number;
  errors: number;
  policy: HealthPolicy;
  finish(r: HealthResult): void;
}

export class HealthMonitor {
  private watches = new Set<Watch>();

  constructor(scheduler: Scheduler) {
    scheduler.onFinish((slot, result) => this.observe(slot, result));
  }

  private observe(slot: ModelSlot, result: JobResult): void {
    for (const w of this.watches) {
      // by name and version, not by object: a SIGHUP reload replaces the slot with an equal one
      if (slot.identity.name !== w.slot.identity.name || slot.identity.version !== w.slot.identity.version) continue;
      w.runs++;
      if (!result.ok && result.error.code === 'internal') w.errors++;
      if (w.runs >= w.policy.minRuns && w.errors / w.runs > w.policy.maxErrorRate)
        w.finish({ ok: false, runs: w.runs, errors: w.errors, reason: `${w.errors} of ${w.runs} runs failed (limit ${w.policy.maxErrorRate})` });
    }
  }

  /** Watches `slot` for one window. */
  watch(slot: ModelSlot, policy: HealthPolicy): { result: Promise<HealthResult>; cancel(): void } {
    let w!: Watch;
    const result = new Promise<HealthResult>((resolve) => {
      const timer = setTimeout(() => {
        const failed = w.runs > 0 && w.errors / w.runs > policy.maxErrorRate;
        w.finish(failed ? { ok: false, runs: w.runs, errors: w.errors, reason: `${w.errors} of ${w.runs} runs failed (limit ${policy.maxErrorRate})` } : { ok: true, runs: w.runs, errors: w.errors });
      }, policy.windowMs);
      w = {
        slot,
        runs: 0,
        errors: 0,
        policy,
        finish: (r) => {
          clearTimeout(timer);
          if (!this.watches.delete(w)) return;
          resolve(r);
        },
      };
      this.watches.add(w);
    });
    return { result, cancel: () => w.finish({ ok: 'cancelled' }) };
  }
}
