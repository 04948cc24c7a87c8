// Malformed models never crash or hang the process: truncations and thousands of
// byte-flipped variants either run or are refused with a QieError; mutated plans
// are refused by the C runtime's validation or run safely; and 20,000 mutated
// TFLite and ONNX models, each through loadModel and run on every kernel family
// this CPU runs (in child processes, so a crash is reported with the mutant that
// caused it), run with the same bytes on every family or are refused alike.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { loadModel, QieError } from '../src';
import { compileModel } from '../src/model/compile';
import { native } from '../src/engine/native';
import { seededRandom } from '../src/util/random';
import { availableFamilies } from './helpers/families';
import { describe, fuzzModels } from './helpers/fuzz-runner';
import { sharedDir } from './helpers/shared';

const shared = sharedDir();

async function tryModel(bytes: Uint8Array): Promise<'ran' | 'refused'> {
  let model;
  try {
    model = await loadModel(bytes);
  } catch (e) {
    if (e instanceof QieError) return 'refused';
    throw e;
  }
  try {
    await model.run(model.inputs.map((i) => Buffer.alloc(i.bytes)));
    return 'ran';
  } catch (e) {
    if (e instanceof QieError) return 'refused';
    throw e;
  } finally {
    model.dispose();
  }
}

// QIE_FUZZ_MODELS changes the count for a local run (CI keeps the default)
const MODELS = Number(process.env.QIE_FUZZ_MODELS ?? 20_000);

test(`${MODELS} mutated TFLite and ONNX models run alike or are refused on every kernel family`, async (t) => {
  const families = availableFamilies();
  const r = await fuzzModels({ seed: 20261207, count: MODELS, families, workers: 2, hangMs: 60_000 });
  for (const line of describe(r)) t.log(line);
  for (const f of [...r.crashes, ...r.hangs]) t.log(`${f.what}: mutant ${f.index} (${f.source}, ${f.kind}); rerun: ${f.rerun}`);
  for (const line of [...r.errors, ...r.disagreements].slice(0, 20)) t.log(line);
  t.is(r.models + r.crashes.length + r.hangs.length, MODELS);
  t.deepEqual(r.crashes, [], 'no mutant crashes the engine');
  t.deepEqual(r.hangs, [], 'no mutant hangs');
  t.deepEqual(r.errors, [], 'every refusal is a QieError');
  t.deepEqual(r.disagreements, [], 'every family runs a mutant with the same bytes, or refuses it alike');
  t.true((r.byFormat.tflite ?? 0) > 0 && (r.byFormat.onnx ?? 0) > 0, 'both formats fuzzed');
  for (const f of families) t.true(r.perFamily[f].ran > 0 && r.perFamily[f].refused > 0, `${f} both ran and refused mutants`);
});

if (!shared) {
  test('fuzz (skipped)', (t) => {
    t.log('NOTICE: ../shared is absent: fuzz tests skipped');
    t.pass();
  });
} else {
  const original = readFileSync(`${shared}/models/person_detect/model.tflite`);

  test('truncated person_detect files are refused', async (t) => {
    const lengths = [0, 1, 4, 8, 16, 100, 1000, 5000, 50_000, 150_000, original.length - 100, original.length - 1];
    for (const n of lengths) t.is(await tryModel(original.subarray(0, n)), 'refused', `truncated to ${n}`);
  });

  test('2,000 byte-flipped variants of person_detect run or are refused', async (t) => {
    const random = seededRandom(20261128);
    const counts = { ran: 0, refused: 0 };
    // half the mutations hit the flatbuffer's tables (the first and last few KB hold
    // offsets, shapes and indices); the rest anywhere
    const tail = 8192;
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(original);
      const flips = 1 + Math.floor(random() * 4);
      for (let k = 0; k < flips; k++) {
        const structural = random() < 0.5;
        const at = structural
          ? random() < 0.5
            ? Math.floor(random() * 2048)
            : bytes.length - 1 - Math.floor(random() * tail)
          : Math.floor(random() * bytes.length);
        bytes[at] = random() < 0.5 ? bytes[at] ^ (1 << Math.floor(random() * 8)) : Math.floor(random() * 256);
      }
      counts[await tryModel(bytes)]++;
    }
    t.log(`2000 variants: ${counts.ran} ran, ${counts.refused} refused`);
    t.is(counts.ran + counts.refused, 2000);
    t.true(counts.refused > 0);
  });

  test('mutated plans are validated by the C runtime', async (t) => {
    const { plan } = compileModel(original);
    const random = seededRandom(7);
    // mutate the tables (header, tensors, ops, indices, quant params), not the weights
    const tablesEnd = new DataView(plan.buffer, plan.byteOffset).getUint32(16 * 4, true); // blob offset
    const counts = { ran: 0, refused: 0 };
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from(plan);
      const flips = 1 + Math.floor(random() * 3);
      for (let k = 0; k < flips; k++) {
        const at = Math.floor(random() * tablesEnd);
        bytes[at] = random() < 0.7 ? bytes[at] ^ (1 << Math.floor(random() * 8)) : Math.floor(random() * 256);
      }
      let handle;
      try {
        handle = native.create(bytes);
      } catch (e) {
        t.true(e instanceof QieError && ['model_invalid', 'unsupported_op', 'bad_option'].includes(e.code), String(e));
        counts.refused++;
        continue;
      }
      try {
        const info = native.info(handle);
        await native.run(handle, info.inputs.map((x) => new Uint8Array(x.bytes)));
        counts.ran++;
      } catch (e) {
        t.true(e instanceof QieError, String(e));
        counts.refused++;
      } finally {
        native.dispose(handle);
      }
    }
    t.log(`2000 mutated plans: ${counts.ran} ran, ${counts.refused} refused`);
    t.is(counts.ran + counts.refused, 2000);
    t.true(counts.refused > 500, 'most structural mutations are caught by validation');
  });
}
