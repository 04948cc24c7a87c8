// Access to the shared reference material (../shared relative to the project
// root, i.e. process.cwd() when tests run): models and their TFLite Micro goldens.
import * as fs from 'fs';
import * as path from 'path';

export interface ManifestTensor {
  file: string;
  dtype: string;
  shape: number[];
  scale: number;
  zero_point: number;
}

export interface ManifestCase {
  name: string;
  inputs: ManifestTensor[];
  outputs: ManifestTensor[];
  note?: string;
  /** Stateful models: the outputs of consecutive invokes with the same inputs (invoke 1 = outputs). */
  invokes?: (ManifestTensor & { invoke: number })[];
  /** Models judged by acceptance instead of bytes: the class the output must rank first. */
  expected_top1?: { index: number; label?: string };
}

export interface Manifest {
  reference?: string;
  model_sha256?: string;
  arena_used_bytes?: number;
  invoke_ms_median_x86_reference?: number;
  stateful_across_invokes?: boolean;
  /** TFLite op name -> count (absent from some manifests). */
  ops?: Record<string, number>;
  /** Set where the goldens are not bit-exact references (see acceptance.ts). */
  acceptance?: string;
  cases: ManifestCase[];
  [key: string]: unknown;
}

export interface CaseTensor extends ManifestTensor {
  data: Buffer;
}

export interface LoadedCase {
  name: string;
  note?: string;
  inputs: CaseTensor[];
  outputs: CaseTensor[];
  /** outputs of invoke 1, 2, ... on one model with the same inputs: [outputs] for a stateless model */
  invokes: CaseTensor[][];
  expectedTop1?: number;
}

/** The outputs of each invoke, in order: from the manifest's `invokes`, or the outputs alone. */
export function caseInvokes(c: ManifestCase): ManifestTensor[][] {
  if (!c.invokes?.length) return [c.outputs];
  const n = Math.max(...c.invokes.map((t) => t.invoke));
  return Array.from({ length: n }, (_, k) => c.invokes!.filter((t) => t.invoke === k + 1));
}

/** The shared directory, or undefined when it is not there (tests should skip with a t.log). */
export function sharedDir(): string | undefined {
  const dir = path.resolve(process.cwd(), '..', 'shared');
  return fs.existsSync(path.join(dir, 'models')) ? dir : undefined;
}

function requireShared(): string {
  const dir = sharedDir();
  if (!dir) throw new Error(`shared reference directory not found at ${path.resolve(process.cwd(), '..', 'shared')}`);
  return dir;
}

/** Names of the models under shared/models that have a model.tflite. */
export function listModels(): string[] {
  const dir = sharedDir();
  if (!dir) return [];
  return fs
    .readdirSync(path.join(dir, 'models'))
    .filter((m) => fs.existsSync(path.join(dir, 'models', m, 'model.tflite')))
    .sort();
}

export function modelDir(model: string): string {
  return path.join(requireShared(), 'models', model);
}

/** Path of a model file: 'model.tflite' by default, or e.g. 'model.qdq.onnx'. */
export function modelPath(model: string, file = 'model.tflite'): string {
  return path.join(modelDir(model), file);
}

export function loadManifest(model: string): Manifest {
  return JSON.parse(fs.readFileSync(path.join(modelDir(model), 'golden', 'manifest.json'), 'utf8')) as Manifest;
}

export function readCase(model: string, caseName: string): LoadedCase {
  const m = loadManifest(model);
  const c = m.cases.find((x) => x.name === caseName);
  if (!c) throw new Error(`model ${model} has no case ${caseName} (cases: ${m.cases.map((x) => x.name).join(', ')})`);
  const dir = path.join(modelDir(model), 'golden', c.name);
  const load = (t: ManifestTensor): CaseTensor => ({ ...t, data: fs.readFileSync(path.join(dir, t.file)) });
  return {
    name: c.name,
    note: c.note,
    inputs: c.inputs.map(load),
    outputs: c.outputs.map(load),
    invokes: caseInvokes(c).map((outs) => outs.map(load)),
    expectedTop1: c.expected_top1?.index,
  };
}
