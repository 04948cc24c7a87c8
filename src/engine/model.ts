// The public Model: metadata, run (off the event loop, one at a time), state, dispose.
import { readFile } from 'node:fs/promises';
import { QieError } from '../errors';
import { compileModel, ModelFormat } from '../model/compile';
import { DType, DTYPE_BYTES, elementCount, Graph, Op } from '../model/ir';
import { graphMacs, opMacs } from '../model/stats';
import { native, NativeHandle } from './native';
import { asBytes, TYPED_ARRAY, TypedArray } from './tensors';

export interface TensorMeta {
  name: string;
  dtype: DType;
  shape: number[];
  /** Per-tensor scale and zero point (first channel's for per-channel tensors); undefined when not quantized. */
  scale?: number;
  zeroPoint?: number;
  scales?: number[];
  zeroPoints?: number[];
  bytes: number;
}

export interface OpReport {
  index: number;
  kind: string;
  name: string;
  kernel: string;
  inputs: number[];
  outputs: number[];
  macs: number;
  /** 'int8', 'int16', 'float32', ...: the dtype the op computes in (its first output's). */
  precision: DType;
}

export interface LoadOptions {
  /**
   * Kernel threads, 1..64 (default 1): the C runtime starts a pool of threads - 1
   * workers at load and plans one scratch slice per thread, so this is also the most
   * setThreads() may later ask for. Output bytes do not depend on it.
   */
  threads?: number;
  /**
   * Kernel family: 'auto' (default: the best this CPU runs), 'ref' (portable
   * reference), 'avx2', 'avx512vnni', 'neon', 'neondot'; QIE_KERNELS in the
   * environment is the default. A family this CPU or build lacks is refused.
   */
  kernels?: string;
  /** ONNX models: node names of quantized layers to run in float32 (weights dequantized at load). */
  floatOps?: string[];
}

const KERNEL_FAMILIES = ['auto', 'ref', 'neon', 'neondot', 'avx2', 'avx512vnni'];

function meta(g: Graph, index: number, uint8: boolean): TensorMeta {
  const t = g.tensors[index];
  const q = t.quant;
  const shift = uint8 ? 128 : 0;
  const dtype: DType = uint8 ? 'uint8' : t.dtype;
  const bytes = elementCount(t.shape) * DTYPE_BYTES[dtype];
  return {
    name: t.name,
    dtype,
    shape: [...t.shape],
    scale: q?.scales[0],
    zeroPoint: q ? q.zeroPoints[0] + shift : undefined,
    scales: q ? [...q.scales] : undefined,
    zeroPoints: q ? q.zeroPoints.map((z) => z + shift) : undefined,
    bytes,
  };
}

function flipInPlace(bytes: Uint8Array): void {
  for (let i = 0; i < bytes.length; i++) bytes[i] ^= 0x80;
}

function flipped(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  flipInPlace(out);
  return out;
}

export class Model {
  readonly inputs: TensorMeta[];
  readonly outputs: TensorMeta[];
  readonly arenaBytes: number;
  readonly persistentBytes: number;
  readonly macs: number;
  readonly ops: OpReport[];
  readonly format: ModelFormat;
  /** The thread count fixed at load: the most setThreads() accepts. */
  readonly maxThreads: number;
  /** The kernel family chosen at load ('ref', 'avx2', 'avx512vnni', 'neon', 'neondot'). */
  readonly kernelFamily: string;
  readonly planBytes: number;
  private activeThreads: number;
  private handle: NativeHandle | undefined;
  private disposed = false;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly uint8In: boolean[];
  private readonly uint8Out: boolean[];

