// The quantizer on an ONNX float model: the importer turns NCHW ONNX into the same
// IR the TFLite path gives, so calibration, quantization and the .tflite writer
// apply unchanged. The model is built here (onnx-proto's encoder).
import test from 'ava';
import { argmax, loadModel, quantize } from '../src';
import { quantizeFloatModel } from '../src/quant/ptq';
import { seededRandom } from '../src/util/random';
import { onnxModel, T } from './helpers/onnx-build';

function floatOnnx(): Uint8Array {
  const rand = seededRandom(5);
  const w = (n: number, s: number) => Array.from({ length: n }, () => (rand() * 2 - 1) * s);
  return onnxModel({
    inputs: [{ name: 'x', type: T.FLOAT, dims: [1, 2, 8, 8] }],
    outputs: [{ name: 'probs', type: T.FLOAT, dims: [1, 3] }],
    initializers: [
      { name: 'w1', type: T.FLOAT, dims: [6, 2, 3, 3], values: w(6 * 2 * 9, 0.4) },
      { name: 'b1', type: T.FLOAT, dims: [6], values: w(6, 0.1) },
      { name: 'w2', type: T.FLOAT, dims: [3, 6], values: w(18, 1.0) },
      { name: 'b2', type: T.FLOAT, dims: [3], values: w(3, 0.1) },
    ],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'Relu', inputs: ['c'], outputs: ['r'] },
      { op: 'GlobalAveragePool', inputs: ['r'], outputs: ['p'] },
      { op: 'Flatten', inputs: ['p'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'w2', 'b2'], outputs: ['logits'], attrs: { transB: 1 } },
      { op: 'Softmax', inputs: ['logits'], outputs: ['probs'], attrs: { axis: 1 } },
    ],
  });
}

test('an ONNX float model quantizes to an int8 .tflite that agrees with it', async (t) => {
  const bytes = floatOnnx();
  const rand = seededRandom(11);
  // inputs with a class-dependent pattern so the classifier's answers vary
  const samples = Array.from({ length: 200 }, (_, i) => {
    const x = new Float32Array(128);
    for (let k = 0; k < 128; k++) x[k] = Math.sin((k * (1 + (i % 3))) / 7) + (rand() - 0.5) * 0.6;
    return x;
  });
  const r = await quantizeFloatModel(bytes, samples);
  const float = await loadModel(bytes);
  const int8 = await loadModel(r.tflite);
  t.teardown(() => {
    float.dispose();
    int8.dispose();
  });
  t.is(int8.inputs[0].dtype, 'int8');
  // the model keeps ONNX's NCHW input; the NHWC conversion happens once, inside
  t.deepEqual(int8.inputs[0].shape, [1, 2, 8, 8]);
  t.true(int8.ops.some((o) => /^qs8_conv/.test(o.kernel)), int8.ops.map((o) => o.kernel).join(', '));
  t.true(int8.ops.some((o) => /^qs8_fc/.test(o.kernel)));
  const inQ = { scale: int8.inputs[0].scale!, zeroPoint: int8.inputs[0].zeroPoint! };
  let agree = 0;
  for (const x of samples) {
    const [pf] = await float.run([x]);
    const [pq] = await int8.run([quantize(x, inQ)]);
    agree += argmax(pf as Float32Array) === argmax(pq as Int8Array) ? 1 : 0;
  }
  t.log(`top-1 agreement with the float ONNX model: ${agree}/${samples.length}; end to end ${JSON.stringify(r.report.endToEnd)}`);
  t.true(agree / samples.length >= 0.95);
});
