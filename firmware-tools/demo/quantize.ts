// Post-training quantization of the demo perceptron into a full-integer TFLite model,
// following TFLite's int8 scheme: symmetric int8 weights, int32 biases at
// input_scale * weight_scale, asymmetric int8 activations from calibration ranges,
// softmax output at scale 1/256 and zero point -128.
import { buildTflite } from '../../src/model/export/tflite-writer';
import { forward, Mlp } from './train';

interface QParams {
  scale: number;
  zeroPoint: number;
}

/** Asymmetric int8 parameters covering [lo, hi] (widened to include 0). */
export function activationParams(lo: number, hi: number): QParams {
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  const scale = Math.fround((hi - lo) / 255 || 1e-8);
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - lo / scale)));
  return { scale, zeroPoint };
}

function symmetricWeights(w: Float32Array): { q: Int8Array; scale: number } {
  const max = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const scale = Math.fround(max / 127 || 1e-8);
  return { q: Int8Array.from(w, (v) => Math.max(-127, Math.min(127, Math.round(v / scale)))), scale };
}

function biases(b: Float32Array, scale: number): Int32Array {
  return Int32Array.from(b, (v) => Math.round(v / scale));
}

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export function quantizeMlp(m: Mlp, calibration: Float32Array[], labels: readonly string[]): Uint8Array {
  let inLo = Infinity, inHi = -Infinity, hHi = 0, oLo = Infinity, oHi = -Infinity;
  for (const x of calibration) {
    for (const v of x) {
      inLo = Math.min(inLo, v);
      inHi = Math.max(inHi, v);
    }
    const { h, logits } = forward(m, x);
    for (const v of h) hHi = Math.max(hHi, v);
    for (const v of logits) {
      oLo = Math.min(oLo, v);
      oHi = Math.max(oHi, v);
    }
  }
  const input = activationParams(inLo, inHi);
  const hidden = activationParams(0, hHi);
  const logits = activationParams(oLo, oHi);
  const w1 = symmetricWeights(m.w1);
  const w2 = symmetricWeights(m.w2);
  const b1Scale = Math.fround(input.scale * w1.scale);
  const b2Scale = Math.fround(hidden.scale * w2.scale);
  const q = (p: QParams) => ({ scale: [p.scale], zeroPoint: [p.zeroPoint] });
  return buildTflite({
    description: `qie demo motion classifier (${labels.join(', ')})`,
    tensors: [
      { name: 'accel_window', type: 'int8', shape: [1, m.inputs], quant: q(input) },
      { name: 'dense1/weights', type: 'int8', shape: [m.hidden, m.inputs], quant: { scale: [w1.scale], zeroPoint: [0] }, data: bytes(w1.q) },
      { name: 'dense1/bias', type: 'int32', shape: [m.hidden], quant: { scale: [b1Scale], zeroPoint: [0] }, data: bytes(biases(m.b1, b1Scale)) },
      { name: 'dense1/relu', type: 'int8', shape: [1, m.hidden], quant: q(hidden) },
      { name: 'dense2/weights', type: 'int8', shape: [m.classes, m.hidden], quant: { scale: [w2.scale], zeroPoint: [0] }, data: bytes(w2.q) },
      { name: 'dense2/bias', type: 'int32', shape: [m.classes], quant: { scale: [b2Scale], zeroPoint: [0] }, data: bytes(biases(m.b2, b2Scale)) },
      { name: 'logits', type: 'int8', shape: [1, m.classes], quant: q(logits) },
      { name: 'probabilities', type: 'int8', shape: [1, m.classes], quant: { scale: [1 / 256], zeroPoint: [-128] } },
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
