// Kernel families and threads: every family this CPU runs, at any thread count
// (set at load or changed with setThreads between runs), gives the golden bytes.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { loadModel, QieError } from '../src';
import { readCase, sharedDir } from './helpers/shared';

const CLI = path.resolve('dist/src/cli/qie.js');
const qie = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

const shared = sharedDir();
const FAMILIES = ['ref', 'avx2', 'avx512vnni', 'neon', 'neondot'];

async function availableFamilies(model: string): Promise<string[]> {
  const found: string[] = [];
  for (const kernels of FAMILIES) {
    try {
      const m = await loadModel(model, { kernels });
      found.push(m.kernelFamily);
      m.dispose();
    } catch (e) {
      if (!(e instanceof QieError) || e.code !== 'bad_option') throw e;
    }
  }
  return found;
}

if (!shared) {
  test('threads and kernel families (skipped)', (t) => {
    t.log('NOTICE: ../shared is absent: kernel family and thread tests skipped');
    t.pass();
  });
} else {
  const person = `${shared}/models/person_detect/model.tflite`;
  const mobilenet = `${shared}/models/mobilenet_v2/model.tflite`;

  test('setThreads changes nothing in the output bytes (1, 2, 4 threads)', async (t) => {
    for (const [file, name, caseName] of [
      [person, 'person_detect', 'person_tflm_test'],
      [mobilenet, 'mobilenet_v2', 'random_0'],
    ]) {
      const data = readCase(name, caseName);
      const m = await loadModel(file, { threads: 4 });
      t.teardown(() => m.dispose());
      t.is(m.maxThreads, 4);
      for (const n of [1, 2, 4, 2]) {
        await m.setThreads(n);
        t.is(m.threads, n);
        const [out] = await m.run([data.inputs[0].data]);
        t.deepEqual(Buffer.from(out.buffer, out.byteOffset, out.byteLength), data.outputs[0].data, `${name} at ${n} threads`);
      }
    }
  });

  test('setThreads refuses counts outside 1..the load-time threads', async (t) => {
    const m = await loadModel(person, { threads: 2 });
    t.teardown(() => m.dispose());
    for (const n of [0, 3, 1.5, -1]) t.is(t.throws(() => m.setThreads(n), { instanceOf: QieError })!.code, 'bad_option');
    const one = await loadModel(person);
    t.teardown(() => one.dispose());
    t.is(one.maxThreads, 1);
    t.is(t.throws(() => one.setThreads(2), { instanceOf: QieError })!.code, 'bad_option');
  });

  test('every kernel family this CPU runs gives the golden bytes', async (t) => {
    const families = await availableFamilies(person);
    t.log(`families here: ${families.join(', ')}`);
    t.true(families.includes('ref'));
    for (const kernels of families) {
      for (const [file, name, caseName] of [
        [person, 'person_detect', 'no_person_tflm_test'],
        [mobilenet, 'mobilenet_v2', 'random_1'],
      ]) {
        const data = readCase(name, caseName);
        const m = await loadModel(file, { kernels, threads: 2 });
        t.teardown(() => m.dispose());
        t.is(m.kernelFamily, kernels);
        const [out] = await m.run([data.inputs[0].data]);
        t.deepEqual(Buffer.from(out.buffer, out.byteOffset, out.byteLength), data.outputs[0].data, `${name} with ${kernels}`);
      }
    }
  });

  test('auto picks the best family; convolutions name it in their kernel', async (t) => {
    const families = await availableFamilies(person);
    const best = families.includes('avx512vnni') ? 'avx512vnni' : families.includes('neondot') ? 'neondot' : families.find((f) => f !== 'ref') ?? 'ref';
    const m = await loadModel(person, { kernels: 'auto' });
    t.teardown(() => m.dispose());
    t.is(m.kernelFamily, best);
    const conv = m.ops.find((o) => o.kind === 'CONV_2D')!;
    t.true(conv.kernel.endsWith(`__${best}`), conv.kernel);
    const r = qie('inspect', person, '--json');
    t.is(r.status, 0, r.stderr);
    t.is(JSON.parse(r.stdout).kernels, best);
  });

  test('a family this CPU or build lacks is refused with the reason', async (t) => {
    const families = await availableFamilies(person);
    const missing = FAMILIES.find((f) => !families.includes(f));
    if (!missing) return t.pass();
    const err = await t.throwsAsync(loadModel(person, { kernels: missing }), { instanceOf: QieError });
    t.is(err!.code, 'bad_option');
    t.regex(err!.message, new RegExp(`kernel family '${missing}': `));
    const r = qie('inspect', person, '--kernels', missing);
    t.is(r.status, 1);
    t.regex(r.stderr, /bad_option: .*kernel family/);
  });
}
