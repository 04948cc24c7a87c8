// The thermal/power policy, free of I/O and clocks so it can be tested step by step.
// A PI controller turns "how far over the setpoint" into a throttle u in [0, 1];
// u picks a level on a ladder of actions ordered by cost:
//   0 normal   nothing
//   1 threads  fewer kernel threads per model (longer latency, less heat)
//   2 duty     inference duty cycle capped (fewer runs per second), cap from u
//   3 fallback models with a fallbackPath switch to their lighter model
//   4 shed     requests of low-priority models are answered `throttled`
// Levels go up as soon as u (or the hard limit) asks for it and come down one at a
// time, only after minDwellMs at a level and with a hysteresis margin, so a reading
// hovering around a threshold does not make the daemon flap.
export const LEVELS = ['normal', 'threads', 'duty', 'fallback', 'shed'] as const;
export type LevelName = (typeof LEVELS)[number];
export const LEVEL = { normal: 0, threads: 1, duty: 2, fallback: 3, shed: 4 } as const;

/** The first part of u only reduces threads; the duty cap uses the rest. */
export const THREADS_SHARE = 0.1;
/** The duty level is left only once u is this far below THREADS_SHARE (no flapping at the boundary). */
export const DUTY_HYSTERESIS = 0.05;
/** A duty cap must rise this far above fallbackBelowDuty before the full model returns. */
export const FALLBACK_HYSTERESIS = 0.15;
/** One "budget" of excess power counts as this many °C over the setpoint. */
export const POWER_ERROR_C_PER_BUDGET = 20;
/** Firmware flags (under-voltage, capped, throttled now) count as this many °C over. */
export const FIRMWARE_ERROR_C = 5;
/**
 * While heating, the duty cap is kept at most this far above the measured duty: a
 * cap far above what the load uses cuts nothing, and an integrator winding the cap
 * down through that dead zone would overshoot (tracking anti-windup).
 */
export const CAP_HEADROOM = 0.1;
/** Longest step the integrator takes (a stalled event loop must not wind it up). */
const MAX_DT_S = 5;

export interface GovernorSettings {
  setpointC: number;
  hardLimitC: number;
  hysteresisC: number;
  minDwellMs: number;
  kp: number;
  ki: number;
  powerBudgetW?: number;
  dutyMin: number;
  fallbackBelowDuty: number;
  /** Whether any model has a fallback (else level 3 is skipped). */
  hasFallback: boolean;
}

export interface GovernorInput {
  now: number;
  tempC?: number;
  powerW?: number;
  /** Pi firmware reports under-voltage, capping or throttling right now. */
  firmwareFlags?: string[];
  /** Measured inference duty (0..1) over the last moments, when known. */
  duty?: number;
}

export interface Decision {
  level: number;
  levelName: LevelName;
  /** Fraction of full inference duty allowed (1: no cap). */
  dutyCap: number;
  /** Controller output, 0..1. */
  u: number;
  /** Why the level is what it is. */
  reason: string;
  /** The level changed on this step. */
  changed: boolean;
  since: number;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const fmt = (x: number) => x.toFixed(1);

export class Governor {
  private integral = 0;
  private lastAt: number | undefined;
  private level = 0;
  private since: number;
  private reason = 'starting';
  private u = 0;

  constructor(
    private s: GovernorSettings,
    now = 0,
  ) {
    this.since = now;
  }

  /** New settings (reload); the controller state is kept. */
  configure(s: GovernorSettings): void {
    this.s = s;
  }

  get current(): Decision {
    return this.decision(false);
  }

