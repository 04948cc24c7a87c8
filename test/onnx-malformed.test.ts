// Malformed ONNX files: truncated at many lengths and byte-mutated variants of a
// real model each load (and then run) or are refused with a QieError; none
// crashes, hangs or throws anything else. External data is refused by name.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { loadModel, QieError } from '../src';
import { seededRandom } from '../src/util/random';
import { onnxModel } from './helpers/onnx-build';
import { conformanceDir, listConformanceCases } from './helpers/onnx-cases';
import { modelPath, sharedDir } from './helpers/shared';

async function tryModel(bytes: Uint8Array): Promise<string> {
  try {
    const m = await loadModel(bytes, { kernels: 'ref' });
    try {
      await m.run(m.inputs.map((i) => Buffer.alloc(i.bytes)));
    } finally {
      m.dispose();
    }
    return 'ran';
  } catch (e) {
    if (!(e instanceof QieError)) throw e;
    return e.code;
  }
}

test('external data is refused with a clear error', async (t) => {
  const bytes = onnxModel({
    nodes: [{ op: 'Add', inputs: ['x', 'w'], outputs: ['y'] }],
    inputs: [{ name: 'x', type: 1, dims: [4] }],
    outputs: [{ name: 'y', type: 1, dims: [4] }],
    initializers: [{ name: 'w', type: 1, dims: [4], external: true }],
  });
  await t.throwsAsync(loadModel(bytes), { code: 'unsupported_op', message: /external/ });
});

test('not ONNX / empty graph / unknown op', async (t) => {
  await t.throwsAsync(loadModel(Uint8Array.from([0x08, 0x07, 0xff, 0xff])), { instanceOf: QieError });
  const unknown = onnxModel({ nodes: [{ op: 'Frobnicate', inputs: ['x'], outputs: ['y'] }], inputs: [{ name: 'x', type: 1, dims: [2] }], outputs: [{ name: 'y', type: 1, dims: [2] }] });
  await t.throwsAsync(loadModel(unknown), { code: 'unsupported_op', message: /Frobnicate/ });
  const dangling = onnxModel({ nodes: [{ op: 'Relu', inputs: ['nope'], outputs: ['y'] }], inputs: [{ name: 'x', type: 1, dims: [2] }], outputs: [{ name: 'y', type: 1, dims: [2] }] });
  await t.throwsAsync(loadModel(dangling), { code: 'model_invalid', message: /nope/ });
  const wrongShape = onnxModel({ nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }], inputs: [{ name: 'x', type: 1, dims: [2] }], outputs: [{ name: 'y', type: 1, dims: [3] }] });
  await t.throwsAsync(loadModel(wrongShape), { code: 'model_invalid', message: /declared with shape \[3\] but computes \[2\]/ });
});

const confDir = conformanceDir();
if (confDir) {
  test('every conformance model, truncated and byte-mutated 400 times, loads and runs or is refused', async (t) => {
    const rand = seededRandom(26);
    const counts: Record<string, number> = {};
    for (const name of listConformanceCases()) {
      const original = readFileSync(`${confDir}/${name}/model.onnx`);
      for (let n = 0; n < original.length; n += 7) {
        const r = await tryModel(original.subarray(0, n));
        counts[r] = (counts[r] ?? 0) + 1;
      }
      for (let v = 0; v < 400; v++) {
        const bytes = Uint8Array.from(original);
        const flips = 1 + Math.floor(rand() * 3);
        for (let f = 0; f < flips; f++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
        const r = await tryModel(bytes);
        counts[r] = (counts[r] ?? 0) + 1;
      }
    }
    t.log(`conformance model variants: ${JSON.stringify(counts)}`);
    t.pass();
  });
}

if (!sharedDir()) {
  test('malformed real ONNX models (skipped)', (t) => {
    t.log('NOTICE: ../shared is absent: ONNX mutation tests skipped');
    t.pass();
  });
} else {
  const original = readFileSync(modelPath('person_detect', 'model.qdq.onnx'));

  test('truncated person_detect.qdq.onnx: every cut is refused or runs', async (t) => {
    const counts: Record<string, number> = {};
    const cuts = new Set<number>();
    for (let n = 0; n < 256; n++) cuts.add(n);
    for (let k = 0; k < 300; k++) cuts.add(Math.floor((k * original.length) / 300));
    for (const n of cuts) {
      const r = await tryModel(original.subarray(0, n));
      counts[r] = (counts[r] ?? 0) + 1;
    }
    t.log(`${cuts.size} truncations: ${JSON.stringify(counts)}`);
    t.true((counts.model_invalid ?? 0) > cuts.size / 2);
  });

  test('600 byte-mutated person_detect.qdq.onnx variants load and run or are refused', async (t) => {
    const rand = seededRandom(20261128);
    const counts: Record<string, number> = {};
    for (let v = 0; v < 600; v++) {
      const bytes = Uint8Array.from(original);
      const flips = 1 + Math.floor(rand() * 4);
      for (let f = 0; f < flips; f++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      const r = await tryModel(bytes);
      counts[r] = (counts[r] ?? 0) + 1;
    }
    t.log(`600 variants: ${JSON.stringify(counts)}`);
    t.pass();
  });
}
