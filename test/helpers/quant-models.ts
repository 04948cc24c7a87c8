// Float models the quantization tests build themselves with the project's TFLite writer.
import { buildTflite, f32, TflOperatorSpec, TflTensorSpec } from '../../src/model/export/tflite-writer';
import { seededRandom } from '../../src/util/random';

function randomMatrix(rand: () => number, rows: number, cols: number, scale: number): Float32Array {
  return Float32Array.from({ length: rows * cols }, () => (rand() * 2 - 1) * scale);
}

const fc = (inputs: number[], output: number, activation = 'NONE'): TflOperatorSpec => ({ op: 'FULLY_CONNECTED', inputs, outputs: [output], options: { activation } });

/**
 * x[1,8] -> dense_a (16, ReLU) -> wide (8) -> dense_b (4). The "wide" layer's
 * channel 0 is ~300x larger than the others, and dense_b barely reads channel 0:
 * in int8 the one scale of "wide" has to span channel 0, so the small channels
 * dense_b depends on collapse to a few steps.
 */
export function sensitiveMlp(): Uint8Array {
  const rand = seededRandom(11);
  const wa = randomMatrix(rand, 16, 8, 0.6);
  const wWide = randomMatrix(rand, 8, 16, 0.3);
  for (let k = 0; k < 16; k++) wWide[k] *= 300;
  const wb = randomMatrix(rand, 4, 8, 0.8);
  for (let r = 0; r < 4; r++) wb[r * 8] = 1e-4;
  const bias = (n: number) => randomMatrix(rand, 1, n, 0.1);
  const tensors: TflTensorSpec[] = [
    { name: 'x', type: 'float32', shape: [1, 8] },
    { name: 'dense_a/w', type: 'float32', shape: [16, 8], data: f32(Array.from(wa)) },
    { name: 'dense_a/b', type: 'float32', shape: [16], data: f32(Array.from(bias(16))) },
    { name: 'dense_a/relu', type: 'float32', shape: [1, 16] },
    { name: 'wide/w', type: 'float32', shape: [8, 16], data: f32(Array.from(wWide)) },
    { name: 'wide/b', type: 'float32', shape: [8], data: f32(Array.from(bias(8))) },
    { name: 'wide/out', type: 'float32', shape: [1, 8] },
    { name: 'dense_b/w', type: 'float32', shape: [4, 8], data: f32(Array.from(wb)) },
    { name: 'dense_b/b', type: 'float32', shape: [4], data: f32(Array.from(bias(4))) },
    { name: 'y', type: 'float32', shape: [1, 4] },
  ];
  return buildTflite({
    description: 'qie test: an MLP with one wide-range layer',
    tensors,
    operators: [fc([0, 1, 2], 3, 'RELU'), fc([3, 4, 5], 6), fc([6, 7, 8], 9)],
    inputs: [0],
    outputs: [9],
  });
}

export function uniformSamples(n: number, elements: number, seed: number, amplitude = 1): Float32Array[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: elements }, () => (rand() * 2 - 1) * amplitude));
}

/**
 * x[1,8,8,2] -> CONV_2D 3x3x4 SAME ReLU -> DEPTHWISE_CONV_2D 3x3 x2 VALID stride 2
 * -> MAX_POOL_2D 2x2 -> RESHAPE [1,8] -> FULLY_CONNECTED 3 -> SOFTMAX: every
 * weight layout the quantizer handles (conv axis 0, depthwise axis 3, fc per tensor),
 * and output parameters inherited (pool, reshape) or fixed (softmax).
 */
export function smallCnn(): Uint8Array {
  const rand = seededRandom(23);
  const m = (n: number, s: number) => f32(Array.from(randomMatrix(rand, 1, n, s)));
  const tensors: TflTensorSpec[] = [
    { name: 'image', type: 'float32', shape: [1, 8, 8, 2] },
    { name: 'conv/w', type: 'float32', shape: [4, 3, 3, 2], data: m(72, 0.5) },
    { name: 'conv/b', type: 'float32', shape: [4], data: m(4, 0.2) },
    { name: 'conv/relu', type: 'float32', shape: [1, 8, 8, 4] },
    { name: 'dw/w', type: 'float32', shape: [1, 3, 3, 8], data: m(72, 0.7) },
    { name: 'dw/b', type: 'float32', shape: [8], data: m(8, 0.2) },
    { name: 'dw/out', type: 'float32', shape: [1, 3, 3, 8] },
    { name: 'pool', type: 'float32', shape: [1, 1, 1, 8] },
    { name: 'flat', type: 'float32', shape: [1, 8] },
    { name: 'fc/w', type: 'float32', shape: [3, 8], data: m(24, 0.6) },
    { name: 'fc/b', type: 'float32', shape: [3], data: m(3, 0.1) },
    { name: 'logits', type: 'float32', shape: [1, 3] },
    { name: 'probs', type: 'float32', shape: [1, 3] },
  ];
  return buildTflite({
    description: 'qie test: a small float CNN',
    tensors,
    operators: [
      { op: 'CONV_2D', inputs: [0, 1, 2], outputs: [3], options: { padding: 'SAME', activation: 'RELU' } },
      { op: 'DEPTHWISE_CONV_2D', inputs: [3, 4, 5], outputs: [6], options: { padding: 'VALID', strideH: 2, strideW: 2, depthMultiplier: 2 } },
      { op: 'MAX_POOL_2D', inputs: [6], outputs: [7], options: { padding: 'VALID', filterH: 2, filterW: 2, strideH: 2, strideW: 2 } },
      { op: 'RESHAPE', inputs: [7], outputs: [8] },
      fc([8, 9, 10], 11),
      { op: 'SOFTMAX', inputs: [11], outputs: [12], options: { beta: 1 } },
    ],
    inputs: [0],
    outputs: [12],
  });
}

