// Post-training quantization, end to end: calibrate a float graph in qie, quantize
// it, measure the int8 result against the float one on held-back samples, and
// (with minSqnr) keep the layers that quantize badly in float.
import { QieError } from '../errors';
import { compileModel } from '../model/compile';
import { graphToTflite } from '../model/export/graph-to-tflite';
import { Graph } from '../model/ir';
import { compareGraphs, Comparison, LayerMetric } from './compare';
import { Range } from './params';
import { nextFloatLayer } from './mixed-precision';
import { IoType, OpDecision, quantizeGraph } from './quantize-graph';
import { CalibMethod, CALIB_METHODS, TensorStats } from './ranges';
import { GraphRunner } from './runner';
import { checkSamples } from './samples';

export type Phase = 'calibrate' | 'evaluate';

export interface PtqOptions {
  io?: IoType;
  method?: CalibMethod;
  /** Layers whose output SQNR (dB) falls below this stay float. */
  minSqnr?: number;
  /** Every n-th sample is held back for the accuracy report (default 5; 0 = evaluate on the calibration set). */
  holdBackEvery?: number;
  onProgress?: (phase: Phase, done: number, total: number) => void;
}

export interface LayerReport extends LayerMetric {
  reason?: string;
}

export interface AccuracyReport {
  method: CalibMethod;
  io: IoType;
  minSqnr?: number;
  calibrationSamples: number;
  evaluationSamples: number;
  /** false when there were too few samples to hold any back: evaluated on the calibration set. */
  heldBack: boolean;
  layers: LayerReport[];
  endToEnd: Comparison['endToEnd'];
  /** Ops kept in float and why. */
  keptFloat: { op: string; reason: string }[];
}

export interface PtqResult {
  tflite: Uint8Array;
  /** The quantized graph exactly as written (tensor parameters and data). */
  graph: Graph;
  floatGraph: Graph;
  decisions: OpDecision[];
  ranges: Map<number, Range>;
  report: AccuracyReport;
}

/** Runs the float graph over the samples in qie and returns a clipping range per activation. */
export async function calibrate(g: Graph, samples: Float32Array[], method: CalibMethod, onProgress?: (done: number, total: number) => void): Promise<Map<number, Range>> {
  const runner = GraphRunner.open(g);
  try {
    const stats = new Map<number, TensorStats>();
    const passes = method === 'minmax' ? 1 : 2;
    const total = passes * samples.length;
    for (let pass = 0; pass < passes; pass++) {
      for (let n = 0; n < samples.length; n++) {
        const values = await runner.run(samples[n]);
        for (const [t, v] of values) {
          let s = stats.get(t);
          if (!s) stats.set(t, (s = new TensorStats()));
          if (pass === 0) s.observe(v);
          else s.observeHistogram(v);
        }
        onProgress?.(pass * samples.length + n + 1, total);
      }
    }
    const ranges = new Map<number, Range>();
    for (const [t, s] of stats) {
      if (!Number.isFinite(s.min) || !Number.isFinite(s.max))
        throw new QieError('bad_input', `calibration: tensor ${g.tensors[t].name} reached ${s.min}..${s.max}; the float model overflows on this data`);
      ranges.set(t, s.range(method));
    }
    return ranges;
  } finally {
    runner.dispose();
  }
}

/**
 * With int8 model inputs, even an all-float model sees the input's quantization
 * error: each layer's SQNR in that case is a ceiling no float island can raise.
 */
async function inputCeilings(g: Graph, ranges: Map<number, Range>, samples: Float32Array[]): Promise<Map<number, number>> {
  const allFloat = new Map(g.ops.map((_, i) => [i, 'ceiling'] as const));
  const cmp = await compareGraphs(g, quantizeGraph(g, ranges, { io: 'int8', keepFloat: allFloat }).graph, samples);
  return new Map(cmp.layers.filter((l) => l.sqnrDb !== null).map((l) => [l.index, l.sqnrDb!]));
}

function floatGraphOf(model: Uint8Array | Graph): Graph {
  const g = model instanceof Uint8Array ? compileModel(model).graph : model;
  if (!g.ops.some((op) => op.inputs.some((t) => t >= 0 && g.tensors[t].dtype === 'float32')))
    throw new QieError('bad_input', 'the model has no float32 tensors to quantize (is it already int8?)');
  return g;
}

const fmt = (x: number | null): string => (x === null ? 'exact' : x.toFixed(1));

