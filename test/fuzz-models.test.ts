// The multi-op models the C plan fuzzer mutates must themselves be valid: each
// loads, runs, and gives the same bytes twice (stateless) or evolves with its state.
import test from 'ava';
import { loadModel } from '../src';
import { FUZZ_MODELS, fuzzModelBytes } from './helpers/fuzz-models';

for (const name of Object.keys(FUZZ_MODELS)) {
  test(`${name} loads and runs`, async (t) => {
    const model = await loadModel(fuzzModelBytes(name));
    t.teardown(() => model.dispose());
    const inputs = model.inputs.map((m) => {
      const bytes = Buffer.alloc(m.bytes);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37 + 11) & 0xff;
      if (m.dtype === 'float32') return new Float32Array(bytes.length / 4).map((_, i) => Math.sin(i));
      return bytes;
    });
    const first = await model.run(inputs);
    t.true(first.length >= 1);
    t.log(`${name}: ${model.ops.length} ops (${[...new Set(model.ops.map((o) => o.kind))].join(', ')}), arena ${model.arenaBytes} bytes`);
    if (name === 'fuzz_float_state') {
      const second = await model.run(inputs);
      t.notDeepEqual(Array.from(second[0] as Float32Array), Array.from(first[0] as Float32Array), 'SVDF state carries over');
      await model.resetState();
      const again = await model.run(inputs);
      t.deepEqual(Array.from(again[0] as Float32Array), Array.from(first[0] as Float32Array), 'reset restores the first answer');
    } else {
      const second = await model.run(inputs);
      first.forEach((o, i) => t.deepEqual(Buffer.from(second[i].buffer), Buffer.from(o.buffer)));
    }
  });
}
