// A float32 model whose only job is to cost CPU: `layers` fully connected layers of
// `width` x `width` with ReLU. The thermal tests, the simulator demo and the benchmark
// use it as a heavy model (and a shallower one as its lighter fallback), so inference
// time, not MQTT handling, dominates the measured duty. No ../shared needed.
import { buildTflite, f32, TflOperatorSpec, TflTensorSpec } from '../../src/model/export/tflite-writer';
import { seededRandom } from '../../src/util/random';

export function workloadModel(layers: number, width = 256, seed = 7): Uint8Array {
  const rand = seededRandom(seed);
  const tensors: TflTensorSpec[] = [{ name: 'x', type: 'float32', shape: [1, width] }];
  const operators: TflOperatorSpec[] = [];
  let prev = 0;
  for (let l = 0; l < layers; l++) {
    const w = Array.from({ length: width * width }, () => ((rand() * 2 - 1) * 1.5) / Math.sqrt(width));
    const b = Array.from({ length: width }, () => (rand() * 2 - 1) * 0.05);
    tensors.push({ name: `fc${l}/w`, type: 'float32', shape: [width, width], data: f32(w) });
    tensors.push({ name: `fc${l}/b`, type: 'float32', shape: [width], data: f32(b) });
    tensors.push({ name: `fc${l}/out`, type: 'float32', shape: [1, width] });
    const base = tensors.length - 3;
    operators.push({ op: 'FULLY_CONNECTED', inputs: [prev, base, base + 1], outputs: [base + 2], options: { activation: 'RELU' } });
    prev = base + 2;
  }
  return buildTflite({ description: `qie thermal workload: ${layers} x fc${width}`, tensors, operators, inputs: [0], outputs: [prev] });
}
