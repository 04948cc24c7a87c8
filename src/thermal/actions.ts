// Carries out a governor decision on the running daemon: kernel threads per model,
// the duty-cycle pacer, fallback models swapped in and out with scheduler.replace,
// and shedding of low-priority requests with `throttled` replies. Nothing accepted
// is dropped: shed requests are answered, swaps move queued requests to the new slot.
import type { ModelConfig } from '../config/schema';
import type { ThermalConfig } from '../config/thermal-schema';
import type { ExtensionContext } from '../daemon/extension';
import { ReplyError } from '../daemon/reply-error';
import { ModelSlot } from '../daemon/scheduler';
import { loadModel, Model, TensorMeta } from '../engine/model';
import { Decision, LEVEL } from './governor';
import { DutyPacer } from './pacer';

export interface ActionCounters {
  /** Requests refused or shed with `throttled`. */
  throttled: number;
  /** Of those, requests that were already queued. */
  shedQueued: number;
  /** Model swaps (to the fallback and back). */
  swaps: number;
}

/** A model's two slots: the configured one and its lighter fallback (both kept loaded). */
interface FallbackPair {
  primary?: ModelSlot;
  fallback?: ModelSlot;
  error?: string;
}

/** How the governor signs its own swaps to Scheduler.replace observers. */
const THERMAL = 'thermal';

const sameTensors = (a: TensorMeta[], b: TensorMeta[]) =>
  a.length === b.length && a.every((t, i) => t.dtype === b[i].dtype && t.shape.length === b[i].shape.length && t.shape.every((d, k) => d === b[i].shape[k]));

export class Actions {
  readonly counters: ActionCounters = { throttled: 0, shedQueued: 0, swaps: 0 };
  private readonly pacer: DutyPacer;
  private pacerInstalled = false;
  private level = 0;
  private shedReason = '';
  private pairs = new Map<string, FallbackPair>();
  private generation = 0;
  private stopped = false;
  private readonly reloads = new Set<Promise<void>>();
  private readonly unobserve: () => void;
  private readonly unobserveReplace: () => void;
  lastAction = 'none';
  /** Called when the set of usable fallbacks changed after someone else's swap (the governor's fallback level depends on it). */
  onFallbacksChanged?: () => void;

  constructor(
    private readonly ctx: ExtensionContext,
    private cfg: () => ThermalConfig,
  ) {
    this.pacer = new DutyPacer(() => ctx.scheduler.concurrencyLimit);
    this.unobserve = ctx.scheduler.onFinish((_slot, _r, runMs) => {
      if (this.pacerInstalled) this.pacer.ran(runMs);
    });
    this.unobserveReplace = ctx.scheduler.onReplace((name, next, old, by) => {
      if (by !== THERMAL) this.replacedBySomeoneElse(name, next, old);
    });
  }

  private models(): ModelConfig[] {
    return this.ctx.config().models;
  }

  private priorityOf(name: string): number {
    return this.models().find((m) => m.name === name)?.priority ?? 1;
  }

  /**
   * Loads every model's fallback now, so a swap under thermal stress costs no load
   * time (a load compiles on the event loop). A fallback that does not load or does
   * not match its model's inputs and outputs is reported and not used.
   */
  async preload(): Promise<void> {
    const gen = this.generation;
    for (const m of this.models()) {
      if (gen !== this.generation) return;
      await this.loadFallback(m, this.ctx.scheduler.get(m.name));
    }
  }

