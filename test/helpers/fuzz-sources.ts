// The models the model fuzzer mutates, TFLite and ONNX: the small shared models
// and their QDQ exports, the ONNX conformance models, and the project's models
// that reach every op family and the kernel binding's edge cases. `weight` is how
// often a source is drawn: large models run slowly on the reference kernels.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { BINDING_MODELS } from './binding-models';
import { FUZZ_MODELS, fuzzModelBytes, onnxOpsModel } from './fuzz-models';
import { conformanceDir, listConformanceCases } from './onnx-cases';
import { sharedDir } from './shared';
import { buildTflite } from './tflite-builder';

export interface FuzzSource {
  name: string;
  format: 'tflite' | 'onnx';
  bytes: Uint8Array;
  weight: number;
}

const SHARED_TFLITE: Record<string, number> = { hello_world_int8: 6, micro_speech: 6, magic_wand: 6, person_detect: 4 };

export function fuzzSources(): FuzzSource[] {
  const sources: FuzzSource[] = [];
  for (const name of Object.keys(FUZZ_MODELS)) sources.push({ name, format: 'tflite', bytes: fuzzModelBytes(name), weight: 6 });
  for (const [name, m] of Object.entries(BINDING_MODELS)) sources.push({ name: `binding_${name}`, format: 'tflite', bytes: buildTflite(m.spec()), weight: 2 });
  sources.push({ name: 'fuzz_onnx_ops', format: 'onnx', bytes: onnxOpsModel(), weight: 8 });
  const shared = sharedDir();
  if (shared) {
    for (const [name, weight] of Object.entries(SHARED_TFLITE)) {
      const file = path.join(shared, 'models', name, 'model.tflite');
      if (existsSync(file)) sources.push({ name, format: 'tflite', bytes: readFileSync(file), weight });
    }
    const qdq = path.join(shared, 'models', 'person_detect', 'model.qdq.onnx');
    if (existsSync(qdq)) sources.push({ name: 'person_detect.qdq', format: 'onnx', bytes: readFileSync(qdq), weight: 4 });
  }
  const conf = conformanceDir();
  for (const name of conf ? listConformanceCases() : [])
    sources.push({ name: `onnx/${name}`, format: 'onnx', bytes: readFileSync(path.join(conf!, name, 'model.onnx')), weight: 1 });
  return sources;
}

/** Draws a source by weight. */
export function drawSource(sources: FuzzSource[], r: () => number): FuzzSource {
  const total = sources.reduce((s, x) => s + x.weight, 0);
  let at = r() * total;
  for (const s of sources) {
    at -= s.weight;
    if (at < 0) return s;
  }
  return sources[sources.length - 1];
}
