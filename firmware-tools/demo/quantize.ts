// The demo perceptron through the quantization toolchain: written as a float
// TFLite model, read back by qie's importer, quantized by src/quant with the
// activation ranges of the calibration windows. The ranges come from the
// perceptron's own float forward pass (the same arithmetic the float model runs),
// which keeps makeDemoModel() synchronous.
import { compileModel } from '../../src/model/compile';
import { buildTflite, f32 } from '../../src/model/export/tflite-writer';
import { activationParams as paramsOf, QParams, Range } from '../../src/quant/params';
import { quantizeWithRanges } from '../../src/quant/ptq';
import { forward, Mlp } from './train';

/** The trained perceptron as a float32 TFLite model: FC + ReLU, FC, SOFTMAX. */
export function floatMlpTflite(m: Mlp, labels: readonly string[]): Uint8Array {
  return buildTflite({
    description: `qie demo motion classifier (${labels.join(', ')})`,
    tensors: [
      { name: 'accel_window', type: 'float32', shape: [1, m.inputs] },
      { name: 'dense1/weights', type: 'float32', shape: [m.hidden, m.inputs], data: f32(Array.from(m.w1)) },
      { name: 'dense1/bias', type: 'float32', shape: [m.hidden], data: f32(Array.from(m.b1)) },
      { name: 'dense1/relu', type: 'float32', shape: [1, m.hidden] },
      { name: 'dense2/weights', type: 'float32', shape: [m.classes, m.hidden], data: f32(Array.from(m.w2)) },
      { name: 'dense2/bias', type: 'float32', shape: [m.classes], data: f32(Array.from(m.b2)) },
      { name: 'logits', type: 'float32', shape: [1, m.classes] },
      { name: 'probabilities', type: 'float32', shape: [1, m.classes] },
    ],
    operators: [
      { op: 'FULLY_CONNECTED', inputs: [0, 1, 2], outputs: [3], options: { activation: 'RELU' } },
      { op: 'FULLY_CONNECTED', inputs: [3, 4, 5], outputs: [6], options: { activation: 'NONE' } },
      { op: 'SOFTMAX', inputs: [6], outputs: [7], options: { beta: 1 } },
    ],
    inputs: [0],
    outputs: [7],
  });
}

/** Asymmetric int8 parameters covering [lo, hi] (kept for callers of the earlier demo quantizer). */
export function activationParams(lo: number, hi: number): QParams {
  return paramsOf({ lo, hi });
}

function widen(r: Range | undefined, values: ArrayLike<number>): Range {
  let { lo, hi } = r ?? { lo: Infinity, hi: -Infinity };
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  return { lo, hi };
}

/** Full-integer TFLite model of the perceptron, calibrated on the given windows. */
export function quantizeMlp(m: Mlp, calibration: Float32Array[], labels: readonly string[]): Uint8Array {
  const ranges = new Map<string, Range>();
  for (const x of calibration) {
    const { h, logits } = forward(m, x);
    ranges.set('accel_window', widen(ranges.get('accel_window'), x));
    ranges.set('dense1/relu', widen(ranges.get('dense1/relu'), h));
    ranges.set('logits', widen(ranges.get('logits'), logits));
  }
  const floatGraph = compileModel(floatMlpTflite(m, labels)).graph;
  return quantizeWithRanges(floatGraph, ranges).tflite;
}
