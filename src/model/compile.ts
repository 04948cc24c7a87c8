// File bytes -> IR -> passes -> plan: the whole model path on the TS side.
import { QieError } from '../errors';
import { importTflite } from './import/tflite';
import type { Graph } from './ir';
import { runPasses } from './passes';
import { writePlan } from './plan';

export type ModelFormat = 'tflite' | 'onnx';

export function detectFormat(bytes: Uint8Array): ModelFormat {
  if (bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === 'TFL3') return 'tflite';
  // an ONNX ModelProto starts with a protobuf field tag (ir_version = field 1, varint)
  if (bytes.length >= 2 && bytes[0] === 0x08) return 'onnx';
  throw new QieError('model_invalid', 'not a model qie reads: expected a TFLite flatbuffer (identifier TFL3) or an ONNX protobuf');
}

export interface Compiled {
  graph: Graph;
  plan: Uint8Array;
  format: ModelFormat;
}

export interface CompileOptions {
  /**
   * Make every intermediate activation an extra graph output (after the model's own
   * outputs, in op order), so a run returns all of them: the quantization toolchain
   * calibrates and compares models layer by layer this way. The runtime takes at
   * most 64 graph outputs; src/quant/runner.ts exposes bigger graphs in slices.
   */
  exposeTensors?: boolean;
}

export function compileModel(bytes: Uint8Array, opts: CompileOptions = {}): Compiled {
  const format = detectFormat(bytes);
  if (format === 'onnx') throw new QieError('unsupported_op', 'ONNX models are not supported yet by this build');
  let graph = runPasses(importTflite(bytes));
  if (opts.exposeTensors) graph = exposeTensors(graph);
  return { graph, plan: writePlan(graph), format };
}

/** Activations written by an op that are not graph outputs (nor constants or recurrent state), in op order. */
export function intermediateTensors(g: Graph): number[] {
  const seen = new Set([...g.outputs, ...g.inputs]);
  const out: number[] = [];
  for (const op of g.ops) {
    for (const t of op.outputs) {
      if (seen.has(t) || g.tensors[t].data || g.tensors[t].variable) continue;
      seen.add(t);
      out.push(t);
    }
  }
  return out;
}

/**
 * The same graph with intermediate activations (all of them, or the listed ones)
 * also listed as graph outputs. Outputs live to the end of a run in the arena, so
 * the arena grows; the arithmetic is unchanged.
 */
export function exposeTensors(g: Graph, only?: number[]): Graph {
  const extra = only ?? intermediateTensors(g);
  const outputs = [...g.outputs, ...extra];
  const uint8Io = g.uint8Io && { inputs: g.uint8Io.inputs, outputs: [...g.uint8Io.outputs, ...extra.map(() => false)] };
  return { ...g, outputs, ...(uint8Io ? { uint8Io } : {}) };
}
