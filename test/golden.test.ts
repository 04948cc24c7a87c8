// Every golden case of every shared model, through the TS API: output bytes equal
// TFLite Micro's reference kernels' (float32 within 1e-5 relative), and the
// arena is no larger than TFLite Micro's. Stateful models run each case's invokes
// in order on one model (after resetState(), as TFLite Micro used a fresh
// interpreter per case); models whose manifest gives an `acceptance` instead of
// bit-exact goldens are held to it (see helpers/acceptance.ts).
import test from 'ava';
import { argmax, loadModel, Model } from '../src';
import { asBytes } from '../src/engine/tensors';
import { listModels, loadManifest, readCase, sharedDir } from './helpers/shared';
import { checkAcceptance, judgedByAcceptance } from './helpers/acceptance';
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
      if (manifest.arena_used_bytes === undefined) {
        t.log(`NOTICE: ${name}: the manifest gives no TFLite Micro arena_used_bytes (reference: ${manifest.reference}); arena ${model.arenaBytes} bytes, not compared`);
      } else {
        t.log(`${name}: arena ${model.arenaBytes} bytes, TFLite Micro arena_used_bytes ${manifest.arena_used_bytes}`);
        t.true(model.arenaBytes <= manifest.arena_used_bytes, 'arena no larger than TFLite Micro');
      }
      const accept = judgedByAcceptance(manifest);
      for (const c of manifest.cases) {
        const data = readCase(name, c.name);
        await model.resetState();
        for (const [n, expected] of data.invokes.entries()) {
          const outputs = await model.run(data.inputs.map((i) => i.data));
          outputs.forEach((o, k) => {
            const what = `${name}/${c.name} invoke ${n + 1} output ${k}`;
            const problem = accept
              ? checkAcceptance(o as ArrayLike<number>, expected[k].data, data.expectedTop1, (s) => t.log(`${what}: ${s}`))
              : compareOutput(asBytes(o), expected[k].data, expected[k].dtype);
            t.is(problem, undefined, what);
          });
        }
      }
      // the first case again: the same bytes (a stateful model after resetState())
      const first = readCase(name, manifest.cases[0].name);
      await model.resetState();
      const again = await model.run(first.inputs.map((i) => i.data));
      if (accept) t.is(checkAcceptance(again[0] as ArrayLike<number>, first.outputs[0].data, first.expectedTop1, () => {}), undefined, 'second run');
      else t.is(compareOutput(asBytes(again[0]), first.outputs[0].data, first.outputs[0].dtype), undefined, 'second run');
    });
  }

  const classifications: [string, string, number, string][] = [
    ['person_detect', 'person_tflm_test', 1, 'person'],
    ['person_detect', 'no_person_minus128', 0, 'no person'],
    ['micro_speech', 'yes_1000ms', 2, 'yes'],
    ['micro_speech', 'no_1000ms', 3, 'no'],
    ['magic_wand', 'ring', 1, 'ring'],
    ['magic_wand', 'slope', 2, 'slope'],
    ['keras_lstm_mnist', 'stroke_one', 1, 'one'],
    ['mobilenet_v2_uint8', 'cat', 286, 'Egyptian cat'],
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
