// One small ONNX model per quantized op form (ORT's com.microsoft QOperator ops,
// QLinearConv / QLinearMatMul with constant quantization, QDQ patterns, a float
// island), built in memory and run by qie and by ONNX Runtime on the same seeded
// inputs: every output byte within +-1, and the op qie was expected to make int8
// (or keep float) reported that way.
import test from 'ava';
import { loadModel } from '../src';
import { seededRandom } from '../src/util/random';
import { InitSpec, NodeSpec, onnxModel, T, ValueSpec } from './helpers/onnx-build';
import { ortIntegerConvExact } from './helpers/ort-exact';

const ORT_EXACT = ortIntegerConvExact();

// eslint-disable-next-line @typescript-eslint/no-var-requires
const ort = require('onnxruntime-node');

interface OpCase {
  name: string;
  nodes: NodeSpec[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  initializers: InitSpec[];
  /** Op kind qie must run and the precision it must report. */
  expect: [string, 'int8' | 'float32'];
  /** At most this many TRANSPOSE ops may remain. */
  maxTransposes?: number;
}

const f = (name: string, v: number): InitSpec => ({ name, type: T.FLOAT, dims: [], values: [v] });
const u8 = (name: string, v: number): InitSpec => ({ name, type: T.UINT8, dims: [], values: [v] });
const i8 = (name: string, v: number): InitSpec => ({ name, type: T.INT8, dims: [], values: [v] });
const X = (name = 'x', dims = [1, 4, 6, 6], type: number = T.UINT8): ValueSpec => ({ name, type, dims });
const ms = (op: string, inputs: string[], outputs: string[], attrs = {}): NodeSpec => ({ op, inputs, outputs, attrs, domain: 'com.microsoft' });
const XQ = [f('xs', 0.05), u8('xz', 120)];

const rand = seededRandom(4242);
const ints = (n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor(rand() * (hi - lo + 1)));

const CASES: OpCase[] = [
  {
    name: 'QLinearAdd',
    nodes: [ms('QLinearAdd', ['x', 'xs', 'xz', 'b', 'bs', 'bz', 'ys', 'yz'], ['y'])],
    inputs: [X(), X('b')],
    outputs: [X('y')],
    initializers: [...XQ, f('bs', 0.03), u8('bz', 128), f('ys', 0.07), u8('yz', 100)],
    expect: ['ADD', 'int8'],
  },
  {
    name: 'QLinearMul',
    nodes: [ms('QLinearMul', ['x', 'xs', 'xz', 'b', 'bs', 'bz', 'ys', 'yz'], ['y'])],
    inputs: [X(), X('b')],
    outputs: [X('y')],
    initializers: [...XQ, f('bs', 0.03), u8('bz', 128), f('ys', 0.2), u8('yz', 100)],
    expect: ['QLINEAR_MUL', 'int8'],
  },
  {
    name: 'QLinearAveragePool',
    nodes: [ms('QLinearAveragePool', ['x', 'xs', 'xz', 'xs', 'xz'], ['y'], { kernel_shape: [2, 2], strides: [2, 2] })],
    inputs: [X()],
    outputs: [X('y', [1, 4, 3, 3])],
    initializers: XQ,
    expect: ['QLINEAR_AVERAGE_POOL', 'int8'],
  },
  {
    name: 'QLinearGlobalAveragePool',
    nodes: [ms('QLinearGlobalAveragePool', ['x', 'xs', 'xz', 'ys', 'yz'], ['y'])],
    inputs: [X()],
    outputs: [X('y', [1, 4, 1, 1])],
    initializers: [...XQ, f('ys', 0.02), u8('yz', 110)],
    expect: ['QLINEAR_AVERAGE_POOL', 'int8'],
  },
  {
    name: 'QLinearConcat (equal quantization: int8)',
    nodes: [ms('QLinearConcat', ['xs', 'xz', 'x', 'xs', 'xz', 'b', 'xs', 'xz'], ['y'], { axis: 1 })],
    inputs: [X(), X('b')],
    outputs: [X('y', [1, 8, 6, 6])],
    initializers: XQ,
    expect: ['CONCATENATION', 'int8'],
  },
  {
    name: 'QLinearConcat (different quantization: float island)',
    nodes: [ms('QLinearConcat', ['ys', 'yz', 'x', 'xs', 'xz', 'b', 'bs', 'bz'], ['y'], { axis: 1 })],
    inputs: [X(), X('b')],
    outputs: [X('y', [1, 8, 6, 6])],
    initializers: [...XQ, f('bs', 0.03), u8('bz', 128), f('ys', 0.06), u8('yz', 125)],
    expect: ['CONCATENATION', 'float32'],
  },
  {
    name: 'QLinearSigmoid',
    nodes: [ms('QLinearSigmoid', ['x', 'xs', 'xz', 'ys', 'yz'], ['y'])],
    inputs: [X()],
    outputs: [X('y')],
    initializers: [...XQ, f('ys', 1 / 256), u8('yz', 0)],
    expect: ['LOGISTIC', 'int8'],
  },
  {
    name: 'QLinearLeakyRelu',
    nodes: [ms('QLinearLeakyRelu', ['x', 'xs', 'xz', 'ys', 'yz'], ['y'], { alpha: { f: 0.1 } })],
    inputs: [X()],
    outputs: [X('y')],
    initializers: [...XQ, f('ys', 0.04), u8('yz', 20)],
    expect: ['LOOKUP', 'int8'],
  },
  {
    name: 'QLinearConv (constant quantization, per-channel int8 weights, bias, stride 2)',
    nodes: [{ op: 'QLinearConv', inputs: ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'bias'], outputs: ['y'], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } }],
    inputs: [X()],
    outputs: [X('y', [1, 3, 3, 3])],
    initializers: [
      ...XQ,
      { name: 'w', type: T.INT8, dims: [3, 4, 3, 3], values: ints(108, -127, 127) },
      { name: 'ws', type: T.FLOAT, dims: [3], values: [0.01, 0.02, 0.005] },
      { name: 'wz', type: T.INT8, dims: [3], values: [0, 0, 0] },
      f('ys', 0.4),
      u8('yz', 128),
      { name: 'bias', type: T.INT32, dims: [3], values: [1000, -2000, 300] },
    ],
    expect: ['CONV_2D', 'int8'],
  },
  {
    name: 'QLinearConv (depthwise, int8 activations)',
    nodes: [{ op: 'QLinearConv', inputs: ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], outputs: ['y'], attrs: { pads: [1, 1, 1, 1], group: 4 } }],
    inputs: [X('x', [1, 4, 6, 6], T.INT8)],
    outputs: [X('y', [1, 4, 6, 6], T.INT8)],
    initializers: [
      f('xs', 0.05),
      i8('xz', -3),
      { name: 'w', type: T.INT8, dims: [4, 1, 3, 3], values: ints(36, -127, 127) },
      f('ws', 0.01),
      i8('wz', 0),
      f('ys', 0.1),
      i8('yz', 5),
    ],
    expect: ['DEPTHWISE_CONV_2D', 'int8'],
  },
  {
    name: 'QLinearMatMul (constant quantization)',
    nodes: [{ op: 'QLinearMatMul', inputs: ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], outputs: ['y'] }],
    inputs: [X('x', [2, 8], T.INT8)],
    outputs: [X('y', [2, 5], T.INT8)],
    initializers: [f('xs', 0.05), i8('xz', 1), { name: 'w', type: T.INT8, dims: [8, 5], values: ints(40, -127, 127) }, f('ws', 0.02), i8('wz', 0), f('ys', 0.3), i8('yz', -2)],
    expect: ['FULLY_CONNECTED', 'int8'],
  },
  {
    name: 'QDQ MaxPool',
    nodes: [
      { op: 'DequantizeLinear', inputs: ['x', 'xs', 'xz'], outputs: ['xf'] },
      { op: 'MaxPool', inputs: ['xf'], outputs: ['pf'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } },
      { op: 'QuantizeLinear', inputs: ['pf', 'xs', 'xz'], outputs: ['y'] },
    ],
    inputs: [X()],
    outputs: [X('y', [1, 4, 3, 3])],
    initializers: XQ,
    expect: ['MAX_POOL_2D', 'int8'],
  },
  {
    name: 'QDQ Relu -> Transpose -> Flatten',
    nodes: [
      { op: 'DequantizeLinear', inputs: ['x', 'xs', 'xz'], outputs: ['xf'] },
      { op: 'Relu', inputs: ['xf'], outputs: ['rf'] },
      { op: 'QuantizeLinear', inputs: ['rf', 'xs', 'xz'], outputs: ['r'] },
      { op: 'DequantizeLinear', inputs: ['r', 'xs', 'xz'], outputs: ['rf2'] },
      { op: 'Transpose', inputs: ['rf2'], outputs: ['tf'], attrs: { perm: [0, 2, 3, 1] } },
      { op: 'QuantizeLinear', inputs: ['tf', 'xs', 'xz'], outputs: ['t'] },
      { op: 'DequantizeLinear', inputs: ['t', 'xs', 'xz'], outputs: ['tf2'] },
      { op: 'Flatten', inputs: ['tf2'], outputs: ['ff'] },
      { op: 'QuantizeLinear', inputs: ['ff', 'xs', 'xz'], outputs: ['y'] },
    ],
    inputs: [X()],
    outputs: [X('y', [1, 144])],
    initializers: XQ,
    expect: ['RELU', 'int8'],
  },
  {
    name: 'QDQ Pad and Resize (nearest)',
    nodes: [
      { op: 'DequantizeLinear', inputs: ['x', 'xs', 'xz'], outputs: ['xf'] },
      { op: 'Pad', inputs: ['xf', 'pads'], outputs: ['pf'] },
      { op: 'QuantizeLinear', inputs: ['pf', 'xs', 'xz'], outputs: ['p'] },
      { op: 'DequantizeLinear', inputs: ['p', 'xs', 'xz'], outputs: ['pf2'] },
      { op: 'Resize', inputs: ['pf2', '', 'scales'], outputs: ['rf'], attrs: { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } },
      { op: 'QuantizeLinear', inputs: ['rf', 'xs', 'xz'], outputs: ['y'] },
    ],
    inputs: [X()],
    outputs: [X('y', [1, 4, 16, 16])],
    initializers: [...XQ, { name: 'pads', type: T.INT64, dims: [8], values: [0, 0, 1, 1, 0, 0, 1, 1] }, { name: 'scales', type: T.FLOAT, dims: [4], values: [1, 1, 2, 2] }],
    expect: ['RESIZE_NEAREST_NEIGHBOR', 'int8'],
  },
  {
    name: 'QDQ from float input: QuantizeLinear -> Conv (Constant weights) -> Relu',
    nodes: [
      { op: 'QuantizeLinear', inputs: ['x', 'xs', 'xz'], outputs: ['xq'] },
      { op: 'DequantizeLinear', inputs: ['xq', 'xs', 'xz'], outputs: ['xf'] },
      { op: 'Constant', inputs: [], outputs: ['w'], attrs: { value: { tensor: { type: T.INT8, dims: [2, 4, 1, 1], values: [10, -20, 30, 127, -128, 5, 0, 64] } } } },
      { op: 'DequantizeLinear', inputs: ['w', 'ws', 'wz'], outputs: ['wf'] },
      { op: 'Conv', inputs: ['xf', 'wf'], outputs: ['cf'], attrs: { kernel_shape: [1, 1] } },
      { op: 'QuantizeLinear', inputs: ['cf', 'ys', 'yz'], outputs: ['c'] },
      { op: 'DequantizeLinear', inputs: ['c', 'ys', 'yz'], outputs: ['cf2'] },
      { op: 'Relu', inputs: ['cf2'], outputs: ['rf'] },
      { op: 'QuantizeLinear', inputs: ['rf', 'ys', 'yz'], outputs: ['y'] },
    ],
    inputs: [X('x', [1, 4, 3, 3], T.FLOAT)],
    outputs: [X('y', [1, 2, 3, 3])],
    initializers: [...XQ, f('ws', 0.02), i8('wz', 0), f('ys', 0.1), u8('yz', 128)],
    expect: ['CONV_2D', 'int8'],
  },
  {
    name: 'QAT export: float weights -> QuantizeLinear -> DequantizeLinear -> Conv',
    nodes: [
      { op: 'DequantizeLinear', inputs: ['x', 'xs', 'xz'], outputs: ['xf'] },
      { op: 'QuantizeLinear', inputs: ['wf32', 'ws', 'wz'], outputs: ['wq'], attrs: { axis: 0 } },
      { op: 'DequantizeLinear', inputs: ['wq', 'ws', 'wz'], outputs: ['wf'], attrs: { axis: 0 } },
      { op: 'Conv', inputs: ['xf', 'wf'], outputs: ['cf'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'QuantizeLinear', inputs: ['cf', 'ys', 'yz'], outputs: ['y'] },
    ],
    inputs: [X()],
    outputs: [X('y', [1, 2, 6, 6])],
    initializers: [
      ...XQ,
      { name: 'wf32', type: T.FLOAT, dims: [2, 4, 3, 3], values: ints(72, -300, 300).map((k) => k / 1000) },
      { name: 'ws', type: T.FLOAT, dims: [2], values: [0.0025, 0.004] },
      { name: 'wz', type: T.INT8, dims: [2], values: [0, 0] },
      f('ys', 0.2),
      u8('yz', 128),
    ],
    expect: ['CONV_2D', 'int8'],
  },
  {
    name: 'QDQ ReduceMean over H, W (keepdims 0)',
    nodes: [
      { op: 'DequantizeLinear', inputs: ['x', 'xs', 'xz'], outputs: ['xf'] },
      { op: 'ReduceMean', inputs: ['xf'], outputs: ['mf'], attrs: { axes: [2, 3], keepdims: 0 } },
      { op: 'QuantizeLinear', inputs: ['mf', 'ys', 'yz'], outputs: ['y'] },
    ],
    inputs: [X()],
    outputs: [X('y', [1, 4])],
    initializers: [...XQ, f('ys', 0.01), u8('yz', 110)],
    expect: ['QLINEAR_AVERAGE_POOL', 'int8'],
  },
  {
    name: 'QDQ conv -> Flatten -> Gemm: the flatten is folded into the weights',
    nodes: [
      { op: 'DequantizeLinear', inputs: ['x', 'xs', 'xz'], outputs: ['xf'] },
      { op: 'DequantizeLinear', inputs: ['w', 'ws', 'wz'], outputs: ['wf'] },
      { op: 'Conv', inputs: ['xf', 'wf'], outputs: ['cf'], attrs: { kernel_shape: [1, 1] } },
      { op: 'QuantizeLinear', inputs: ['cf', 'ys', 'yz'], outputs: ['c'] },
      { op: 'DequantizeLinear', inputs: ['c', 'ys', 'yz'], outputs: ['cf2'] },
      { op: 'Flatten', inputs: ['cf2'], outputs: ['ff'] },
      { op: 'QuantizeLinear', inputs: ['ff', 'ys', 'yz'], outputs: ['fq'] },
      { op: 'DequantizeLinear', inputs: ['fq', 'ys', 'yz'], outputs: ['ff2'] },
      { op: 'DequantizeLinear', inputs: ['g', 'gs', 'wz'], outputs: ['gf'] },
      { op: 'Gemm', inputs: ['ff2', 'gf'], outputs: ['of'], attrs: { transB: 1 } },
      { op: 'QuantizeLinear', inputs: ['of', 'os', 'yz'], outputs: ['y'] },
    ],
    inputs: [X('x', [1, 4, 3, 3])],
    outputs: [X('y', [1, 5])],
    initializers: [
      ...XQ,
      { name: 'w', type: T.INT8, dims: [2, 4, 1, 1], values: ints(8, -127, 127) },
      f('ws', 0.02),
      i8('wz', 0),
      f('ys', 0.1),
      u8('yz', 128),
      { name: 'g', type: T.INT8, dims: [5, 18], values: ints(90, -127, 127) },
      f('gs', 0.01),
      f('os', 0.5),
    ],
    expect: ['FULLY_CONNECTED', 'int8'],
    maxTransposes: 1,
  },
  {
    name: 'QDQ MatMul of two activations (batched, uint8 x int8)',
    nodes: [
      { op: 'DequantizeLinear', inputs: ['x', 'xs', 'xz'], outputs: ['xf'] },
      { op: 'DequantizeLinear', inputs: ['b', 'bs', 'bz'], outputs: ['bf'] },
      { op: 'MatMul', inputs: ['xf', 'bf'], outputs: ['mf'] },
      { op: 'QuantizeLinear', inputs: ['mf', 'ys', 'yz'], outputs: ['y'] },
    ],
    inputs: [X('x', [2, 3, 4]), X('b', [2, 4, 5], T.INT8)],
    outputs: [X('y', [2, 3, 5], T.INT8)],
    initializers: [...XQ, f('bs', 0.04), i8('bz', 2), f('ys', 0.3), i8('yz', -5)],
    expect: ['QLINEAR_MATMUL', 'int8'],
  },
  {
    name: 'QDQ Softmax with a free output scale: float island',
    nodes: [
      { op: 'DequantizeLinear', inputs: ['x', 'xs', 'xz'], outputs: ['xf'] },
      { op: 'Softmax', inputs: ['xf'], outputs: ['sf'], attrs: { axis: -1 } },
      { op: 'QuantizeLinear', inputs: ['sf', 'ys', 'yz'], outputs: ['y'] },
    ],
    inputs: [X('x', [2, 10])],
    outputs: [X('y', [2, 10])],
    initializers: [...XQ, f('ys', 0.005), u8('yz', 3)],
    expect: ['SOFTMAX', 'float32'],
  },
];

