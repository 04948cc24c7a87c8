// Window -> model input: per-channel normalization, then TFLite quantization with
// the input's parameters (or float32 bytes as they are); and the checks that a
// source's windows fit its model.
import test from 'ava';
import { parseConfig } from '../src/config/load';
import type { TensorMeta } from '../src/engine/model';
import { quantize } from '../src/engine/tensors';
import { inputMismatch, toModelInput } from '../src/sources/source';

const meta = (m: Partial<TensorMeta>): TensorMeta => ({ name: 'in', dtype: 'int8', shape: [1, 2, 3, 1], bytes: 6, scale: 0.5, zeroPoint: -3, ...m });

test('normalize per channel, then quantize with the input scale and zero point', (t) => {
  const values = Float32Array.from([1, 2, 3, -4, 5.25, 600]);
  const got = toModelInput(values, 3, [1, 2, 0.5], [0, -1, 10], meta({}));
  const norm = [1 * 1 + 0, 2 * 2 - 1, 3 * 0.5 + 10, -4 * 1 + 0, 5.25 * 2 - 1, 600 * 0.5 + 10];
  t.deepEqual(Array.from(new Int8Array(got.buffer, got.byteOffset, got.byteLength)), Array.from(quantize(norm, { scale: 0.5, zeroPoint: -3 })));
  t.is(new Int8Array(got.buffer, got.byteOffset, got.byteLength)[5], 127, 'saturates');
  const u8 = toModelInput(values, 3, 2, 1, meta({ dtype: 'uint8', zeroPoint: 128 }));
  t.deepEqual(Array.from(u8), Array.from(quantize(Array.from(values, (v) => v * 2 + 1), { scale: 0.5, zeroPoint: 128, dtype: 'uint8' })));
  const f = toModelInput(values, 3, 1, 0.5, meta({ dtype: 'float32', scale: undefined, zeroPoint: undefined, bytes: 24 }));
  t.deepEqual(Array.from(new Float32Array(f.buffer, f.byteOffset, 6)), Array.from(values, (v) => v + 0.5));
});

test('a source fits a model with one input of size x channels values, float32 or quantized', (t) => {
  const cfg = parseConfig(
    { models: [{ name: 'g', path: 'g.tflite' }], sources: [{ name: 's', path: '/dev/ttyS1', framing: { kind: 'lines' }, sample: { channels: 3 }, window: { size: 2 }, model: 'g' }] },
    '/',
  ).sources[0];
  t.is(inputMismatch(cfg, [meta({})]), undefined);
  t.is(inputMismatch(cfg, [meta({ dtype: 'float32', scale: undefined, zeroPoint: undefined })]), undefined);
  t.regex(inputMismatch(cfg, [meta({ shape: [1, 3, 3, 1] })])!, /takes 9 values \(\[1,3,3,1\]\) but source 's' makes windows of 2 x 3 = 6/);
  t.regex(inputMismatch(cfg, [meta({}), meta({})])!, /has 2 inputs/);
  t.regex(inputMismatch(cfg, [meta({ dtype: 'int32' })])!, /input dtype int32/);
  t.regex(inputMismatch(cfg, [meta({ scale: undefined })])!, /input dtype int8 is not float32 or a quantized/);
});
