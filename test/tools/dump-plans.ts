// Compiles every shared model to a plan file and writes the case list that the
// C plan runner (csrc/tools/run_plan.c) checks, so the goldens run without Node:
// under sanitizers and, for cross builds, under qemu-user. Also writes the plans
// the runner's fuzzer mutates (fuzz.txt): the small shared models and the
// project's multi-op models that reach every op family.
//   node dist/test/tools/dump-plans.js OUT_DIR [MODEL ...]
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { compileModel } from '../../src/model/compile';
import { BINDING_MODELS } from '../helpers/binding-models';
import { patternBytes } from '../helpers/families';
import { FUZZ_MODELS, fuzzModelBytes, onnxOpsModel } from '../helpers/fuzz-models';
import { buildTflite } from '../helpers/tflite-builder';
import { conformanceDir, listConformanceCases, readConformanceSets } from '../helpers/onnx-cases';
import { ortIntegerConvExact } from '../helpers/ort-exact';
import { loadModel } from '../../src/engine/model';
import type { Graph } from '../../src/model/ir';
import { caseInvokes, ManifestCase } from '../helpers/shared';

/** Shared models small enough to fuzz thousands of times under sanitizers. */
const FUZZ_SHARED = ['hello_world_int8', 'micro_speech', 'magic_wand', 'person_detect'];

interface CaseTensor {
  file: string;
  dtype: string;
}
interface Manifest {
  cases: (ManifestCase & { inputs: CaseTensor[]; outputs: CaseTensor[] })[];
  acceptance?: string;
}

/** Models judged by acceptance run on the reference kernels and auto at 1 thread only
 * (mobilenet_v2_uint8: ~0.2 s a run natively, most of it on reference kernels, and far
 * more under sanitizers and qemu); the API tests run them once more on auto. */
const ACCEPTANCE_LIMIT = 'limit ref,auto 1';

/** The case-list lines of one golden case: legacy uint8 io (uint8Io) flipped to the
 * int8 bytes the plan reads and writes, every invoke of a stateful case, acceptance. */
function goldenCaseLines(name: string, dir: string, planFile: string, flipDir: string, g: Graph, m: Manifest, c: Manifest['cases'][number]): string[] {
  const caseDir = path.join(dir, 'golden', c.name);
  const file = (t: CaseTensor, flip: boolean | undefined) => {
    const src = path.join(caseDir, t.file);
    if (!flip) return src;
    const to = path.join(flipDir, `${name}.${c.name}.${t.file}`);
    writeFileSync(to, readFileSync(src).map((b) => b ^ 0x80));
    return to;
  };
  const lines = [`case ${name}/${c.name} ${planFile}`];
  if (m.acceptance) lines.push(ACCEPTANCE_LIMIT);
  c.inputs.forEach((t, k) => lines.push(`in ${file(t, g.uint8Io?.inputs[k])}`));
  caseInvokes(c).forEach((outs, n) => {
    if (n > 0) lines.push('again');
    outs.forEach((t, k) => {
      const mode = m.acceptance ? `near1 ${c.expected_top1?.index ?? -1}` : t.dtype === 'float32' ? 'f32' : 'raw';
      lines.push(`out ${file(t, g.uint8Io?.outputs[k])} ${mode}`);
    });
  });
  lines.push('end');
  return lines;
}

