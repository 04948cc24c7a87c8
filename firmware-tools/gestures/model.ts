// A magic_wand-like gesture model the project makes itself, no ../shared needed:
// a perceptron trained on synthetic gesture windows, written as a float32 TFLite
// model with magic_wand's input layout ([1, 128, 3, 1] milli-g), then quantized
// to int8 by the toolchain (quantizeGestureModel) with fresh synthetic windows.
import { buildTflite, f32 } from '../../src/model/export/tflite-writer';
import { PtqResult } from '../../src/quant/ptq';
import { Mlp, train } from '../demo/train';
import { quantizeGestureModel } from '../gesture-model';
import { GESTURE_AXES, GESTURE_SAMPLES, GESTURES, makeGestureSet } from './synthetic';

/** Training sees windows in g; the model takes milli-g, so the first layer's weights absorb the 1/1000. */
const MILLI = 1000;

export function trainGestureMlp(windows = 800, seed = 41): Mlp {
  const { windows: xs, labels } = makeGestureSet(windows, seed);
  const x = xs.map((w) => w.map((v) => v / MILLI));
  return train(x, labels.map((l) => GESTURES.indexOf(l)), 24, GESTURES.length, 30, seed);
}

export function gestureMlpTflite(m: Mlp): Uint8Array {
  const features = GESTURE_SAMPLES * GESTURE_AXES;
  return buildTflite({
    description: `qie gesture model (${GESTURES.join(', ')}), float32`,
    tensors: [
      { name: 'accel', type: 'float32', shape: [1, GESTURE_SAMPLES, GESTURE_AXES, 1] },
      { name: 'flat', type: 'float32', shape: [1, features] },
      { name: 'dense1/weights', type: 'float32', shape: [m.hidden, features], data: f32(Array.from(m.w1, (w) => w / MILLI)) },
      { name: 'dense1/bias', type: 'float32', shape: [m.hidden], data: f32(Array.from(m.b1)) },
      { name: 'dense1/relu', type: 'float32', shape: [1, m.hidden] },
      { name: 'dense2/weights', type: 'float32', shape: [m.classes, m.hidden], data: f32(Array.from(m.w2)) },
      { name: 'dense2/bias', type: 'float32', shape: [m.classes], data: f32(Array.from(m.b2)) },
      { name: 'logits', type: 'float32', shape: [1, m.classes] },
      { name: 'probabilities', type: 'float32', shape: [1, m.classes] },
    ],
    operators: [
      { op: 'RESHAPE', inputs: [0], outputs: [1] },
      { op: 'FULLY_CONNECTED', inputs: [1, 2, 3], outputs: [4], options: { activation: 'RELU' } },
      { op: 'FULLY_CONNECTED', inputs: [4, 5, 6], outputs: [7] },
      { op: 'SOFTMAX', inputs: [7], outputs: [8], options: { beta: 1 } },
    ],
    inputs: [0],
    outputs: [8],
  });
}

export interface GestureModel {
  float: Uint8Array;
  int8: PtqResult;
  labels: readonly string[];
}

/** The float gesture model and its int8 version (the serial example's model). */
export async function makeGestureModel(): Promise<GestureModel> {
  const float = gestureMlpTflite(trainGestureMlp());
  return { float, int8: await quantizeGestureModel(float, { windows: 400, seed: 1 }), labels: GESTURES };
}
