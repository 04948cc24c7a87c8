// Every golden case of every shared model, through the TS API: output bytes equal
// TFLite Micro's reference kernels' (float32 within 1e-5 relative), and the
// arena is no larger than TFLite Micro's.
import test from 'ava';
import { argmax, loadModel, Model } from '../src';
import { asBytes } from '../src/engine/tensors';
import { listModels, loadManifest, readCase, sharedDir } from './helpers/shared';
import { compareOutput } from './helpers/compare';

const shared = sharedDir();
if (!shared) {
  test('golden cases (skipped)', (t) => {
    t.log('NOTICE: ../shared is absent: golden tests skipped');
    t.pass();
  });
} else {
  for (const name of listModels()) {
    test(`golden: ${name}`, async (t) => {
      const manifest = loadManifest(name);
      const model: Model = await loadModel(`${shared}/models/${name}/model.tflite`);
      t.teardown(() => model.dispose());
      t.log(`${name}: arena ${model.arenaBytes} bytes, TFLite Micro arena_used_bytes ${manifest.arena_used_bytes}`);
      t.true(model.arenaBytes <= manifest.arena_used_bytes!!, 'arena no larger than TFLite Micro');
      for (const c of manifest.cases) {
        const data = readCase(name, c.name);
        const outputs = await model.run(data.inputs.map((i) => i.data));
        outputs.forEach((o, k) => {
          const problem = compareOutput(asBytes(o), data.outputs[k].data, data.outputs[k].dtype);
          t.is(problem, undefined, `${name}/${c.name} output ${k}`);
        });
      }
      // stateless models give the same bytes on a second run
      const first = readCase(name, manifest.cases[0].name);
      const again = await model.run(first.inputs.map((i) => i.data));
      t.is(compareOutput(asBytes(again[0]), first.outputs[0].data, first.outputs[0].dtype), undefined, 'second run');
    });
  }

  const classifications: [string, string, number, string][] = [
    ['person_detect', 'person_tflm_test', 1, 'person'],
    ['person_detect', 'no_person_minus128', 0, 'no person'],
    ['micro_speech', 'yes_1000ms', 2, 'yes'],
    ['micro_speech', 'no_1000ms', 3, 'no'],
    ['magic_wand', 'ring', 1, 'ring'],
    ['magic_wand', 'slope', 2, 'slope'],
  ];
  for (const [name, caseName, expected, label] of classifications) {
    test(`classifies ${name}/${caseName} as ${label}`, async (t) => {
      const model = await loadModel(`${shared}/models/${name}/model.tflite`);
      t.teardown(() => model.dispose());
      const data = readCase(name, caseName);
      const [out] = await model.run(data.inputs.map((i) => i.data));
      t.is(argmax(out as ArrayLike<number>), expected);
    });
  }
}
