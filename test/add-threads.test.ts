// int8 ADD / SUB of same-shape inputs run in slices on the thread pool
// (csrc/ops/elementwise.c): the bytes must not depend on the thread count, and
// must match the reference kernels. The size is past the point where the op splits.
import test from 'ava';
import { loadModel } from '../src';
import { ints, oneOpModel, q8 } from './helpers/ops-helpers';
import { buildTflite } from './helpers/tflite-builder';

const N = 1 + 56 * 56 * 24; // odd: the last slice is a partial one

for (const op of ['ADD', 'SUB']) {
  test(`int8 ${op} of ${N} elements: same bytes at 1, 2 and 4 threads, every kernel family`, async (t) => {
    const bytes = buildTflite(
      oneOpModel({ op, ins: [q8([N], 0.05, 3), q8([N], 0.07, -9)], outs: [q8([N], 0.1, -2)], options: { activation: 'RELU6' } }),
    );
    const a = Int8Array.from(ints(N, -128, 127, 3));
    const b = Int8Array.from(ints(N, -128, 127, 4));
    const run = async (kernels: string, threads: number) => {
      const m = await loadModel(bytes, { kernels, threads });
      try {
        return Array.from((await m.run([a, b]))[0] as Int8Array);
      } finally {
        m.dispose();
      }
    };
    const want = await run('ref', 1);
    t.true(new Set(want).size > 10, 'outputs vary');
    for (const kernels of ['ref', 'auto'])
      for (const threads of [1, 2, 4]) t.deepEqual(await run(kernels, threads), want, `${kernels} ${threads} threads`);
  });
}
