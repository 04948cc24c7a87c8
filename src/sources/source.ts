// One serial sensor pipeline: port -> framer -> samples -> sliding window ->
// normalize + quantize -> the scheduler -> result (and event) on MQTT, with its
// counters for the status. At most one window of a source is with the scheduler
// and at most maxPendingWindows wait behind it: a newer window drops the oldest,
// so memory stays bounded whatever the input rate.
import type { SourceConfig } from '../config/sources-schema';
import type { TensorMeta } from '../engine/model';
import { asBytes, dequantize, quantize, TypedArray } from '../engine/tensors';
import type { ExtensionContext } from '../daemon/extension';
import { topK } from '../daemon/reply';
import type { JobResult } from '../daemon/scheduler';
import { ReplyError } from '../daemon/reply-error';
import { decodeBinary, decodeText } from './decode';
import { BAD_FRAME_KINDS, BadFrameKind, Framer, FrameSink } from './framing';
import { CobsFramer } from './framing-cobs';
import { FixedFramer } from './framing-fixed';
import { LineFramer } from './framing-lines';
import { SlipFramer } from './framing-slip';
import { LatencyStats } from './latency';
import { ReconnectingPort } from './port';
import { SlidingWindow, WindowOut } from './window';

export interface SourceStatus {
  path: string;
  model: string;
  state: string;
  frames: number;
  badFrames: Record<BadFrameKind, number>;
  drops: number;
  windows: number;
  windowsInferred: number;
  inferErrors: number;
  unpublished: number;
  pending: number;
  /** The most windows ever pending at once (waiting + running). */
  pendingHigh: number;
  latencyMs: { last: number | null; p50: number | null; max: number | null };
  reopens: number;
  lastError: string | null;
}

function makeFramer(cfg: SourceConfig, sink: FrameSink): Framer {
  const f = cfg.framing;
  switch (f.kind) {
    case 'lines':
      return new LineFramer(sink, f.maxLineBytes);
    case 'cobs':
      return new CobsFramer(sink, f.maxFrameBytes);
    case 'slip':
      return new SlipFramer(sink, f.maxFrameBytes);
    case 'fixed':
      return new FixedFramer(sink, Uint8Array.from(f.sync), f.payloadBytes, f.crc);
  }
}

/** Why this model cannot take this source's windows, or undefined when it can. */
export function inputMismatch(cfg: SourceConfig, inputs: TensorMeta[]): string | undefined {
  if (inputs.length !== 1) return `model '${cfg.model}' has ${inputs.length} inputs; a source feeds exactly one`;
  const m = inputs[0];
  const want = cfg.window.size * cfg.sample.channels;
  const n = m.shape.reduce((a, b) => a * b, 1);
  if (n !== want) return `model '${cfg.model}' takes ${n} values ([${m.shape}]) but source '${cfg.name}' makes windows of ${cfg.window.size} x ${cfg.sample.channels} = ${want}`;
  if (m.dtype !== 'float32' && !((m.dtype === 'int8' || m.dtype === 'uint8' || m.dtype === 'int16') && m.scale !== undefined && m.zeroPoint !== undefined))
    return `model '${cfg.model}': input dtype ${m.dtype} is not float32 or a quantized int8/uint8/int16`;
  return undefined;
}

/** Window values -> the model input's bytes: x * scale + offset per channel, then quantized (or float32). */
export function toModelInput(values: Float32Array, channels: number, scale: number | number[], offset: number | number[], meta: TensorMeta): Uint8Array {
  const norm = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = i % channels;
    const s = typeof scale === 'number' ? scale : scale[c];
    const o = typeof offset === 'number' ? offset : offset[c];
    norm[i] = values[i] * s + o;
  }
  if (meta.dtype === 'float32') return asBytes(norm);
  return asBytes(quantize(norm, { scale: meta.scale!, zeroPoint: meta.zeroPoint!, dtype: meta.dtype as 'int8' | 'uint8' | 'int16' }));
}

