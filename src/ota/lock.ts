// The update lock: a client running critical work asks the device to hold off
// activating a new model (`<p>/<d>/ota/lock` {"holdS": n}, 0 releases). An
// activation waits while the lock is held, but never longer than maxDeferralS.
import { EventEmitter } from 'node:events';

export class UpdateLock extends EventEmitter {
  private until = 0;

  /** Holds the lock for `holdS` seconds from now (0 releases it). */
  hold(holdS: number, now = Date.now()): void {
    this.until = holdS > 0 ? now + holdS * 1000 : 0;
    this.emit('change');
  }

  held(now = Date.now()): boolean {
    return this.until > now;
  }

  get heldUntil(): number {
    return this.until;
  }

  /**
   * Resolves when the lock is free or `maxMs` has passed, whichever is first:
   * 'free' or 'expired'. `onDeferred` is called once if it had to wait.
   * `cancelled()` is polled on every change so a stopping daemon does not wait.
   */
  waitFree(maxMs: number, onDeferred: () => void, cancelled: () => boolean): Promise<'free' | 'expired' | 'cancelled'> {
    if (!this.held()) return Promise.resolve('free');
    onDeferred();
    const deadline = Date.now() + maxMs;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        if (timer) clearTimeout(timer);
        const now = Date.now();
        let r: 'free' | 'expired' | 'cancelled' | undefined;
        if (cancelled()) r = 'cancelled';
        else if (!this.held(now)) r = 'free';
        else if (now >= deadline) r = 'expired';
        if (r) {
          this.off('change', check);
          this.off('cancel', check);
          return resolve(r);
        }
        // wake at whichever comes first: the lock's end or the deferral's
        timer = setTimeout(check, Math.max(1, Math.min(this.until, deadline) - now));
      };
      this.on('change', check);
      this.on('cancel', check);
      check();
    });
  }

  /** Wakes waiters so they see `cancelled()`. */
  cancelWaits(): void {
    this.emit('cancel');
  }
}
