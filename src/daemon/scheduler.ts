// Per-model bounded queues feeding a fixed number of inference slots. A request
// either gets a place in its model's queue or an immediate `busy`: memory stays
// bounded whatever the request rate. Besides the per-model counts, the bytes of
// input tensors held by queued and running requests together stay within a
// budget (maxQueuedBytes), whatever the models' input sizes. Runs happen on the libuv pool (Model.run),
// so the event loop keeps serving MQTT meanwhile.
import type { Model, TensorMeta } from '../engine/model';
import type { TypedArray } from '../engine/tensors';
import { isQieError } from '../errors';
import type { ModelIdentity } from './reply';
import { ReplyError } from './reply-error';

export type JobResult =
  | { ok: true; outputs: TypedArray[]; metas: TensorMeta[]; model: ModelIdentity }
  | { ok: false; error: ReplyError };

export interface JobInput {
  inputs: Uint8Array[];
  /** Absolute time (performance.now() ms) after which the job is answered deadline_exceeded. */
  deadlineAt?: number;
  /** Called exactly once. */
  done(r: JobResult): void;
}

class Job {
  private settled = false;
  private released = false;
  /** The run has started and not ended: the engine still reads the inputs. */
  running = false;
  timer?: NodeJS.Timeout;
  constructor(
    readonly input: JobInput,
    readonly bytes: number,
    private readonly onRelease: (bytes: number) => void,
  ) {}
  get isSettled(): boolean {
    return this.settled;
  }
  settle(r: JobResult): void {
    if (this.settled) return;
    this.settled = true;
    if (this.timer) clearTimeout(this.timer);
    // an answered job that is still running keeps its bytes until the run ends
    if (!this.running) this.release();
    this.input.done(r);
  }
  /** Gives the job's input bytes back to the budget (once). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease(this.bytes);
  }
}

interface Instance {
  model: Model;
  busy: boolean;
}

export interface SlotSpec extends ModelIdentity {
  queueSize: number;
  models: Model[];
  fallbackSource?: FallbackSource;
}

/** Where a slot's lighter stand-in comes from: verified bundle bytes or a file path (the thermal governor loads it). */
export type FallbackSource = Uint8Array | string;

export class ModelSlot {
  readonly identity: ModelIdentity;
  readonly queueSize: number;
  readonly instances: Instance[];
  readonly queue: Job[] = [];
  /** The fallback model that goes with this slot's model (an OTA bundle's, else the config's fallbackPath). */
  readonly fallbackSource?: FallbackSource;
  running = 0;
  completed = 0;
  private wasDisposed = false;

  constructor(spec: SlotSpec) {
    this.identity = { name: spec.name, version: spec.version, labels: spec.labels, topK: spec.topK };
    this.queueSize = spec.queueSize;
    this.instances = spec.models.map((model) => ({ model, busy: false }));
    this.fallbackSource = spec.fallbackSource;
  }
  /** dispose() was called: the slot must never be installed again. */
  get disposed(): boolean {
    return this.wasDisposed;
  }
  get inputs(): TensorMeta[] {
    return this.instances[0].model.inputs;
  }
  get outputs(): TensorMeta[] {
    return this.instances[0].model.outputs;
  }
  /** Frees the models once their running jobs finish (Model.dispose waits for them). */
  dispose(): void {
    this.wasDisposed = true;
    for (const i of this.instances) i.model.dispose();
  }
}

/** Told of every finished run: which slot, its result and how long it ran (ms). */
export type FinishObserver = (slot: ModelSlot, result: JobResult, runMs: number) => void;

/**
 * Told of every Scheduler.replace: the model's name, the slot now installed, the one
 * it replaced (undefined when the model is new; already disposed unless `keepOld`)
 * and `by`, the caller's name when it gave one. Not called by install() (a reload:
 * extensions hear of it through onReload).
 */
export type ReplaceObserver = (name: string, next: ModelSlot, old: ModelSlot | undefined, by: string | undefined) => void;

/**
 * Paces run starts (the thermal governor's duty cap): consulted before each start
 * while one is installed; a positive answer postpones the start by that many ms.
 */
export interface Pacer {
  delayMs(now: number): number;
}

/**
 * Consulted by submit() before the queue-full check while installed: an error
 * refuses the request with that error (e.g. `throttled`), undefined admits it.
 */
export type Admission = (slot: ModelSlot) => ReplyError | undefined;

export class Scheduler {
  private slots = new Map<string, ModelSlot>();
  private inFlight = 0;
  private closed = false;
  private rr = 0;
  private idleWaiters: (() => void)[] = [];
  private finishObservers: FinishObserver[] = [];
  private replaceObservers: ReplaceObserver[] = [];
  private pacer: Pacer | undefined;
  private pacerTimer: NodeJS.Timeout | undefined;
  private admission: Admission | undefined;
  private held = 0;
  private peakHeld = 0;