  /**
   * Loads the fallback that goes with `full` (the slot serving the model): the one
   * its slot names (an OTA bundle's fallback), else the config's fallbackPath. It
   * takes the full model's version (`<version>-fallback`) and labels.
   */
  private async loadFallback(m: ModelConfig, full: ModelSlot | undefined): Promise<void> {
    const source = full?.fallbackSource ?? m.fallbackPath;
    if (!source) return;
    const from = typeof source === 'string' ? source : `the OTA bundle of ${full?.identity.version ?? m.version}`;
    const pair: FallbackPair = {};
    this.pairs.set(m.name, pair);
    const models: Model[] = [];
    try {
      for (let i = 0; i < m.instances; i++) models.push(await loadModel(source, { threads: m.threads, kernels: m.kernels }));
      if (full && (!sameTensors(full.inputs, models[0].inputs) || !sameTensors(full.outputs, models[0].outputs)))
        throw new Error('it does not have the inputs and outputs of the model it stands in for');
    } catch (e) {
      for (const x of models) x.dispose();
      if (this.pairs.get(m.name) !== pair) return;
      pair.error = `${from}: ${(e as Error).message}`;
      this.ctx.log.error({ model: m.name, err: pair.error }, 'thermal: fallback model not usable');
      return;
    }
    const version = full?.identity.version ?? m.version;
    const labels = full ? full.identity.labels : m.labels;
    const slot = new ModelSlot({ name: m.name, version: `${version}-fallback`, labels, topK: m.topK, queueSize: m.queueSize, models });
    // a reload, a stop or another swap came while this loaded: it is stale
    if (this.pairs.get(m.name) !== pair) {
      slot.dispose();
      return;
    }
    pair.fallback = slot;
    this.ctx.log.info({ model: m.name, from, version: slot.identity.version }, 'thermal: fallback model loaded');
  }

  /**
   * Someone else (OTA activation or rollback) replaced a model's slot: the slot it
   * installed is the model's full model from now on, and the fallback must follow it
   * (a new bundle brings its own). The slots held for the old version are freed —
   * the one it replaced was disposed by the scheduler unless kept by its replacer —
   * and the new fallback is loaded; at the fallback level it goes in once loaded
   * (meanwhile the new version serves in full).
   */
  private replacedBySomeoneElse(name: string, next: ModelSlot, old: ModelSlot | undefined): void {
    const pair = this.pairs.get(name);
    if (pair) for (const s of [pair.primary, pair.fallback]) if (s && s !== next && s !== old && !s.disposed) s.dispose();
    this.pairs.delete(name);
    const m = this.models().find((x) => x.name === name);
    if (!m || this.stopped) return;
    const gen = this.generation;
    const loading = this.loadFallback(m, next)
      .then(() => {
        if (gen !== this.generation || this.stopped) return;
        const swapped = this.applyFallback(this.level >= LEVEL.fallback);
        if (swapped) this.lastAction = swapped;
        this.onFallbacksChanged?.();
      })
      // runs detached from the swap that caused it: a bug here is logged, never an unhandled rejection
      .catch((e: unknown) => this.ctx.log.error({ model: name, err: (e as Error)?.stack ?? String(e) }, 'thermal: following a model swap failed'));
    this.reloads.add(loading);
    void loading.finally(() => this.reloads.delete(loading));
  }

  /** Resolves when the fallbacks being reloaded after someone else's swap are in place (tests, stop). */
  async settled(): Promise<void> {
    while (this.reloads.size) await Promise.allSettled([...this.reloads]);
  }

  /** Applies a decision; returns a description of what changed (undefined: nothing). */
  apply(d: Decision): string | undefined {
    const done: string[] = [];
    const prev = this.level;
    this.level = d.level;
    const threads = this.applyThreads(d.level >= LEVEL.threads);
    if (threads) done.push(threads);

    const now = performance.now();
    if (d.dutyCap < 1) {
      this.pacer.setCap(d.dutyCap, now);
      if (!this.pacerInstalled) {
        this.pacer.reset(now);
        this.pacerInstalled = true;
        this.ctx.scheduler.setPacer(this.pacer);
        done.push(`duty capped at ${(d.dutyCap * 100).toFixed(0)}%`);
      }
    } else if (this.pacerInstalled) {
      this.pacerInstalled = false;
      this.ctx.scheduler.setPacer(undefined);
      done.push('duty cap lifted');
    }

    const swapped = this.applyFallback(d.level >= LEVEL.fallback);
    if (swapped) done.push(swapped);

    const shedding = d.level >= LEVEL.shed;
    this.shedReason = d.reason;
    if (shedding && prev < LEVEL.shed) {
      const below = this.cfg().shedBelowPriority;
      const n = this.ctx.scheduler.shedQueued((s) => this.priorityOf(s.identity.name) < below, new ReplyError('throttled', `shed by the thermal governor (${d.reason}): retry later`));
      this.counters.throttled += n;
      this.counters.shedQueued += n;
      done.push(`shedding models below priority ${below}${n ? ` (${n} queued answered throttled)` : ''}`);
    } else if (!shedding && prev >= LEVEL.shed) done.push('shedding stopped');
    this.ctx.scheduler.setAdmission(d.level >= LEVEL.duty ? (slot) => this.admit(slot) : undefined);

    if (!done.length) return undefined;
    this.lastAction = done.join('; ');
    return this.lastAction;
  }