  /** @internal use loadModel */
  constructor(graph: Graph, plan: Uint8Array, format: ModelFormat, opts: LoadOptions) {
    const kernels = opts.kernels ?? process.env.QIE_KERNELS ?? 'auto';
    if (!KERNEL_FAMILIES.includes(kernels))
      throw new QieError('bad_option', `kernels must be one of ${KERNEL_FAMILIES.join(', ')}; got '${kernels}'`);
    const threads = opts.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 64)
      throw new QieError('bad_option', `threads must be an integer in 1..64; got ${opts.threads}`);
    try {
      this.handle = native.create(plan, kernels, threads);
    } catch (e) {
      // a family this CPU or build lacks is an option problem; the message says why
      if (e instanceof QieError && e.code === 'bad_input' && /kernel family/.test(e.message))
        throw new QieError('bad_option', e.message);
      throw e;
    }
    const info = native.info(this.handle);
    this.uint8In = graph.uint8Io?.inputs ?? graph.inputs.map(() => false);
    this.uint8Out = graph.uint8Io?.outputs ?? graph.outputs.map(() => false);
    this.inputs = graph.inputs.map((t, i) => meta(graph, t, this.uint8In[i]));
    this.outputs = graph.outputs.map((t, i) => meta(graph, t, this.uint8Out[i]));
    this.arenaBytes = info.arenaBytes;
    this.persistentBytes = info.persistentBytes;
    this.macs = graphMacs(graph);
    this.format = format;
    this.maxThreads = threads;
    this.kernelFamily = info.family;
    this.activeThreads = threads;
    this.planBytes = plan.length;
    this.ops = graph.ops.map((op: Op, index) => ({
      index,
      kind: op.kind,
      name: op.name,
      kernel: info.kernels[index],
      inputs: [...op.inputs],
      outputs: [...op.outputs],
      macs: opMacs(graph, op),
      precision: graph.tensors[op.outputs[0]].dtype,
    }));
  }

  /**
   * Runs the model. inputs: one typed array per input, in order, of the input's
   * dtype (a Node Buffer is taken as raw bytes). Resolves to one typed array per
   * output. Runs are queued: one at a time per model, off the event loop.
   */
  run(inputs: ArrayBufferView[]): Promise<TypedArray[]> {
    const raw = this.checkInputs(inputs);
    const next = this.queue.then(async () => {
      if (!this.handle) throw new QieError('disposed', 'the model was disposed');
      const outs = await native.run(this.handle, raw);
      // legacy uint8 outputs come back as int8: flip the same bytes into a Uint8Array
      return outs.map((o, i) => {
        if (!this.uint8Out[i]) return o;
        const u = new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
        flipInPlace(u);
        return u;
      });
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  private checkInputs(inputs: ArrayBufferView[]): Uint8Array[] {
    if (this.disposed) throw new QieError('disposed', 'the model was disposed');
    if (!Array.isArray(inputs) || inputs.length !== this.inputs.length)
      throw new QieError('bad_input', `expected ${this.inputs.length} input(s), got ${Array.isArray(inputs) ? inputs.length : typeof inputs}`);
    return inputs.map((a, i) => {
      const m = this.inputs[i];
      const ctor = TYPED_ARRAY[m.dtype];
      if (!ArrayBuffer.isView(a) || !(a instanceof ctor || Buffer.isBuffer(a)))
        throw new QieError('bad_input', `input ${i} (${m.name}) must be a ${ctor.name} (or a Buffer of raw bytes)`);
      if (a.byteLength !== m.bytes)
        throw new QieError('bad_input', `input ${i} (${m.name}) must hold ${m.bytes} bytes for ${m.dtype} [${m.shape}], got ${a.byteLength}`);
      const bytes = asBytes(a);
      return this.uint8In[i] ? flipped(bytes) : bytes;
    });
  }

  /**
   * The engine's own time (ms) in the last completed run: qie_model_run on the
   * worker thread, without the hand-off to it and back to the event loop that
   * `await run()` also includes. 0 before the first run.
   */
  get lastRunMs(): number {
    return this.handle && !this.disposed ? native.lastRunMs(this.handle) : 0;
  }

  /**
   * Where a run's time goes: runs the model `runs` times op by op (on whatever
   * the inputs last held; queued like run) and resolves to each op's median ms,
   * indexed like `ops`. For `qie inspect --profile` and the benchmark.
   */
  profile(runs = 50): Promise<number[]> {
    if (this.disposed) return Promise.reject(new QieError('disposed', 'the model was disposed'));
    if (!Number.isInteger(runs) || runs < 1 || runs > 100_000)
      return Promise.reject(new QieError('bad_option', `profile runs must be an integer in 1..100000; got ${runs}`));
    const next = this.queue.then(async () => {
      if (!this.handle) throw new QieError('disposed', 'the model was disposed');
      return [...(await native.profile(this.handle, runs))];
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Threads the runs use (after the setThreads calls queued so far). */
  get threads(): number {
    return this.activeThreads;
  }

  /**
   * Changes the threads later runs use, 1..maxThreads (the load-time `threads`).
   * It takes effect between runs: runs queued before it use the old count. Output
   * bytes are the same for any count.
   */
  setThreads(threads: number): Promise<void> {
    if (this.disposed) return Promise.reject(new QieError('disposed', 'the model was disposed'));
    if (!Number.isInteger(threads) || threads < 1 || threads > this.maxThreads)
      throw new QieError('bad_option', `threads must be an integer in 1..${this.maxThreads} (the load-time threads option); got ${threads}`);
    this.activeThreads = threads;
    const next = this.queue.then(() => {
      if (this.handle) native.setThreads(this.handle, threads);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Zeroes recurrent state (state starts at zero on load). */
  resetState(): Promise<void> {
    if (this.disposed) return Promise.reject(new QieError('disposed', 'the model was disposed'));
    const next = this.queue.then(() => {
      if (this.handle) native.resetState(this.handle);
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Refuses new runs at once; runs already queued finish, then the memory is freed. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.queue = this.queue.then(() => {
      if (this.handle) native.dispose(this.handle);
      this.handle = undefined;
    });
  }
}

/** Loads a TFLite or ONNX model from a path or its bytes. */
export async function loadModel(source: string | Uint8Array, opts: LoadOptions = {}): Promise<Model> {
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    try {
      bytes = await readFile(source);
    } catch (e) {
      throw new QieError('bad_input', `cannot read model ${source}: ${(e as Error).message}`);
    }
  } else if (source instanceof Uint8Array) {
    bytes = source;
  } else {
    throw new QieError('bad_input', 'loadModel takes a path or a Uint8Array');
  }
  if (opts.floatOps !== undefined && (!Array.isArray(opts.floatOps) || opts.floatOps.some((n) => typeof n !== 'string')))
    throw new QieError('bad_option', 'floatOps must be an array of op names');
  const { graph, plan, format } = compileModel(bytes, { floatOps: opts.floatOps });
  return new Model(graph, plan, format, opts);
}
