// ONNX's own backend test cases for quantized ops, every one by name: exact
// integer outputs, float32 outputs within 1e-6 relative.
import test from 'ava';
import { loadModel } from '../src';
import { asBytes } from '../src/engine/tensors';
import { compareExact, conformanceDir, listConformanceCases, readConformanceSets } from './helpers/onnx-cases';

const dir = conformanceDir();
const cases = listConformanceCases();

if (!dir) {
  test('onnx conformance (skipped)', (t) => {
    t.log('NOTICE: ../shared/conformance/onnx-node is absent: ONNX conformance tests skipped');
    t.pass();
  });
} else {
  const passed = new Set<string>();
  for (const name of cases) {
    test.serial(`onnx conformance: ${name}`, async (t) => {
      const model = await loadModel(`${dir}/${name}/model.onnx`);
      t.teardown(() => model.dispose());
      for (const set of readConformanceSets(name)) {
        t.is(set.inputs.length, model.inputs.length, `${set.name}: input count`);
        set.inputs.forEach((inp, i) => t.deepEqual(model.inputs[i].shape, inp.dims, `${set.name}: input ${i} shape`));
        const outs = await model.run(set.inputs.map((i) => Buffer.from(i.data)));
        t.is(outs.length, set.outputs.length);
        outs.forEach((o, k) => t.is(compareExact(asBytes(o), set.outputs[k]), undefined, `${set.name} output ${k}`));
      }
      passed.add(name);
    });
  }
  test.serial('onnx conformance: pass count', (t) => {
    t.log(`ONNX conformance: ${passed.size}/${cases.length} cases pass`);
    for (const c of cases) if (!passed.has(c)) t.log(`  not passing: ${c}`);
    t.is(passed.size, cases.length);
    t.true(cases.length >= 26, `expected the 26 shared cases, found ${cases.length}`);
  });
}