function realValues(o: TypedArray, m: TensorMeta): number[] {
  if (o instanceof BigInt64Array) return Array.from(o, Number);
  const quantized = m.dtype !== 'float32' && m.scale !== undefined && m.zeroPoint !== undefined;
  return Array.from(quantized ? dequantize(o, { scale: m.scale!, zeroPoint: m.zeroPoint! }) : o, (v) => Math.round(v * 1e6) / 1e6);
}

export class SerialSource {
  private readonly port: ReconnectingPort;
  private readonly framer: Framer;
  private readonly window: SlidingWindow;
  private readonly pending: WindowOut[] = [];
  private inFlight = false;
  private stopped = false;
  private frames = 0;
  private readonly badFrames = Object.fromEntries(BAD_FRAME_KINDS.map((k) => [k, 0])) as Record<BadFrameKind, number>;
  private drops = 0;
  private pendingHigh = 0;
  private windows = 0;
  private windowsInferred = 0;
  private inferErrors = 0;
  private unpublished = 0;
  private lastError: string | undefined;
  private readonly latency = new LatencyStats(256);
  private lastOpenError: string | undefined;
  private chunkWallAt = 0;
  private chunkAt = 0;

  constructor(
    readonly cfg: SourceConfig,
    private readonly ctx: ExtensionContext,
  ) {
    const sink: FrameSink = {
      frame: (payload) => this.onFrame(payload),
      bad: (kind) => {
        this.badFrames[kind]++;
      },
    };
    this.framer = makeFramer(cfg, sink);
    this.window = new SlidingWindow(cfg.window.size, cfg.window.hop ?? cfg.window.size, cfg.sample.channels, (w) => this.onWindow(w));
    this.port = new ReconnectingPort(cfg, {
      data: (chunk, at) => {
        this.chunkAt = at;
        this.chunkWallAt = Date.now();
        this.framer.push(chunk);
      },
      opened: () => {
        this.lastOpenError = undefined;
        this.framer.reset();
        this.window.reset();
        this.ctx.log.info({ source: cfg.name, path: cfg.path, reopens: this.port.reopens }, 'serial source open');
        this.ctx.publishStatus();
      },
      lost: (reason, wasOpen) => {
        // a missing device is retried for as long as it takes: say so once, not every few seconds
        if (wasOpen) this.ctx.log.warn({ source: cfg.name, path: cfg.path, reason }, 'serial source lost its port: retrying');
        else if (reason !== this.lastOpenError) this.ctx.log.warn({ source: cfg.name, path: cfg.path, reason }, 'serial source cannot open its port: retrying');
        else this.ctx.log.debug({ source: cfg.name, path: cfg.path, reason }, 'serial source still cannot open its port');
        this.lastOpenError = wasOpen ? undefined : reason;
        if (wasOpen) this.ctx.publishStatus();
      },
    });
  }

  get resultTopic(): string {
    return this.cfg.outputTopic ?? `${this.ctx.deviceTopic()}/sources/${this.cfg.name}/result`;
  }

  get eventTopic(): string {
    return this.cfg.eventTopic ?? `${this.ctx.deviceTopic()}/sources/${this.cfg.name}/event`;
  }

  start(): void {
    this.port.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.pending.length = 0;
    await this.port.stop();
  }

  private onFrame(payload: Uint8Array): void {
    const s = this.cfg.sample;
    const d = this.cfg.framing.kind === 'lines' ? decodeText(payload, s.channels) : decodeBinary(payload, s.format, s.channels);
    if (!d.ok) {
      this.badFrames[d.kind]++;
      return;
    }
    this.frames++;
    this.window.push(d.values, this.chunkWallAt, this.chunkAt);
  }

  private onWindow(w: WindowOut): void {
    this.windows++;
    if (this.pending.length >= this.cfg.maxPendingWindows) {
      this.pending.shift();
      this.drops++;
    }
    this.pending.push(w);
    this.pendingHigh = Math.max(this.pendingHigh, this.pending.length + (this.inFlight ? 1 : 0));
    this.pump();
  }

