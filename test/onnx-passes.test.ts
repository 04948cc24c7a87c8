// The ONNX graph passes on small hand-made graphs: layout clean-up (transpose
// pairs cancel, constants fold, unit-dim moves become copies, transposes move
// above DequantizeLinear with the axis remapped), QDQ fusion and floatOps.
import test from 'ava';
import { Graph, Op, Tensor } from '../src/model/ir';
import { onnxLayout } from '../src/model/passes/onnx-layout';
import { onnxQdq } from '../src/model/passes/onnx-qdq';

const i32 = (v: number[]): Uint8Array => new Uint8Array(Int32Array.from(v).buffer);
const f32 = (v: number[]): Uint8Array => new Uint8Array(Float32Array.from(v).buffer);
const i8 = (v: number[]): Uint8Array => new Uint8Array(Int8Array.from(v).buffer);

function graph(tensors: Tensor[], ops: Op[], inputs: number[], outputs: number[]): Graph {
  return { tensors, ops, inputs, outputs, semantics: 'onnx', source: { format: 'onnx' } };
}
const op = (kind: Op['kind'], inputs: number[], outputs: number[], attrs = {}): Op => ({ kind, name: `${kind}_${outputs[0]}`, inputs, outputs, attrs });

test('a transpose and its inverse cancel; the consumer reads the original', (t) => {
  const g = graph(
    [
      { name: 'x', dtype: 'float32', shape: [1, 2, 3, 4] },
      { name: 'perm_a', dtype: 'int32', shape: [4], data: i32([0, 2, 3, 1]) },
      { name: 'nhwc', dtype: 'float32', shape: [1, 3, 4, 2] },
      { name: 'perm_b', dtype: 'int32', shape: [4], data: i32([0, 3, 1, 2]) },
      { name: 'nchw', dtype: 'float32', shape: [1, 2, 3, 4] },
      { name: 'y', dtype: 'float32', shape: [1, 2, 3, 4] },
    ],
    [op('TRANSPOSE', [0, 1], [2]), op('TRANSPOSE', [2, 3], [4]), op('RELU', [4], [5])],
    [0],
    [5],
  );
  const out = onnxLayout(g);
  t.deepEqual(out.ops.map((o) => o.kind), ['RELU']);
  t.is(out.tensors[out.ops[0].inputs[0]].name, 'x');
});

test('constants are transposed at load; unit-dim moves become copies', (t) => {
  const g = graph(
    [
      { name: 'w', dtype: 'float32', shape: [2, 3], data: f32([1, 2, 3, 4, 5, 6]) },
      { name: 'perm', dtype: 'int32', shape: [2], data: i32([1, 0]) },
      { name: 'wt', dtype: 'float32', shape: [3, 2] },
      { name: 'x', dtype: 'float32', shape: [1, 1, 5, 1] },
      { name: 'perm4', dtype: 'int32', shape: [4], data: i32([0, 2, 3, 1]) },
      { name: 'xt', dtype: 'float32', shape: [1, 5, 1, 1] },
      { name: 'y', dtype: 'float32', shape: [3, 2] },
      { name: 'z', dtype: 'float32', shape: [1, 5, 1, 1] },
    ],
    [op('TRANSPOSE', [0, 1], [2]), op('TRANSPOSE', [3, 4], [5]), op('ADD', [2, 2], [6]), op('RELU', [5], [7])],
    [3],
    [6, 7],
  );
  const out = onnxLayout(g);
  t.deepEqual(out.ops.map((o) => o.kind), ['RESHAPE', 'ADD', 'RELU']);
  const wt = out.tensors[out.ops[1].inputs[0]];
  t.deepEqual([...new Float32Array(Uint8Array.from(wt.data!).buffer)], [1, 4, 2, 5, 3, 6]);
});