  /** `maxHeldBytes`: the budget of input bytes held by queued and running requests. */
  constructor(
    private concurrency: number,
    private maxHeldBytes = Infinity,
  ) {}

  /** Changes the input-bytes budget (a reload); requests already held stay. */
  setMemoryBudget(bytes: number): void {
    this.maxHeldBytes = bytes;
  }

  /** Bytes of input tensors held by queued and running requests now, at most so far, and the budget. */
  get memory(): { queuedBytes: number; peakQueuedBytes: number; maxQueuedBytes: number } {
    return { queuedBytes: this.held, peakQueuedBytes: this.peakHeld, maxQueuedBytes: this.maxHeldBytes };
  }

  get concurrencyLimit(): number {
    return this.concurrency;
  }

  /** Installs (or with undefined removes) the pacer of run starts. Without one, runs start as soon as a slot is free. */
  setPacer(p: Pacer | undefined): void {
    this.pacer = p;
    if (!p && this.pacerTimer) {
      clearTimeout(this.pacerTimer);
      this.pacerTimer = undefined;
    }
    this.pump();
  }

  /** Installs (or with undefined removes) the admission check of new requests. */
  setAdmission(a: Admission | undefined): void {
    this.admission = a;
  }

  /**
   * Answers the queued jobs of the slots `which` selects with `error` (shedding):
   * they are answered, never dropped. Returns how many were answered.
   */
  shedQueued(which: (slot: ModelSlot) => boolean, error: ReplyError): number {
    let n = 0;
    for (const s of this.slots.values()) {
      if (!which(s)) continue;
      for (const job of s.queue.splice(0)) {
        job.settle({ ok: false, error });
        n++;
      }
    }
    this.checkIdle();
    return n;
  }

  setConcurrency(n: number): void {
    this.concurrency = n;
    this.pump();
  }

  get(name: string): ModelSlot | undefined {
    return this.slots.get(name);
  }

  list(): ModelSlot[] {
    return [...this.slots.values()];
  }

  get running(): number {
    return this.inFlight;
  }

  /**
   * Installs a new set of models (start-up or reload). Queued requests of a model
   * that stays move to its new slot; those of a removed model are answered
   * unknown_model. The old models are disposed after their running jobs.
   */
  install(next: ModelSlot[]): void {
    const old = this.slots;
    this.slots = new Map(next.map((s) => [s.identity.name, s]));
    for (const [name, slot] of old) {
      const successor = this.slots.get(name);
      for (const job of slot.queue.splice(0)) {
        if (successor) successor.queue.push(job);
        else job.settle({ ok: false, error: new ReplyError('unknown_model', `model '${name}' was removed by a reload`) });
      }
      slot.dispose();
    }
    this.pump();
  }

  /**
   * Replaces one model's slot (same name) and leaves the others alone: its queued
   * requests move to the new slot, running ones finish on the old models, which are
   * disposed after them. Adds the slot when no model has that name yet.
   * With `keepOld` the old slot is not disposed: the caller keeps it to put back
   * later (the thermal governor's fallback swap) and disposes it itself.
   * A disposed slot is refused (its models cannot run). Replace observers are told
   * after the swap; `by` names the caller to them.
   */
  replace(next: ModelSlot, opts: { keepOld?: boolean; by?: string } = {}): ModelSlot | undefined {
    const name = next.identity.name;
    if (next.disposed) throw new Error(`scheduler: refusing to install a disposed slot of '${name}' (${next.identity.version})`);
    const old = this.slots.get(name);
    this.slots.set(name, next);
    if (old && old !== next) {
      next.queue.push(...old.queue.splice(0));
      if (!opts.keepOld) old.dispose();
    }
    for (const fn of this.replaceObservers) {
      try {
        fn(name, next, old, opts.by);
      } catch {
        // an observer's bug must not undo the swap
      }
    }
    this.pump();
    return old;
  }

  /** Registers an observer of replace() (the thermal governor follows OTA's swaps); returns its removal. */
  onReplace(fn: ReplaceObserver): () => void {
    this.replaceObservers.push(fn);
    return () => {
      this.replaceObservers = this.replaceObservers.filter((f) => f !== fn);
    };
  }

  /** Registers an observer of finished runs (extensions: health windows, duty measurement); returns its removal. */
  onFinish(fn: FinishObserver): () => void {
    this.finishObservers.push(fn);
    return () => {
      this.finishObservers = this.finishObservers.filter((f) => f !== fn);
    };
  }