for (const c of CASES) {
  test(`onnx op vs ONNX Runtime: ${c.name}`, async (t) => {
    const bytes = onnxModel({ nodes: c.nodes, inputs: c.inputs, outputs: c.outputs, initializers: c.initializers });
    const model = await loadModel(bytes, { kernels: 'ref' });
    t.teardown(() => model.dispose());
    const op = model.ops.find((o) => o.kind === c.expect[0]);
    t.truthy(op, `${c.expect[0]} in ${model.ops.map((o) => o.kind).join(' ')}`);
    t.is(op?.precision, c.expect[1]);
    if (c.maxTransposes !== undefined) t.true(model.ops.filter((o) => o.kind === 'TRANSPOSE').length <= c.maxTransposes, model.ops.map((o) => o.kind).join(' '));
    const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
    const feeds: Record<string, unknown> = {};
    const ours: Uint8Array[] = [];
    c.inputs.forEach((v) => {
      const n = v.dims.reduce((a, b) => a * b, 1);
      // on CPUs where ORT's u8 x s8 products saturate in pairs, keep its shifted u8
      // activations <= 128 so that 2 * 128 * 127 fits in 16 bits: ORT is then exact too
      const [lo8, hi8, loF, hiF] = ORT_EXACT.exact ? [-128, 127, -300, 300] : [-128, 0, -300, 0];
      const data =
        v.type === T.FLOAT
          ? Float32Array.from(ints(n, loF, hiF).map((k) => k / 50))
          : v.type === T.UINT8
            ? Uint8Array.from(ints(n, 0, ORT_EXACT.exact ? 255 : 128))
            : Int8Array.from(ints(n, lo8, hi8));
      feeds[v.name] = new ort.Tensor(v.type === T.FLOAT ? 'float32' : v.type === T.UINT8 ? 'uint8' : 'int8', data, v.dims);
      ours.push(new Uint8Array(data.buffer));
    });
    const [got] = await model.run(ours.map((b) => Buffer.from(b)));
    const want = (await session.run(feeds))[c.outputs[0].name].data as ArrayLike<number>;
    t.deepEqual(model.outputs[0].shape, c.outputs[0].dims);
    // uint8 and float tensors keep their ONNX type at the API (uint8 runs as int8 inside)
    const apiType = (type: number) => (type === T.FLOAT ? 'float32' : type === T.UINT8 ? 'uint8' : 'int8');
    c.inputs.forEach((v, i) => t.is(model.inputs[i].dtype, apiType(v.type)));
    t.is(model.outputs[0].dtype, apiType(c.outputs[0].type));
    let worst = 0;
    let exact = 0;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(Number((got as Uint8Array)[i]) - Number(want[i]));
      worst = Math.max(worst, d);
      if (d === 0) exact++;
    }
    if (!ORT_EXACT.exact) t.log(`NOTICE: ${ORT_EXACT.reason}: inputs limited to the range where it is exact`);
    t.log(`${c.name}: ${want.length} values, ${((100 * exact) / want.length).toFixed(1)}% exact, max diff ${worst}`);
    t.true(worst <= 1, `max difference ${worst}`);
  });
}