async function main(): Promise<number> {
  const [outDir, ...only] = process.argv.slice(2);
  if (!outDir) {
    process.stderr.write('usage: dump-plans OUT_DIR [MODEL ...]\n');
    return 2;
  }
  const models = path.resolve(process.cwd(), '..', 'shared', 'models');
  mkdirSync(outDir, { recursive: true });
  const fuzz: string[] = [];
  for (const name of Object.keys(FUZZ_MODELS)) {
    const planFile = path.resolve(outDir, `${name}.plan`);
    writeFileSync(planFile, compileModel(fuzzModelBytes(name)).plan);
    fuzz.push(planFile);
  }
  const onnxOps = path.resolve(outDir, 'fuzz_onnx_ops.plan');
  writeFileSync(onnxOps, compileModel(onnxOpsModel()).plan);
  fuzz.push(onnxOps);
  if (!existsSync(models)) {
    process.stdout.write(`NOTICE: ${models} is absent: no golden plans written\n`);
    writeFileSync(path.join(outDir, 'cases.txt'), `notice ${models} is absent: no golden or ONNX plans to check\n`);
    writeFileSync(path.join(outDir, 'fuzz.txt'), fuzz.join('\n') + '\n');
    return 0;
  }
  const lines: string[] = [];
  for (const name of readdirSync(models).sort()) {
    if (only.length && !only.includes(name)) continue;
    const dir = path.join(models, name);
    const file = path.join(dir, 'model.tflite');
    if (!existsSync(file)) continue;
    const { plan, graph } = compileModel(readFileSync(file));
    const planFile = path.resolve(outDir, `${name}.plan`);
    writeFileSync(planFile, plan);
    if (FUZZ_SHARED.includes(name)) fuzz.push(planFile);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'golden', 'manifest.json'), 'utf8')) as Manifest;
    const flipDir = path.resolve(outDir, 'uint8');
    mkdirSync(flipDir, { recursive: true });
    for (const c of manifest.cases) lines.push(...goldenCaseLines(name, dir, planFile, flipDir, graph, manifest, c));
  }
  lines.push(...(await bindingPlans(outDir)));
  lines.push(...onnxConformancePlans(outDir, fuzz));
  lines.push(...(await onnxModelPlans(outDir, models)));
  writeFileSync(path.join(outDir, 'cases.txt'), lines.join('\n') + '\n');
  writeFileSync(path.join(outDir, 'fuzz.txt'), fuzz.join('\n') + '\n');
  process.stdout.write(`wrote ${lines.filter((l) => l.startsWith('case')).length} cases to ${outDir}/cases.txt\n`);
  return 0;
}

/** The kernel binding's models that run (weights or bias not constants of the
 * model): every family must give the reference kernels' bytes. */
async function bindingPlans(outDir: string): Promise<string[]> {
  const lines: string[] = [];
  const planDir = path.join(outDir, 'binding');
  mkdirSync(planDir, { recursive: true });
  for (const [name, m] of Object.entries(BINDING_MODELS)) {
    if (m.expect !== 'ref_bytes') continue;
    const bytes = buildTflite(m.spec());
    const planFile = path.resolve(planDir, `${name}.plan`);
    writeFileSync(planFile, compileModel(bytes).plan);
    const ref = await loadModel(bytes, { kernels: 'ref' });
    const inputs = ref.inputs.map((t, k) => patternBytes(t.bytes, 1 + k));
    const outputs = await ref.run(inputs);
    lines.push(`case binding/${name} ${planFile}`);
    inputs.forEach((data, k) => {
      const f = path.resolve(planDir, `${name}.input_${k}.bin`);
      writeFileSync(f, data);
      lines.push(`in ${f}`);
    });
    outputs.forEach((o, k) => {
      const f = path.resolve(planDir, `${name}.ref_output_${k}.bin`);
      writeFileSync(f, new Uint8Array(o.buffer, o.byteOffset, o.byteLength));
      lines.push(`out ${f} raw`);
    });
    lines.push('end');
    ref.dispose();
  }
  return lines;
}

/** ONNX conformance cases (runtime-scale Q/DQ, integer matmul/conv) as plans with
 * their inputs and outputs as raw files; their plans are small, so all are fuzzed. */
