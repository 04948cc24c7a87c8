// File bytes -> IR -> passes -> plan: the whole model path on the TS side.
import { QieError } from '../errors';
import { importOnnx } from './import/onnx';
import { importTflite } from './import/tflite';
import type { Graph } from './ir';
import { runOnnxPasses, runPasses } from './passes';
import { writePlan } from './plan';

export type ModelFormat = 'tflite' | 'onnx';

const ONNX_FIRST_TAGS = [0x08, 0x12, 0x1a, 0x22, 0x28, 0x32, 0x3a, 0x42];

export function detectFormat(bytes: Uint8Array): ModelFormat {
  if (bytes.length >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === 'TFL3') return 'tflite';
  // an ONNX ModelProto starts with the protobuf tag of one of its fields: ir_version
  // (field 1, varint) in practice; producer, domain, model version, doc string,
  // graph or opset import (fields 2-8) from writers that order fields otherwise
  if (bytes.length >= 2 && ONNX_FIRST_TAGS.includes(bytes[0])) return 'onnx';
  throw new QieError('model_invalid', 'not a model qie reads: expected a TFLite flatbuffer (identifier TFL3) or an ONNX protobuf');
}

export interface Compiled {
  graph: Graph;
  plan: Uint8Array;
  format: ModelFormat;
}

export interface CompileOptions {
  /** ONNX node names of quantized layers to keep in float32. */
  floatOps?: string[];
  /**
   * Make every intermediate activation an extra graph output (after the model's own
   * outputs, in op order), so a run returns all of them: the quantization toolchain
   * calibrates and compares models layer by layer this way. The runtime takes at
   * most 64 graph outputs; src/quant/runner.ts exposes bigger graphs in slices.
   */
  exposeTensors?: boolean;
  /** Internal, for tests: false keeps PAD ops unfolded (see passes/fold-pad.ts). */
  foldPad?: boolean;
}

export function compileModel(bytes: Uint8Array, opts: CompileOptions = {}): Compiled {
  const format = detectFormat(bytes);
  let graph: Graph;
  if (format === 'onnx') {
    try {
      graph = runOnnxPasses(importOnnx(bytes), { floatOps: opts.floatOps ?? [], foldPad: opts.foldPad });
    } catch (e) {
      if (e instanceof QieError) throw e;
      // a malformed graph the importer's checks let through must still be a model error
      throw new QieError('model_invalid', `invalid ONNX model (unexpected: ${e instanceof Error ? e.message : String(e)})`);
    }
  } else {
    if (opts.floatOps?.length) throw new QieError('bad_option', 'floatOps applies to ONNX models only');
    graph = runPasses(importTflite(bytes), { foldPad: opts.foldPad });
  }
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