  step(inp: GovernorInput): Decision {
    const s = this.s;
    const dt = this.lastAt === undefined ? 0 : clamp((inp.now - this.lastAt) / 1000, 0, MAX_DT_S);
    this.lastAt = inp.now;
    // the worst of the signals, in °C over the setpoint, with what it is
    const errors: { e: number; why: string }[] = [];
    if (inp.tempC !== undefined) errors.push({ e: inp.tempC - s.setpointC, why: `${fmt(inp.tempC)} °C vs setpoint ${s.setpointC} °C` });
    if (inp.powerW !== undefined && s.powerBudgetW !== undefined)
      errors.push({ e: ((inp.powerW - s.powerBudgetW) / s.powerBudgetW) * POWER_ERROR_C_PER_BUDGET, why: `${inp.powerW.toFixed(2)} W vs budget ${s.powerBudgetW} W` });
    if (inp.firmwareFlags?.length) errors.push({ e: FIRMWARE_ERROR_C, why: `firmware reports ${inp.firmwareFlags.join(', ')}` });
    if (!errors.length) {
      this.reason = 'no temperature or power reading: holding';
      return this.decision(false);
    }
    const worst = errors.reduce((a, b) => (b.e > a.e ? b : a));
    const hard = inp.tempC !== undefined && inp.tempC >= s.hardLimitC;
    if (hard) this.integral = 1;
    else this.integral = clamp(this.integral + s.ki * worst.e * dt, 0, 1);
    this.u = hard ? 1 : clamp(s.kp * worst.e + this.integral, 0, 1);
    if (!hard && worst.e > 0 && inp.duty !== undefined && this.u > THREADS_SHARE) {
      const ceiling = Math.max(s.dutyMin, Math.min(1, inp.duty + CAP_HEADROOM));
      if (this.capFor(this.u) > ceiling) {
        const u = this.uFor(ceiling);
        this.integral = clamp(this.integral + (u - this.u), 0, 1);
        this.u = u;
      }
    }

    const want = this.wanted(inp, hard);
    const prev = this.level;
    if (want > prev) {
      this.level = want;
      this.reason = hard ? `hard limit ${s.hardLimitC} °C reached (${fmt(inp.tempC!)} °C)` : `${worst.why}: throttle ${(this.u * 100).toFixed(0)}%`;
    } else if (want < prev && inp.now - this.since >= s.minDwellMs && this.mayLeave(prev, inp, worst.e)) {
      this.level = this.below(prev);
      this.reason = `eased: ${worst.why}`;
    }
    if (this.level !== prev) this.since = inp.now;
    return this.decision(this.level !== prev);
  }

  /** Level u and the hard limit ask for. */
  private wanted(inp: GovernorInput, hard: boolean): number {
    if (hard) return LEVEL.shed;
    const u = this.u;
    if (u >= 1) return LEVEL.shed;
    const cap = this.capFor(u);
    if (this.s.hasFallback && cap < this.s.fallbackBelowDuty) return LEVEL.fallback;
    if (cap < 1) return LEVEL.duty;
    return u > 0 ? LEVEL.threads : LEVEL.normal;
  }

  /** The hysteresis condition for stepping down from `from`. */
  private mayLeave(from: number, inp: GovernorInput, e: number): boolean {
    const s = this.s;
    switch (from) {
      case LEVEL.shed:
        return (inp.tempC === undefined || inp.tempC < s.hardLimitC - s.hysteresisC) && this.u < 1;
      case LEVEL.fallback:
        return this.capFor(this.u) >= Math.min(1, s.fallbackBelowDuty + FALLBACK_HYSTERESIS);
      case LEVEL.duty:
        return this.u <= THREADS_SHARE - DUTY_HYSTERESIS;
      case LEVEL.threads:
        return this.u === 0 && e <= -s.hysteresisC;
      default:
        return true;
    }
  }

  private below(level: number): number {
    const next = level - 1;
    return next === LEVEL.fallback && !this.s.hasFallback ? LEVEL.duty : next;
  }

  private capFor(u: number): number {
    if (u <= THREADS_SHARE) return 1;
    return 1 - ((u - THREADS_SHARE) / (1 - THREADS_SHARE)) * (1 - this.s.dutyMin);
  }

  /** Inverse of capFor on the duty part of u. */
  private uFor(cap: number): number {
    return clamp(THREADS_SHARE + ((1 - cap) / (1 - this.s.dutyMin)) * (1 - THREADS_SHARE), 0, 1);
  }

  private decision(changed: boolean): Decision {
    // the cap follows u continuously from the duty level up; below it runs are not paced
    const dutyCap = this.level >= LEVEL.duty ? (this.level === LEVEL.shed && this.u >= 1 ? this.s.dutyMin : this.capFor(this.u)) : 1;
    return { level: this.level, levelName: LEVELS[this.level], dutyCap, u: this.u, reason: this.reason, changed, since: this.since };
  }
}