function onnxConformancePlans(outDir: string, fuzz: string[]): string[] {
  const dir = conformanceDir();
  if (!dir) return [];
  const lines: string[] = [];
  const planDir = path.join(outDir, 'onnx');
  mkdirSync(planDir, { recursive: true });
  // a QDQ model: int8 conv / depthwise conv / fully connected in ONNX's requantization
  const qdq = path.resolve(dir, '..', '..', 'models', 'person_detect', 'model.qdq.onnx');
  if (existsSync(qdq)) {
    const planFile = path.resolve(planDir, 'person_detect.qdq.fuzz.plan');
    writeFileSync(planFile, compileModel(readFileSync(qdq)).plan);
    fuzz.push(planFile);
  }
  for (const name of listConformanceCases()) {
    const planFile = path.resolve(planDir, `${name}.plan`);
    writeFileSync(planFile, compileModel(readFileSync(path.join(dir, name, 'model.onnx'))).plan);
    fuzz.push(planFile);
    for (const set of readConformanceSets(name)) {
      lines.push(`case onnx/${name}/${set.name} ${planFile}`);
      const write = (kind: string, k: number, data: Uint8Array) => {
        const f = path.resolve(planDir, `${name}.${set.name}.${kind}_${k}.bin`);
        writeFileSync(f, data);
        return f;
      };
      set.inputs.forEach((t, k) => lines.push(`in ${write('input', k, t.data)}`));
      set.outputs.forEach((t, k) => lines.push(`out ${write('output', k, t.data)} ${t.dtype === 'float32' ? 'f32' : 'raw'}`));
      lines.push('end');
    }
  }
  return lines;
}

/** The shared QDQ models (model.qdq.onnx) on their golden inputs, with ONNX
 * Runtime's outputs as the expected bytes: qie matches them exactly, so the ONNX
 * requantization path is checked on every ISA the runner runs on. Where ORT is not
 * exact (x86-64 without VNNI), qie's reference kernels give the expected bytes, so
 * the other families are still held to them. */
async function onnxModelPlans(outDir: string, models: string): Promise<string[]> {
  let ort: any;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    ort = require('onnxruntime-node');
  } catch {
    process.stdout.write('NOTICE: onnxruntime-node is not loadable: no ONNX model cases written\n');
    return [];
  }
  const lines: string[] = [];
  const planDir = path.join(outDir, 'onnx');
  mkdirSync(planDir, { recursive: true });
  const exactness = ortIntegerConvExact();
  if (!exactness.exact) process.stdout.write(`NOTICE: ${exactness.reason}: the ONNX model cases expect qie's reference kernels' bytes, not ORT's\n`);
  for (const name of readdirSync(models).sort()) {
    const file = path.join(models, name, 'model.qdq.onnx');
    if (!existsSync(file)) continue;
    const planFile = path.resolve(planDir, `${name}.qdq.plan`);
    writeFileSync(planFile, compileModel(readFileSync(file)).plan);
    const session = await ort.InferenceSession.create(file, { logSeverityLevel: 3 });
    // where ORT is not exact, the reference kernels give the expected bytes
    const ref = exactness.exact ? undefined : await loadModel(file, { kernels: 'ref' });
    const manifest = JSON.parse(readFileSync(path.join(models, name, 'golden', 'manifest.json'), 'utf8')) as Manifest & {
      cases: { inputs: (CaseTensor & { shape: number[] })[] }[];
    };
    for (const c of manifest.cases) {
      if (c.inputs.length !== 1 || c.inputs[0].dtype !== 'int8') continue;
      const input = path.join(models, name, 'golden', c.name, c.inputs[0].file);
      const bytes = readFileSync(input);
      const feed = new ort.Tensor('int8', new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length), c.inputs[0].shape);
      let out = (await session.run({ [session.inputNames[0]]: feed }))[session.outputNames[0]].data as Int8Array;
      if (ref) out = (await ref.run([bytes]))[0] as Int8Array;
      const expected = path.resolve(planDir, `${name}.${c.name}.${exactness.exact ? 'ort' : 'ref'}_output_0.bin`);
      writeFileSync(expected, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      lines.push(`case onnx/${name}.qdq/${c.name} ${planFile}`, `in ${input}`, `out ${expected} raw`, 'end');
    }
    ref?.dispose();
  }
  return lines;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`dump-plans: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  },
);