/** Quantizes a float model (TFLite bytes or an IR graph) with calibration samples for its single input. */
export async function quantizeFloatModel(model: Uint8Array | Graph, samples: Float32Array[], opts: PtqOptions = {}): Promise<PtqResult> {
  const floatGraph = floatGraphOf(model);
  const method = opts.method ?? 'minmax';
  if (!CALIB_METHODS.includes(method)) throw new QieError('bad_option', `calibration method must be one of ${CALIB_METHODS.join(', ')}; got ${method}`);
  const io = opts.io ?? 'int8';
  if (io !== 'int8' && io !== 'float') throw new QieError('bad_option', `io must be int8 or float; got ${io}`);
  if (floatGraph.inputs.length !== 1) throw new QieError('unsupported_op', `the quantizer takes single-input models; this one has ${floatGraph.inputs.length}`);
  const elements = floatGraph.tensors[floatGraph.inputs[0]].shape.reduce((a, b) => a * b, 1);
  checkSamples(samples, elements);

  const every = opts.holdBackEvery ?? 5;
  const holdBack = every > 0 && samples.length >= every;
  const calib = holdBack ? samples.filter((_, i) => i % every !== every - 1) : samples;
  const evalSet = holdBack ? samples.filter((_, i) => i % every === every - 1) : samples;

  const ranges = await calibrate(floatGraph, calib, method, (d, t) => opts.onProgress?.('calibrate', d, t));

  const ceilings = opts.minSqnr !== undefined && io === 'int8' ? await inputCeilings(floatGraph, ranges, evalSet) : new Map<number, number>();
  const keepFloat = new Map<number, string>();
  let rounds = 0;
  for (;;) {
    const q = quantizeGraph(floatGraph, ranges, { io, keepFloat });
    const cmp = await compareGraphs(floatGraph, q.graph, evalSet, (d, t) => opts.onProgress?.('evaluate', d, t));
    const next = opts.minSqnr === undefined ? undefined : nextFloatLayer(floatGraph, q.decisions, cmp.layers, opts.minSqnr, ceilings);
    if (next && rounds++ < floatGraph.ops.length) {
      keepFloat.set(next.index, next.reason);
      continue;
    }
    const layers = cmp.layers.map((l): LayerReport => {
      const reason = q.decisions[l.index].reason;
      return reason ? { ...l, reason } : l;
    });
    const report: AccuracyReport = {
      method,
      io,
      ...(opts.minSqnr !== undefined ? { minSqnr: opts.minSqnr } : {}),
      calibrationSamples: calib.length,
      evaluationSamples: evalSet.length,
      heldBack: holdBack,
      layers,
      endToEnd: cmp.endToEnd,
      keptFloat: q.decisions.filter((d) => d.precision === 'float32').map((d) => ({ op: d.name, reason: d.reason! })),
    };
    return { tflite: graphToTflite(q.graph), graph: q.graph, floatGraph, decisions: q.decisions, ranges, report };
  }
}

/** The report as a readable table. */
export function formatReport(r: AccuracyReport): string {
  const lines: string[] = [];
  lines.push(`calibration: ${r.calibrationSamples} samples (${r.method}); evaluation: ${r.evaluationSamples} ${r.heldBack ? 'held-back samples' : 'calibration samples (too few to hold any back)'}; io ${r.io}`);
  lines.push(formatLayers(r.layers));
  const e = r.endToEnd;
  lines.push(`end to end: top-1 agreement ${(100 * e.top1Agreement).toFixed(1)}% of ${e.samples}; output max abs error ${e.maxAbsError.toPrecision(3)}, mean abs error ${e.meanAbsError.toPrecision(3)}`);
  if (r.keptFloat.length) {
    lines.push('kept in float:');
    for (const k of r.keptFloat) lines.push(`  ${k.op}: ${k.reason}`);
  }
  return lines.join('\n');
}

export function formatLayers(layers: LayerReport[]): string {
  const rows = [['#', 'op', 'output', 'precision', 'SQNR dB', 'max abs err', 'note']];
  for (const l of layers) rows.push([String(l.index), l.kind, l.output, l.precision, fmt(l.sqnrDb), l.maxAbsError.toPrecision(3), l.reason ?? '']);
  const widths = rows[0].map((_, c) => Math.min(48, Math.max(...rows.map((r) => r[c].length))));
  return rows.map((r) => r.map((cell, c) => (cell.length > widths[c] ? '…' + cell.slice(cell.length - widths[c] + 1) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

/**
 * The synchronous path for callers that know their activation ranges already (a
 * model trained in TypeScript has its own float forward pass): ranges by tensor
 * name for the graph input and every activation, no calibration run, no report.
 */
export function quantizeWithRanges(floatGraph: Graph, rangesByName: Map<string, Range>, io: IoType = 'int8'): { tflite: Uint8Array; graph: Graph; decisions: OpDecision[] } {
  const ranges = new Map<number, Range>();
  floatGraph.tensors.forEach((t, i) => {
    const r = rangesByName.get(t.name);
    if (r) ranges.set(i, r);
  });
  const q = quantizeGraph(floatGraph, ranges, { io });
  return { tflite: graphToTflite(q.graph), graph: q.graph, decisions: q.decisions };
}
