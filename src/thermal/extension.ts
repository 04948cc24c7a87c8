// The thermal and power governor as a daemon extension: every pollMs it reads the
// sensors, steps the governor, applies its decision, logs a change of level with its
// reason and republishes the status. Its status section is `thermal`.
import type { Config } from '../config/schema';
import type { ThermalConfig } from '../config/thermal-schema';
import type { Extension, ExtensionContext } from '../daemon/extension';
import { Actions } from './actions';
import { DutyMeter } from './duty';
import { Decision, Governor, GovernorSettings } from './governor';
import { Readers, Readings } from './readers';

/** Window of the measured duty shown in the status. */
const DUTY_WINDOW_MS = 1000;

function settings(c: Config, hasFallback: boolean): GovernorSettings {
  const t = c.thermal!;
  return {
    setpointC: t.setpointC,
    hardLimitC: t.hardLimitC,
    hysteresisC: t.hysteresisC,
    minDwellMs: t.minDwellMs,
    kp: t.kp,
    ki: t.ki,
    powerBudgetW: t.powerBudgetW,
    dutyMin: t.dutyMin,
    fallbackBelowDuty: t.fallbackBelowDuty,
    hasFallback,
  };
}

function firmwareFlags(r: Readings): string[] {
  const t = r.throttle;
  if (!t) return [];
  return (['underVoltage', 'frequencyCapped', 'throttled'] as const).filter((k) => t[k]);
}

export class ThermalExtension implements Extension {
  readonly name = 'thermal';
  private ctx!: ExtensionContext;
  private readers!: Readers;
  private governor!: Governor;
  private actions!: Actions;
  private duty!: DutyMeter;
  private unobserve: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readings: Readings | undefined;
  private decision: Decision | undefined;
  private missingLogged = '';
  private levelChanges = 0;
  private lastLevel = 0;
  private polls = 0;
  private readonly pollWaiters: (() => void)[] = [];

  /** The settings in force (the last ones given, should a reload drop the section). */
  private settings!: ThermalConfig;

  private cfg(): ThermalConfig {
    return this.settings;
  }

  async start(ctx: ExtensionContext): Promise<void> {
    this.ctx = ctx;
    this.settings = ctx.config().thermal!;
    this.makeReaders();
    this.actions = new Actions(ctx, () => this.cfg());
    // an OTA swap brings its bundle's fallback (or takes the only one away): the fallback level follows
    this.actions.onFallbacksChanged = () => {
      if (this.stopped || !this.governor) return;
      this.governor.configure(settings(ctx.config(), this.actions.hasFallback()));
      ctx.publishStatus();
    };
    this.duty = new DutyMeter(DUTY_WINDOW_MS, () => ctx.scheduler.concurrencyLimit);
    this.unobserve = ctx.scheduler.onFinish((_s, _r, ms) => this.duty.add(performance.now(), ms));
    await this.actions.preload();
    // the fallback level exists only when some fallback model did load
    this.governor = new Governor(settings(ctx.config(), this.actions.hasFallback()), performance.now());
    await this.poll();
  }

  private makeReaders(): void {
    const t = this.cfg();
    this.readers = new Readers({ sysfsRoot: t.sysfsRoot, zoneTypes: t.zones, powerRail: t.powerRail, useCommands: t.useCommands });
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.poll(), this.cfg().pollMs);
    this.timer.unref();
  }

  /** One sensor read + governor step + actions; never throws (a bad poll is logged and the next one comes). */
  private async poll(): Promise<void> {
    try {
      const r = await this.readers.read();
      if (this.stopped) return;
      this.readings = r;
      const missing = r.missing.join(', ');
      if (missing !== this.missingLogged) {
        this.ctx.log.info({ missing: r.missing }, 'thermal: sources not found (not used)');
        this.missingLogged = missing;
      }
      const d = this.governor.step({ now: performance.now(), tempC: r.maxTempC, powerW: r.powerW, firmwareFlags: firmwareFlags(r), duty: this.duty.duty(performance.now()) });
      this.decision = d;
      const action = this.actions.apply(d);
      if (d.changed) {
        this.levelChanges++;
        // up is news an operator should see; back down is routine
        const up = d.level > this.lastLevel;
        this.lastLevel = d.level;
        this.ctx.log[up ? 'warn' : 'info']({ thermalLevel: d.levelName, reason: d.reason, tempC: r.maxTempC, powerW: r.powerW, dutyCap: round(d.dutyCap), action }, `thermal: level ${d.levelName}`);
      }
      if (d.changed || action) this.ctx.publishStatus();
    } catch (e) {
      this.ctx.log.error({ err: (e as Error).stack }, 'thermal: poll failed');
    } finally {
      this.polls++;
      for (const w of this.pollWaiters.splice(0)) w();
      this.schedule();
    }
  }

  /** Resolves when fallbacks reloaded after an OTA swap are in place (tests). */
  fallbacksSettled(): Promise<void> {
    return this.actions.settled();
  }

  /** Resolves after the next poll completes (tests). */
  nextPoll(): Promise<void> {
    return new Promise((r) => this.pollWaiters.push(r));
  }

  async onReload(): Promise<void> {
    const next = this.ctx.config().thermal;
    if (!next?.enabled) {
      // turning the governor off takes effect now (hooks removed, full speed); on again needs a restart
      this.ctx.log.warn('thermal: section removed or disabled by the reload: governor stopped');
      await this.stop();
      return;
    }
    this.settings = next;
    this.makeReaders();
    await this.actions.reset();
    this.governor.configure(settings(this.ctx.config(), this.actions.hasFallback()));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.unobserve?.();
    await this.actions.stop();
  }

  status(): unknown {
    const r = this.readings;
    const d = this.decision;
    return {
      readings: r
        ? {
            at: new Date(r.at).toISOString(),
            maxTempC: r.maxTempC ?? null,
            zones: r.zones,
            cpufreq: r.cpufreq,
            throttle: r.throttle ?? null,
            rails: r.rails.map((x) => ({ name: x.name, powerMw: round(x.powerMw), voltageMv: x.voltageMv ?? null, currentMa: x.currentMa ?? null, source: x.source })),
            powerW: r.powerW === undefined ? null : round(r.powerW),
            powerRail: r.powerRail ?? null,
            nvpmodel: r.nvpmodel ?? null,
            missing: r.missing,
          }
        : null,
      governor: {
        level: d?.levelName ?? 'normal',
        levelIndex: d?.level ?? 0,
        reason: d?.reason ?? 'starting',
        since: d ? new Date(Date.now() - (performance.now() - d.since)).toISOString() : null,
        lastAction: this.actions.lastAction,
        threads: Object.fromEntries(this.ctx.scheduler.list().map((s) => [s.identity.name, s.instances[0]?.model.threads ?? null])),
        dutyCap: round(this.actions.pacedDutyCap),
        dutyMeasured: round(this.duty.duty(performance.now())),
        throttle: round(d?.u ?? 0),
        fallback: this.actions.fallbackModels(),
        fallbackErrors: this.actions.fallbackErrors(),
        shedding: (d?.level ?? 0) >= 4,
        setpointC: this.cfg().setpointC,
        hardLimitC: this.cfg().hardLimitC,
        powerBudgetW: this.cfg().powerBudgetW ?? null,
      },
      counters: { ...this.actions.counters, levelChanges: this.levelChanges, polls: this.polls },
    };
  }

}

const round = (x: number) => Math.round(x * 1000) / 1000;

export function createThermalExtension(config: Config): Extension | undefined {
  return config.thermal?.enabled ? new ThermalExtension() : undefined;
}