  private pump(): void {
    while (!this.inFlight && !this.stopped && this.pending.length) {
      const w = this.pending.shift()!;
      const slot = this.ctx.scheduler.get(this.cfg.model);
      const mismatch = slot ? inputMismatch(this.cfg, slot.inputs) : `model '${this.cfg.model}' is not loaded`;
      if (mismatch) {
        this.failed(mismatch);
        continue;
      }
      const n = this.cfg.normalize;
      const input = toModelInput(w.values, this.cfg.sample.channels, n.scale, n.offset, slot!.inputs[0]);
      try {
        this.inFlight = true;
        this.ctx.scheduler.submit(this.cfg.model, { inputs: [input], done: (r) => this.onResult(w, r) });
      } catch (e) {
        this.inFlight = false;
        this.onError(e instanceof ReplyError ? e : new ReplyError('internal', (e as Error).message));
      }
    }
  }

  private onError(e: ReplyError): void {
    // the scheduler shed this window: a drop, not a fault
    if (e.code === 'busy' || e.code === 'throttled') this.drops++;
    else if (e.code !== 'shutting_down') this.failed(`${e.code}: ${e.message}`);
  }

  private failed(message: string): void {
    this.inferErrors++;
    if (message !== this.lastError) this.ctx.log.error({ source: this.cfg.name, err: message }, 'serial source window not inferred');
    this.lastError = message;
  }

  private onResult(w: WindowOut, r: JobResult): void {
    this.inFlight = false;
    if (!r.ok) this.onError(r.error);
    else if (!this.stopped) {
      try {
        this.publishResult(w, r);
      } catch (e) {
        this.failed(`result not published: ${(e as Error).message}`);
      }
    }
    this.pump();
  }

  private publishResult(w: WindowOut, r: Extract<JobResult, { ok: true }>): void {
    const values = realValues(r.outputs[0], r.metas[0]);
    const top = topK(values, r.model.labels, r.model.topK);
    this.windowsInferred++;
    const latencyMs = Math.round((performance.now() - w.lastByteAt) * 1000) / 1000;
    this.latency.add(latencyMs);
    const doc = {
      source: this.cfg.name,
      deviceId: this.ctx.config().deviceId,
      model: { name: r.model.name, version: r.model.version },
      window: w.index,
      firstSampleAt: new Date(w.firstAt).toISOString(),
      lastSampleAt: new Date(w.lastAt).toISOString(),
      ...(top ? { top } : {}),
      values,
      latencyMs,
    };
    const qos = this.cfg.qos;
    void this.ctx.publish(this.resultTopic, JSON.stringify(doc), { qos }).then((ok) => {
      if (!ok) this.unpublished++;
    });
    const best = top?.[0];
    const threshold = this.cfg.eventThreshold;
    if (best && threshold !== undefined && best.score >= threshold && (!this.cfg.eventLabels || this.cfg.eventLabels.includes(best.label))) {
      const event = { source: this.cfg.name, deviceId: doc.deviceId, model: doc.model, window: w.index, label: best.label, score: best.score, at: doc.lastSampleAt, latencyMs };
      void this.ctx.publish(this.eventTopic, JSON.stringify(event), { qos }).then((ok) => {
        if (!ok) this.unpublished++;
      });
    }
  }

  status(): SourceStatus {
    return {
      path: this.cfg.path,
      model: this.cfg.model,
      state: this.port.state,
      frames: this.frames,
      badFrames: { ...this.badFrames },
      drops: this.drops,
      windows: this.windows,
      windowsInferred: this.windowsInferred,
      inferErrors: this.inferErrors,
      unpublished: this.unpublished,
      pending: this.pending.length + (this.inFlight ? 1 : 0),
      pendingHigh: this.pendingHigh,
      latencyMs: this.latency.summary(),
      reopens: this.port.reopens,
      lastError: this.lastError ?? this.port.lastError ?? null,
    };
  }
}