  /**
   * Queues a job or throws ReplyError (unknown_model, busy, shutting_down). The
   * job holds its input bytes against the budget until it is answered from the
   * queue or its run ends; callers should pass inputs that own their memory (not
   * views of a larger buffer) so that what is counted is what is held.
   */
  submit(name: string, input: JobInput): void {
    if (this.closed) throw new ReplyError('shutting_down', 'the daemon is shutting down');
    const slot = this.slots.get(name);
    if (!slot) throw new ReplyError('unknown_model', `no model named '${name}' (loaded: ${[...this.slots.keys()].join(', ') || 'none'})`);
    const refused = this.admission?.(slot);
    if (refused) throw refused;
    if (slot.queue.length >= slot.queueSize) throw new ReplyError('busy', `the queue of '${name}' is full (${slot.queueSize} waiting); retry later`);
    const bytes = input.inputs.reduce((a, u) => a + u.byteLength, 0);
    if (this.held + bytes > this.maxHeldBytes)
      throw new ReplyError('busy', `queued requests hold ${this.held} bytes of inputs; ${bytes} more would pass maxQueuedBytes ${this.maxHeldBytes}; retry later`);
    this.held += bytes;
    this.peakHeld = Math.max(this.peakHeld, this.held);
    const job = new Job(input, bytes, (n) => (this.held -= n));
    if (input.deadlineAt !== undefined) {
      const wait = Math.max(0, input.deadlineAt - performance.now());
      job.timer = setTimeout(() => this.expire(job), wait);
    }
    slot.queue.push(job);
    this.pump();
  }

  private expire(job: Job): void {
    for (const slot of this.slots.values()) {
      const k = slot.queue.indexOf(job);
      if (k >= 0) slot.queue.splice(k, 1);
    }
    job.settle({ ok: false, error: new ReplyError('deadline_exceeded', 'the deadline passed before the result was ready') });
    this.checkIdle();
  }

  private pump(): void {
    const slots = [...this.slots.values()];
    let paced = false;
    while (this.inFlight < this.concurrency && slots.length && !paced) {
      let started = false;
      for (let k = 0; k < slots.length && this.inFlight < this.concurrency; k++) {
        const slot = slots[(this.rr + k) % slots.length];
        const inst = slot.instances.find((i) => !i.busy);
        if (!inst || !slot.queue.length) continue;
        if (this.pacer && (paced = this.paced())) break;
        const job = slot.queue.shift()!;
        this.rr = (this.rr + k + 1) % slots.length;
        this.start(slot, inst, job);
        started = true;
      }
      if (!started) break;
    }
    this.checkIdle();
  }

  /** True when the pacer postpones the next start; a timer then pumps again. */
  private paced(): boolean {
    if (this.pacerTimer) return true;
    const wait = this.pacer!.delayMs(performance.now());
    if (!(wait > 0)) return false;
    this.pacerTimer = setTimeout(() => {
      this.pacerTimer = undefined;
      this.pump();
    }, Math.min(Math.ceil(wait), 60_000));
    return true;
  }

  private start(slot: ModelSlot, inst: Instance, job: Job): void {
    job.running = true;
    inst.busy = true;
    slot.running++;
    this.inFlight++;
    const t0 = performance.now();
    const finish = (r: JobResult): void => {
      inst.busy = false;
      slot.running--;
      slot.completed++;
      this.inFlight--;
      const runMs = performance.now() - t0;
      job.running = false;
      job.release();
      for (const fn of this.finishObservers) {
        try {
          fn(slot, r, runMs);
        } catch {
          // an observer's bug must not lose the reply
        }
      }
      job.settle(r);
      this.pump();
    };
    let run: Promise<TypedArray[]>;
    try {
      // Model.run takes a Buffer as raw bytes whatever the input dtype
      run = inst.model.run(job.input.inputs.map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength)));
    } catch (e) {
      run = Promise.reject(e);
    }
    run.then(
      (outputs) => finish({ ok: true, outputs, metas: inst.model.outputs, model: slot.identity }),
      (e: unknown) => finish({ ok: false, error: toReplyError(e) }),
    );
  }

  /** Refuses new jobs from now on. */
  close(): void {
    this.closed = true;
  }

  get pending(): number {
    let n = this.inFlight;
    for (const s of this.slots.values()) n += s.queue.length;
    return n;
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkIdle(): void {
    if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Answers every queued job with `code` (the drain timed out). */
  abandonQueued(error: ReplyError): void {
    for (const s of this.slots.values()) for (const job of s.queue.splice(0)) job.settle({ ok: false, error });
    this.checkIdle();
  }

  disposeAll(): void {
    for (const s of this.slots.values()) s.dispose();
    this.slots.clear();
  }
}

function toReplyError(e: unknown): ReplyError {
  if (e instanceof ReplyError) return e;
  if (isQieError(e) && e.code === 'bad_input') return new ReplyError('bad_request', e.message);
  if (isQieError(e) && e.code === 'disposed') return new ReplyError('shutting_down', e.message);
  return new ReplyError('internal', (e as Error)?.message ?? String(e));
}