test('a transpose moves above a per-axis DequantizeLinear, its axis following', (t) => {
  const g = graph(
    [
      { name: 'w', dtype: 'int8', shape: [2, 3], data: i8([1, 2, 3, 4, 5, 6]), quant: { scales: [0.5, 0.25], zeroPoints: [0, 0], axis: 0 } },
      { name: 's', dtype: 'float32', shape: [2], data: f32([0.5, 0.25]) },
      { name: 'wf', dtype: 'float32', shape: [2, 3] },
      { name: 'perm', dtype: 'int32', shape: [2], data: i32([1, 0]) },
      { name: 'wft', dtype: 'float32', shape: [3, 2] },
      { name: 'y', dtype: 'float32', shape: [3, 2] },
    ],
    [op('DEQUANTIZE_LINEAR', [0, 1, -1], [2], { axis: 0, blockSize: 0, bits: 0 }), op('TRANSPOSE', [2, 3], [4]), op('RELU', [4], [5])],
    [],
    [5],
  );
  const out = onnxLayout(g);
  t.deepEqual(out.ops.map((o) => o.kind), ['DEQUANTIZE_LINEAR', 'RELU']);
  const dq = out.ops[0];
  t.is(dq.attrs.axis, 1);
  const w = out.tensors[dq.inputs[0]];
  t.deepEqual(w.shape, [3, 2]);
  t.deepEqual([...new Int8Array(Uint8Array.from(w.data!).buffer)], [1, 4, 2, 5, 3, 6]);
  t.deepEqual(w.quant, { scales: [0.5, 0.25], zeroPoints: [0, 0], axis: 1 });
});

function qdqFc(): Graph {
  const q = (s: number, z: number) => ({ scales: [s], zeroPoints: [z], axis: -1 });
  return graph(
    [
      { name: 'x', dtype: 'int8', shape: [1, 2], quant: q(0.5, 1) },
      { name: 'xs', dtype: 'float32', shape: [], data: f32([0.5]) },
      { name: 'xz', dtype: 'int8', shape: [], data: i8([1]) },
      { name: 'xf', dtype: 'float32', shape: [1, 2] },
      { name: 'w', dtype: 'int8', shape: [3, 2], data: i8([1, 2, 3, 4, 5, 6]), quant: q(0.25, 0) },
      { name: 'ws', dtype: 'float32', shape: [], data: f32([0.25]) },
      { name: 'wz', dtype: 'int8', shape: [], data: i8([0]) },
      { name: 'wf', dtype: 'float32', shape: [3, 2] },
      { name: 'yf', dtype: 'float32', shape: [1, 3] },
      { name: 'ys', dtype: 'float32', shape: [], data: f32([0.1]) },
      { name: 'yz', dtype: 'int8', shape: [], data: i8([-3]) },
      { name: 'y', dtype: 'int8', shape: [1, 3], quant: q(0.1, -3) },
    ],
    [
      op('DEQUANTIZE_LINEAR', [0, 1, 2], [3], { axis: 0, blockSize: 0, bits: 0 }),
      op('DEQUANTIZE_LINEAR', [4, 5, 6], [7], { axis: 0, blockSize: 0, bits: 0 }),
      { ...op('FULLY_CONNECTED', [3, 7, -1], [8], { activation: 0, keepNumDims: 1 }), name: 'fc' },
      op('QUANTIZE_LINEAR', [8, 9, 10], [11], { axis: 0, blockSize: 0, bits: 0 }),
    ],
    [0],
    [11],
  );
}

test('DequantizeLinear -> fully connected -> QuantizeLinear fuses into one int8 op', (t) => {
  const out = onnxQdq(qdqFc());
  t.deepEqual(out.ops.map((o) => o.kind), ['FULLY_CONNECTED']);
  const fc = out.ops[0];
  t.deepEqual(fc.inputs.map((i) => (i < 0 ? '-' : out.tensors[i].name)), ['x', 'w', '-']);
  t.is(out.tensors[fc.outputs[0]].name, 'y');
});

test('floatOps keeps the layer in float with its weights dequantized once', (t) => {
  const out = onnxQdq(qdqFc(), ['fc']);
  t.deepEqual(out.ops.map((o) => o.kind), ['DEQUANTIZE_LINEAR', 'FULLY_CONNECTED', 'QUANTIZE_LINEAR']);
  const w = out.tensors[out.ops[1].inputs[1]];
  t.is(w.dtype, 'float32');
  t.deepEqual([...new Float32Array(Uint8Array.from(w.data!).buffer)], [0.25, 0.5, 0.75, 1, 1.25, 1.5]);
  t.throws(() => onnxQdq(qdqFc(), ['nope']), { message: /nope/ });
});
