// `npm start`: makes the demo model, loads it with qie and classifies fresh sensor
// windows, comparing the int8 model with the float one it came from.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { argmax, loadModel, quantize } from '../src';
import { makeDemoModel } from './demo/model';
import { CLASSES, makeWindow } from './demo/synthetic';
import { seededRandom } from '../src/util/random';
import { forward } from './demo/train';

async function main(): Promise<void> {
  const started = Date.now();
  const demo = makeDemoModel();
  const file = path.join(tmpdir(), 'qie-demo-motion.tflite');
  writeFileSync(file, demo.tflite);
  const model = await loadModel(demo.tflite);
  const input = model.inputs[0];
  console.log(`qie demo: made ${file} (${demo.tflite.length} bytes) in ${Date.now() - started} ms`);
  console.log(`  input ${input.dtype} [${input.shape}] scale ${input.scale!.toPrecision(4)} zp ${input.zeroPoint}; arena ${model.arenaBytes} bytes; ${model.macs} MACs`);
  console.log(`  kernels: ${model.ops.map((o) => `${o.kind}=${o.kernel}`).join(', ')}`);

  const rand = seededRandom(99);
  let correct = 0, agree = 0, n = 0;
  const rows: string[] = [];
  for (let i = 0; i < 30; i++) {
    const truth = i % CLASSES.length;
    const window = makeWindow(truth, rand);
    const q = quantize(window, { scale: input.scale!, zeroPoint: input.zeroPoint! }) as Int8Array;
    const [probs] = await model.run([q]);
    const p = Array.from(probs as Int8Array, (v) => (v + 128) / 256);
    const got = argmax(p);
    const floatGot = argmax(forward(demo.float, window).logits);
    correct += got === truth ? 1 : 0;
    agree += got === floatGot ? 1 : 0;
    n++;
    if (i < 6) rows.push(`  ${CLASSES[truth].padEnd(6)} -> ${CLASSES[got].padEnd(6)} ${p.map((v) => v.toFixed(2)).join(' ')}`);
  }
  console.log('  truth     int8 model   p(still walk shake)');
  rows.forEach((r) => console.log(r));
  console.log(`  ${n} fresh windows: int8 accuracy ${((100 * correct) / n).toFixed(0)}%, agreement with the float model ${((100 * agree) / n).toFixed(0)}%`);
  console.log(`\n  try: npx qie inspect ${file}`);
  model.dispose();
}

main().catch((e) => {
  console.error(`qie demo: ${(e as Error).message}`);
  process.exitCode = 1;
});
