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
}

export function compileModel(bytes: Uint8Array, opts: CompileOptions = {}): Compiled {
  const format = detectFormat(bytes);
  if (format === 'onnx') {
    let graph: Graph;
    try {
      graph = runOnnxPasses(importOnnx(bytes), { floatOps: opts.floatOps ?? [] });
    } catch (e) {
      if (e instanceof QieError) throw e;
      // a malformed graph the importer's checks let through must still be a model error
      throw new QieError('model_invalid', `invalid ONNX model (unexpected: ${e instanceof Error ? e.message : String(e)})`);
    }
    return { graph, plan: writePlan(graph), format };
  }
  if (opts.floatOps?.length) throw new QieError('bad_option', 'floatOps applies to ONNX models only');
  const graph = runPasses(importTflite(bytes));
  return { graph, plan: writePlan(graph), format };
}