  /** While throttling: shed low-priority models; a full queue is the governor's doing, so `throttled`, not `busy`. */
  private admit(slot: ModelSlot): ReplyError | undefined {
    let e: ReplyError | undefined;
    if (this.level >= LEVEL.shed && this.priorityOf(slot.identity.name) < this.cfg().shedBelowPriority)
      e = new ReplyError('throttled', `shed by the thermal governor (${this.shedReason}): retry later`);
    else if (slot.queue.length >= slot.queueSize)
      e = new ReplyError('throttled', `the thermal governor caps the inference rate and the queue of '${slot.identity.name}' is full: retry later`);
    if (e) this.counters.throttled++;
    return e;
  }

  /** Sets every loaded model's thread count; returns what changed. */
  private applyThreads(reduce: boolean): string | undefined {
    const min = this.cfg().threadsMin;
    let changed = 0;
    for (const slot of this.ctx.scheduler.list()) {
      for (const inst of slot.instances) {
        const want = reduce ? Math.min(min, inst.model.maxThreads) : inst.model.maxThreads;
        if (inst.model.threads === want) continue;
        try {
          inst.model.setThreads(want).catch(() => undefined);
          changed++;
        } catch {
          // a disposed model keeps what it had
        }
      }
    }
    return changed ? (reduce ? `threads → ${min}` : 'threads restored') : undefined;
  }

  /**
   * Puts each model's fallback (or its full model) in place; both stay loaded, so a
   * swap is instant. A disposed slot is never put in.
   */
  private applyFallback(want: boolean): string | undefined {
    const done: string[] = [];
    for (const [name, pair] of this.pairs) {
      if (!pair.fallback || pair.fallback.disposed) continue;
      const current = this.ctx.scheduler.get(name);
      if (!current) continue;
      const onFallback = current === pair.fallback;
      if (want && !onFallback) {
        pair.primary = current;
        this.ctx.scheduler.replace(pair.fallback, { keepOld: true, by: THERMAL });
      } else if (!want && onFallback && pair.primary && !pair.primary.disposed) {
        this.ctx.scheduler.replace(pair.primary, { keepOld: true, by: THERMAL });
      } else continue;
      this.counters.swaps++;
      done.push(`${name} → ${want ? 'fallback' : 'full'} model`);
      this.ctx.log.info({ model: name, version: this.ctx.scheduler.get(name)?.identity.version }, want ? 'thermal: switched to the fallback model' : 'thermal: switched back to the full model');
    }
    return done.length ? done.join(', ') : undefined;
  }

  /** Some model has a usable fallback loaded. */
  hasFallback(): boolean {
    return [...this.pairs.values()].some((p) => p.fallback && !p.fallback.disposed);
  }

  fallbackModels(): string[] {
    return [...this.pairs].filter(([name, p]) => p.fallback && this.ctx.scheduler.get(name) === p.fallback).map(([name]) => name);
  }

  fallbackErrors(): Record<string, string> {
    return Object.fromEntries([...this.pairs].filter(([, p]) => p.error).map(([name, p]) => [name, p.error!]));
  }

  get pacedDutyCap(): number {
    return this.pacerInstalled ? this.pacer.dutyCap : 1;
  }

  /** Frees the slots not in the scheduler (the one installed belongs to the daemon now). */
  private release(): void {
    this.generation++;
    for (const [name, pair] of this.pairs) {
      const installed = this.ctx.scheduler.get(name);
      for (const s of [pair.primary, pair.fallback]) if (s && s !== installed && !s.disposed) s.dispose();
    }
    this.pairs = new Map();
  }

  /** After a reload: the daemon installed fresh models (and disposed the ones it had); load the fallbacks anew. */
  async reset(): Promise<void> {
    this.release();
    await this.preload();
  }

  /** Removes the hooks so the drain runs at full speed. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unobserve();
    this.unobserveReplace();
    this.ctx.scheduler.setPacer(undefined);
    this.ctx.scheduler.setAdmission(undefined);
    this.pacerInstalled = false;
    this.release();
    await this.settled();
  }
}