/**
 * Branches and joins: x[1,4,4,2] -> (CONV_2D 1x1 ReLU | DEPTHWISE_CONV_2D 3x3 x2, a
 * wider range) -> CONCATENATION -> AVERAGE_POOL_2D -> RESHAPE -> FULLY_CONNECTED
 * -> ADD (a constant) -> (LOGISTIC | TANH) -> MUL, and a dead FULLY_CONNECTED + ReLU
 * (always 0: a zero range) -> CONCATENATION with the MUL.
 */
export function branchyNet(): Uint8Array {
  const rand = seededRandom(31);
  const m = (n: number, s: number) => f32(Array.from(randomMatrix(rand, 1, n, s)));
  const tensors: TflTensorSpec[] = [
    { name: 'x', type: 'float32', shape: [1, 4, 4, 2] }, // 0
    { name: 'a/w', type: 'float32', shape: [4, 1, 1, 2], data: m(8, 0.8) },
    { name: 'a/b', type: 'float32', shape: [4], data: m(4, 0.1) },
    { name: 'a', type: 'float32', shape: [1, 4, 4, 4] }, // 3
    { name: 'b/w', type: 'float32', shape: [1, 3, 3, 4], data: m(36, 2.5) },
    { name: 'b/b', type: 'float32', shape: [4], data: m(4, 0.5) },
    { name: 'b', type: 'float32', shape: [1, 4, 4, 4] }, // 6
    { name: 'cat', type: 'float32', shape: [1, 4, 4, 8] }, // 7
    { name: 'avg', type: 'float32', shape: [1, 2, 2, 8] }, // 8
    { name: 'flat', type: 'float32', shape: [1, 32] }, // 9
    { name: 'fc/w', type: 'float32', shape: [6, 32], data: m(192, 0.3) },
    { name: 'fc/b', type: 'float32', shape: [6], data: m(6, 0.1) },
    { name: 'fc', type: 'float32', shape: [1, 6] }, // 12
    { name: 'shift', type: 'float32', shape: [6], data: m(6, 0.5) },
    { name: 'add', type: 'float32', shape: [1, 6] }, // 14
    { name: 'sig', type: 'float32', shape: [1, 6] }, // 15
    { name: 'tanh', type: 'float32', shape: [1, 6] }, // 16
    { name: 'gate', type: 'float32', shape: [1, 6] }, // 17
    { name: 'dead/w', type: 'float32', shape: [2, 32], data: f32(new Array(64).fill(0)) },
    { name: 'dead/b', type: 'float32', shape: [2], data: f32([-1, -2]) },
    { name: 'dead', type: 'float32', shape: [1, 2] }, // 20
    { name: 'out', type: 'float32', shape: [1, 8] }, // 21
  ];
  return buildTflite({
    description: 'qie test: branches and joins',
    tensors,
    operators: [
      { op: 'CONV_2D', inputs: [0, 1, 2], outputs: [3], options: { padding: 'VALID', activation: 'RELU' } },
      { op: 'DEPTHWISE_CONV_2D', inputs: [0, 4, 5], outputs: [6], options: { padding: 'SAME', depthMultiplier: 2 } },
      { op: 'CONCATENATION', inputs: [3, 6], outputs: [7], options: { axis: 3 } },
      { op: 'AVERAGE_POOL_2D', inputs: [7], outputs: [8], options: { padding: 'VALID', filterH: 2, filterW: 2, strideH: 2, strideW: 2 } },
      { op: 'RESHAPE', inputs: [8], outputs: [9] },
      fc([9, 10, 11], 12),
      { op: 'ADD', inputs: [12, 13], outputs: [14] },
      { op: 'LOGISTIC', inputs: [14], outputs: [15] },
      { op: 'TANH', inputs: [14], outputs: [16] },
      { op: 'MUL', inputs: [15, 16], outputs: [17] },
      fc([9, 18, 19], 20, 'RELU'),
      { op: 'CONCATENATION', inputs: [17, 20], outputs: [21], options: { axis: 1 } },
    ],
    inputs: [0],
    outputs: [21],
  });
}
