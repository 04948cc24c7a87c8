// The demo model, made from the project's own code: synthetic motion windows,
// a small trained perceptron, int8 quantization by the project's quantization
// toolchain (src/quant). No download, no ../shared.
import { quantizeMlp } from './quantize';
import { CLASSES, FEATURES, makeDataset } from './synthetic';
import { Mlp, train } from './train';

export interface DemoModel {
  tflite: Uint8Array;
  float: Mlp;
  labels: readonly string[];
}

export function makeDemoModel(): DemoModel {
  const { x, y } = makeDataset(60, 2026);
  const float = train(x, y, 16, CLASSES.length);
  if (float.inputs !== FEATURES) throw new Error('unexpected feature count');
  return { tflite: quantizeMlp(float, x, CLASSES), float, labels: CLASSES };
}
