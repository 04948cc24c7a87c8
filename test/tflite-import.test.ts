import test from 'ava';
import { seededRandom } from '../src/util/random';
import * as fs from 'fs';
import { QieError } from '../src/errors';
import { Graph, OpKind } from '../src/model/ir';
import { importTflite } from '../src/model/import/tflite';
import { builtinCode, builtinName } from '../src/model/import/tflite-schema';
import { OPSET } from '../src/model/opset';
import { runPasses } from '../src/model/passes';
import { compileModel } from '../src/model/compile';
import { loadModel } from '../src';
import { uint8ToInt8 } from '../src/model/passes/uint8-to-int8';
import { buildTflite, f32, i32, i8, TflModelSpec, u8 } from './helpers/tflite-builder';
import { listModels, loadManifest, modelPath, sharedDir } from './helpers/shared';

const shared = sharedDir();

/** TFLite op names as IR kinds. */
const TFL_TO_IR: Record<string, OpKind> = { SQUEEZE: 'RESHAPE', EXPAND_DIMS: 'RESHAPE', PADV2: 'PAD' };

function checkAttrNames(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, g: Graph): void {
  for (const op of g.ops) {
    const spec = OPSET[op.kind];
    t.deepEqual(Object.keys(op.attrs).sort(), [...spec.ints, ...spec.floats].sort(), `attrs of ${op.name}`);
  }
}

function expectError(t: any, f: () => unknown, code: string, re?: RegExp): QieError {
  const e = t.throws(f, { instanceOf: QieError }) as QieError;
  t.is(e.code, code, e.message);
  if (re) t.regex(e.message, re);
  return e;
}

test('builtin code table', (t) => {
  const known: [string, number][] = [
    ['ADD', 0], ['CONV_2D', 3], ['SOFTMAX', 25], ['PAD', 34], ['MEAN', 40], ['SQUEEZE', 43],
    ['UNIDIRECTIONAL_SEQUENCE_LSTM', 44], ['PADV2', 60], ['EXPAND_DIMS', 70], ['SHAPE', 77], ['PACK', 83],
    ['RESIZE_NEAREST_NEIGHBOR', 97], ['LEAKY_RELU', 98], ['QUANTIZE', 114], ['HARD_SWISH', 117],
    ['PLACEHOLDER_FOR_GREATER_OP_CODES', 127], ['GELU', 150], ['RIGHT_SHIFT', 161], ['DILATE', 203],
    ['REDUCE_WINDOW', 205], ['TEMP_STREAMING_CONV_2D', 225],
  ];
  for (const [name, code] of known) {
    t.is(builtinName(code), name);
    t.is(builtinCode(name), code);
  }
});

// ---- the shared real models ----

if (!shared) {
  test('shared models', (t) => {
    t.log('NOTICE: ../shared is absent: TFLite import tests on real models skipped');
    t.pass();
  });
} else {
  for (const name of listModels()) {
    test(`imports ${name}: op counts and io match the manifest`, (t) => {
      const g = importTflite(fs.readFileSync(modelPath(name)));
      const m = loadManifest(name);
      const got: Record<string, number> = {};
      for (const op of g.ops) got[op.kind] = (got[op.kind] ?? 0) + 1;
      if (m.ops) {
        const want: Record<string, number> = {};
        for (const [op, n] of Object.entries(m.ops)) {
          const kind = TFL_TO_IR[op] ?? op;
          want[kind] = (want[kind] ?? 0) + n;
        }
        t.deepEqual(got, want);
      } else {
        t.log(`NOTICE: ${name}: the manifest lists no op counts; imported ${JSON.stringify(got)}`);
        t.true(g.ops.length > 0);
      }
      t.is(g.semantics, 'tflite');
      t.is(g.source.format, 'tflite');
      t.is(g.source.version, 3);
      checkAttrNames(t, g);

      for (const c of m.cases) {
        const io: [number[], typeof c.inputs][] = [
          [g.inputs, c.inputs],
          [g.outputs, c.outputs],
        ];
        for (const [idx, want] of io) {
          t.is(idx.length, want.length);
          want.forEach((w, k) => {
            const tensor = g.tensors[idx[k]];
            t.is(tensor.dtype as string, w.dtype);
            t.deepEqual(tensor.shape, w.shape);
            if (w.dtype !== 'float32') {
              t.truthy(tensor.quant);
              t.true(Math.abs(tensor.quant!.scales[0] - w.scale) <= 1e-6 * w.scale, `${c.name} scale`);
              t.is(tensor.quant!.zeroPoints[0], w.zero_point);
            }
          });
        }
      }
      // constants are copies: they must not alias the file's memory
      const file = fs.readFileSync(modelPath(name));
      const g2 = importTflite(file);
      for (const tensor of g2.tensors) if (tensor.data) t.not(tensor.data.buffer, file.buffer);
    });
  }

  test('person_detect: padding and depth multiplier come from the shapes', (t) => {
    const g = importTflite(fs.readFileSync(modelPath('person_detect')));
    // first op: 3x3 depthwise, stride 2, SAME over 96x96 -> 48x48: total pad 1, all of it after
    const first = g.ops[0];
    t.is(first.kind, 'DEPTHWISE_CONV_2D');
    t.like(first.attrs, { padTop: 0, padBottom: 1, padLeft: 0, padRight: 1, strideH: 2, strideW: 2, depthMultiplier: 8 });
    // per-channel filter quantization on axis 3, rank-1 bias on axis 0
    const filter = g.tensors[first.inputs[1]];
    t.is(filter.quant!.axis, 3);
    t.is(filter.quant!.scales.length, 8);
    t.is(g.tensors[first.inputs[2]].quant!.axis, 0);
  });
}

// ---- builder round trips ----

function convModel(extra: Partial<TflModelSpec> = {}): TflModelSpec {
  // input [1,4,5,2], filter OHWI [3,3,3,2] per channel, bias [3], output [1,2,3,3]
  return {
    tensors: [
      { name: 'in', type: 'int8', shape: [1, 4, 5, 2], quant: { scale: [0.5], zeroPoint: [-3] } },
      {
        name: 'w',
        type: 'int8',
        shape: [3, 3, 3, 2],
        quant: { scale: [0.1, 0.2, 0.3], zeroPoint: [0, 0, 0], axis: 0 },
        data: i8(Array.from({ length: 54 }, (_, k) => k - 27)),
      },
      { name: 'b', type: 'int32', shape: [3], quant: { scale: [0.05, 0.1, 0.15], zeroPoint: [0, 0, 0] }, data: i32([1, -2, 3]) },
      { name: 'out', type: 'int8', shape: [1, 2, 3, 3], quant: { scale: [0.25], zeroPoint: [5] } },
    ],
    operators: [{ op: 'CONV_2D', inputs: [0, 1, 2], outputs: [3], options: { padding: 'SAME', strideH: 2, strideW: 2, activation: 'RELU6' } }],
    inputs: [0],
    outputs: [3],
    ...extra,
  };
}

test('round trip: conv SAME stride 2 with per-channel quantization', (t) => {
  const bytes = buildTflite(convModel());
  t.is(String.fromCharCode(...bytes.subarray(4, 8)), 'TFL3');
  const g = importTflite(bytes);
  t.is(g.ops.length, 1);
  const op = g.ops[0];
  t.is(op.kind, 'CONV_2D');
  t.is(op.name, 'CONV_2D #0');
  t.deepEqual(op.inputs, [0, 1, 2]);
  t.deepEqual(op.outputs, [3]);
  // height: in 4, k 3, s 2 -> out 2, total (2-1)*2+3-4 = 1 -> top 0, bottom 1
  // width:  in 5, k 3, s 2 -> out 3, total (3-1)*2+3-5 = 2 -> left 1, right 1
  t.deepEqual(op.attrs, { padTop: 0, padLeft: 1, padBottom: 1, padRight: 1, strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, activation: 3 });
  const w = g.tensors[1];
  t.is(w.dtype, 'int8');
  t.deepEqual(w.quant!.zeroPoints, [0, 0, 0]);
  t.is(w.quant!.axis, 0);
  t.deepEqual(w.quant!.scales, [0.1, 0.2, 0.3].map(Math.fround));
  t.deepEqual(Array.from(new Int8Array(w.data!.buffer, w.data!.byteOffset, 54)), Array.from({ length: 54 }, (_, k) => k - 27));
  t.deepEqual(Array.from(new Int32Array(g.tensors[2].data!.slice().buffer)), [1, -2, 3]);
  t.is(g.tensors[0].quant!.axis, -1);
  t.deepEqual(g.tensors[0].quant!.zeroPoints, [-3]);
  t.is(g.tensors[0].data, undefined);
  t.deepEqual(g.inputs, [0]);
  t.deepEqual(g.outputs, [3]);
  t.is(g.source.description, 'qie test model');
  checkAttrNames(t, g);
});

test("tensors no op uses (an LSTM's shape-[0] intermediates) stay out of the plan, and the model runs as without them", async (t) => {
  const plain = convModel();
  const unused = { name: 'lstm/intermediate_1', type: 'int16' as const, shape: [0], quant: { scale: [0.0078125], zeroPoint: [0] } };
  const shift = (list: number[]) => list.map((i) => i + 1);
  const withUnused = buildTflite({
    ...plain,
    tensors: [unused, ...plain.tensors, { ...unused, name: 'lstm/intermediate_2' }],
    operators: plain.operators.map((o) => ({ ...o, inputs: shift(o.inputs), outputs: shift(o.outputs) })),
    inputs: shift(plain.inputs),
    outputs: shift(plain.outputs),
  });
  t.is(importTflite(withUnused).tensors.length, 6, "the importer keeps the file's tensor numbering");
  const g = compileModel(withUnused).graph;
  t.deepEqual(g.tensors.map((x) => x.name), ['in', 'w', 'b', 'out']);
  t.deepEqual(g.ops[0].inputs, [0, 1, 2]);
  const [a, b] = await Promise.all([loadModel(buildTflite(plain)), loadModel(withUnused)]);
  t.teardown(() => {
    a.dispose();
    b.dispose();
  });
  const x = new Int8Array(40).map((_, i) => (i * 29) % 256 - 128);
  t.deepEqual(Array.from((await b.run([x]))[0] as Int8Array), Array.from((await a.run([x]))[0] as Int8Array));
});

test('round trip: constant data stored after the flatbuffer (Buffer.offset/size)', (t) => {
  const inline = importTflite(buildTflite(convModel()));
  const bytes = buildTflite(convModel({ externalData: true }));
  const g = importTflite(bytes);
  t.deepEqual(Array.from(g.tensors[1].data!), Array.from(inline.tensors[1].data!));
  t.deepEqual(Array.from(g.tensors[2].data!), Array.from(inline.tensors[2].data!));
  // the external data must lie inside the file
  expectError(t, () => importTflite(bytes.subarray(0, bytes.length - 16)), 'model_invalid', /outside the file/);
});

test('conv output shape must agree with the padding mode', (t) => {
  const spec = convModel();
  spec.tensors[3].shape = [1, 2, 2, 3];
  expectError(t, () => importTflite(buildTflite(spec)), 'model_invalid', /CONV_2D #0: output width is 2, but the padding mode gives 3/);
});

test('missing options tables take the defaults', (t) => {
  const spec = convModel();
  spec.tensors[3].shape = [1, 4, 5, 3];
  spec.operators[0].noOptions = true;
  const g = importTflite(buildTflite(spec));
  // SAME, stride 1, 3x3: one pixel each side
  t.deepEqual(g.ops[0].attrs, { padTop: 1, padLeft: 1, padBottom: 1, padRight: 1, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, activation: 0 });
});

test('depthwise: VALID with dilation, multiplier from the shapes (option value ignored)', (t) => {
  const g = importTflite(
    buildTflite({
      tensors: [
        { type: 'int8', shape: [1, 7, 7, 2], quant: { scale: [1], zeroPoint: [0] } },
        { type: 'int8', shape: [1, 3, 3, 4], quant: { scale: [1, 1, 1, 1], zeroPoint: [0, 0, 0, 0], axis: 3 }, data: new Uint8Array(36) },
        // dilation 2 -> effective 5: (7-5)/1+1 = 3
        { type: 'int8', shape: [1, 3, 3, 4], quant: { scale: [1], zeroPoint: [0] } },
      ],
      operators: [
        { op: 'DEPTHWISE_CONV_2D', inputs: [0, 1, -1], outputs: [2], options: { padding: 'VALID', dilationH: 2, dilationW: 2, depthMultiplier: 7 } },
      ],
      inputs: [0],
      outputs: [2],
    }),
  );
  t.deepEqual(g.ops[0].inputs, [0, 1, -1]);
  t.deepEqual(g.ops[0].attrs, {
    padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, strideH: 1, strideW: 1, dilationH: 2, dilationW: 2, activation: 0, depthMultiplier: 2,
  });
});

test('pools, eltwise and the small ops map their options', (t) => {
  const q = { scale: [0.5], zeroPoint: [0] };
  const g = importTflite(
    buildTflite({
      tensors: [
        { type: 'int8', shape: [1, 5, 5, 4], quant: q }, // 0
        { type: 'int8', shape: [1, 3, 3, 4], quant: q }, // 1 avg pool out
        { type: 'int8', shape: [1, 2, 2, 4], quant: q }, // 2 max pool out
        { type: 'int8', shape: [1, 3, 3, 4], quant: q }, // 3 add out
        { type: 'int8', shape: [1, 3, 3, 8], quant: q }, // 4 concat out
        { type: 'int8', shape: [2, 1, 3, 3, 4], quant: q }, // 5 pack out
        { type: 'int8', shape: [1, 36], quant: q }, // 6 squeeze/reshape out
        { type: 'int32', shape: [2], data: i32([1, 36]) }, // 7 shape operand
        { type: 'int8', shape: [1, 36], quant: q }, // 8 softmax out
        { type: 'float32', shape: [1, 36] }, // 9 dequantize out
        { type: 'float32', shape: [1, 36] }, // 10 leaky relu out
        { type: 'int32', shape: [2], data: i32([1, 2]) }, // 11 mean axes
        { type: 'int8', shape: [1, 1, 1, 4], quant: q }, // 12 mean out
        { type: 'int32', shape: [4], data: i32([0, 0, 0, 0]) }, // 13 begin
        { type: 'int32', shape: [4], data: i32([1, 2, 2, 4]) }, // 14 end
        { type: 'int32', shape: [4], data: i32([1, 1, 1, 1]) }, // 15 strides
        { type: 'int8', shape: [2, 2, 4], quant: q }, // 16 slice out
        { type: 'int32', shape: [2], data: i32([6, 6]) }, // 17 resize size
        { type: 'int8', shape: [1, 6, 6, 4], quant: q }, // 18 resize out
        { type: 'int32', shape: [4, 2], data: i32([0, 0, 1, 1, 1, 1, 0, 0]) }, // 19 paddings
        { type: 'int8', shape: [1, 7, 7, 4], quant: q }, // 20 padv2 out
        { type: 'int8', shape: [], quant: q, data: i8([3]) }, // 21 pad value
      ],
      operators: [
        { op: 'AVERAGE_POOL_2D', inputs: [0], outputs: [1], options: { padding: 'SAME', strideH: 2, strideW: 2, filterH: 2, filterW: 3 } },
        { op: 'MAX_POOL_2D', inputs: [0], outputs: [2], options: { padding: 'VALID', strideH: 2, strideW: 2, filterH: 2, filterW: 2, activation: 'RELU' } },
        { op: 'ADD', inputs: [1, 1], outputs: [3], options: { activation: 'RELU_N1_TO_1' } },
        { op: 'CONCATENATION', inputs: [1, 3], outputs: [4], options: { axis: -1 } },
        { op: 'PACK', inputs: [1, 3], outputs: [5], options: { axis: 0, valuesCount: 2 } },
        { op: 'RESHAPE', inputs: [3, 7], outputs: [6] },
        { op: 'SOFTMAX', inputs: [6], outputs: [8], options: { beta: 0.5 } },
        { op: 'DEQUANTIZE', inputs: [8], outputs: [9] },
        { op: 'LEAKY_RELU', inputs: [9], outputs: [10], options: { alpha: 0.25 } },
        { op: 'MEAN', inputs: [3, 11], outputs: [12], options: { keepDims: true } },
        { op: 'STRIDED_SLICE', inputs: [1, 13, 14, 15], outputs: [16], options: { shrinkAxisMask: 1, beginMask: 6, offset: true } },
        { op: 'RESIZE_NEAREST_NEIGHBOR', inputs: [1, 17], outputs: [18], options: { halfPixelCenters: true } },
        { op: 'PADV2', inputs: [0, 19, 21], outputs: [20] },
        { op: 'SQUEEZE', inputs: [12], outputs: [12] },
      ],
      inputs: [0],
      outputs: [10],
    }),
  );
  checkAttrNames(t, g);
  const [avg, max, add, cat, pack, reshape, softmax, deq, leaky, mean, slice, resize, pad, squeeze] = g.ops;
  // avg: SAME 5 -> 3 with stride 2; k 2: total (3-1)*2+2-5 = 1 -> 0/1; k 3: total 2 -> 1/1
  t.deepEqual(avg.attrs, { padTop: 0, padLeft: 1, padBottom: 1, padRight: 1, strideH: 2, strideW: 2, filterH: 2, filterW: 3, activation: 0 });
  t.deepEqual(max.attrs, { padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, strideH: 2, strideW: 2, filterH: 2, filterW: 2, activation: 1 });
  t.deepEqual(add.attrs, { activation: 2 });
  t.deepEqual(cat.attrs, { axis: 3, activation: 0 });
  t.deepEqual(pack.attrs, { axis: 0 });
  t.is(reshape.kind, 'RESHAPE');
  t.deepEqual(reshape.inputs, [3]);
  t.deepEqual(softmax.attrs, { beta: 0.5 });
  t.is(deq.kind, 'DEQUANTIZE');
  t.deepEqual(leaky.attrs, { alpha: 0.25 });
  t.deepEqual(mean.attrs, { keepDims: 1 });
  t.deepEqual(slice.attrs, { beginMask: 6, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 1, offset: 1 });
  t.deepEqual(resize.attrs, { alignCorners: 0, halfPixelCenters: 1 });
  t.is(pad.kind, 'PAD');
  t.deepEqual(pad.inputs, [0, 19, 21]);
  t.is(squeeze.kind, 'RESHAPE');
  t.is(squeeze.name, 'SQUEEZE #13');
  t.deepEqual(g.tensors[21].shape, []);
});

test('FC, SVDF and LSTM options; LSTM inputs padded to 24', (t) => {
  const q = { scale: [0.5], zeroPoint: [0] };
  const tensors = Array.from({ length: 30 }, () => ({ type: 'int8' as const, shape: [1, 4], quant: q }));
  const g = importTflite(
    buildTflite({
      tensors: [...tensors, { type: 'int16', shape: [1, 4], variable: true, quant: q }],
      operators: [
        { op: 'FULLY_CONNECTED', inputs: [0, 1, -1], outputs: [2], options: { activation: 'RELU', keepNumDims: true } },
        { op: 'SVDF', inputs: [2, 3, 4, -1, 30], outputs: [5], options: { rank: 2, activation: 'RELU' } },
        {
          op: 'UNIDIRECTIONAL_SEQUENCE_LSTM',
          inputs: Array.from({ length: 20 }, (_, k) => (k < 9 || k >= 12 ? 6 + k : -1)),
          outputs: [29],
          options: { activation: 'TANH', timeMajor: true, cellClip: 8, projClip: 0.5 },
        },
      ],
      inputs: [0],
      outputs: [29],
    }),
  );
  checkAttrNames(t, g);
  t.deepEqual(g.ops[0].attrs, { activation: 1, keepNumDims: 1 });
  t.deepEqual(g.ops[1].attrs, { rank: 2, activation: 1 });
  t.true(g.tensors[30].variable);
  t.deepEqual(g.ops[2].attrs, { activation: 4, timeMajor: 1, cellClip: 8, projClip: 0.5 });
  t.is(g.ops[2].inputs.length, 24);
  t.deepEqual(g.ops[2].inputs.slice(20), [-1, -1, -1, -1]);
});

// ---- uint8 legacy models ----

test('uint8ToInt8: zero points - 128, data ^ 0x80, io recorded', (t) => {
  const g = importTflite(
    buildTflite({
      tensors: [
        { name: 'x', type: 'uint8', shape: [1, 2], quant: { scale: [0.5], zeroPoint: [128] } },
        { name: 'w', type: 'uint8', shape: [2, 2], quant: { scale: [0.25], zeroPoint: [100] }, data: u8([0, 127, 128, 255]) },
        { name: 'b', type: 'int32', shape: [2], quant: { scale: [0.125], zeroPoint: [0] }, data: i32([7, -7]) },
        { name: 'y', type: 'uint8', shape: [1, 2], quant: { scale: [1], zeroPoint: [0] } },
        { name: 'z', type: 'float32', shape: [1, 2] },
      ],
      operators: [
        { op: 'FULLY_CONNECTED', inputs: [0, 1, 2], outputs: [3] },
        { op: 'DEQUANTIZE', inputs: [3], outputs: [4] },
      ],
      inputs: [0],
      outputs: [3, 4],
    }),
  );
  const before = g.tensors[1].data!.slice();
  const h = runPasses(g);
  t.is(h.tensors[0].dtype, 'int8');
  t.deepEqual(h.tensors[0].quant!.zeroPoints, [0]);
  t.deepEqual(h.tensors[1].quant!.zeroPoints, [-28]);
  t.deepEqual(Array.from(new Int8Array(h.tensors[1].data!.buffer)), [-128, -1, 0, 127]);
  t.deepEqual(h.tensors[3].quant!.zeroPoints, [-128]);
  t.is(h.tensors[2].dtype, 'int32');
  t.is(h.tensors[2].data, g.tensors[2].data);
  t.deepEqual(h.uint8Io, { inputs: [true], outputs: [true, false] });
  // the input graph is left alone
  t.is(g.tensors[1].dtype, 'uint8');
  t.deepEqual(g.tensors[1].data, before);
  // an int8 model passes through unchanged
  const conv = importTflite(buildTflite(convModel()));
  t.is(uint8ToInt8(conv), conv);
  t.is(conv.uint8Io, undefined);
});

// ---- malformed and unsupported files ----

test('refuses a wrong identifier or schema version', (t) => {
  const bytes = buildTflite(convModel());
  const bad = bytes.slice();
  bad[4] = 'X'.charCodeAt(0);
  expectError(t, () => importTflite(bad), 'model_invalid', /identifier is "XFL3"/);
  expectError(t, () => importTflite(new Uint8Array(0)), 'model_invalid', /too short/);
  expectError(t, () => importTflite(buildTflite(convModel({ version: 2 }))), 'model_invalid', /schema version 2/);
});

test('truncated files give model_invalid at every length', (t) => {
  const bytes = buildTflite(convModel());
  for (let n = 0; n < bytes.length; n++) {
    try {
      importTflite(bytes.subarray(0, n));
    } catch (e) {
      if (!(e instanceof QieError) || e.code !== 'model_invalid') t.fail(`length ${n}: ${String(e)}`);
      continue;
    }
    // a flatbuffer's root is at the front, so a shorter file can still parse only if it ends in padding/unused bytes
  }
  if (shared) {
    const pd = fs.readFileSync(modelPath('person_detect'));
    for (let k = 0; k < 300; k++) {
      const n = Math.floor((k * pd.length) / 300);
      const e = t.throws(() => importTflite(pd.subarray(0, n)), { instanceOf: QieError });
      t.is(e!.code, 'model_invalid', `person_detect truncated to ${n}`);
    }
  }
  t.pass();
});

test('tensor, opcode and buffer indices are checked and named', (t) => {
  const spec = convModel();
  spec.operators[0].inputs = [0, 99, 2];
  expectError(t, () => importTflite(buildTflite(spec)), 'model_invalid', /operator #0 \(CONV_2D\) refers to input tensor 99, but there are 4 tensors/);
  const spec2 = convModel();
  spec2.outputs = [7];
  expectError(t, () => importTflite(buildTflite(spec2)), 'model_invalid', /subgraph outputs refer to tensor 7/);
  const spec3 = convModel();
  spec3.tensors[2].data = i32([1, 2]); // shape [3] needs 12 bytes
  expectError(t, () => importTflite(buildTflite(spec3)), 'model_invalid', /has 8 bytes of constant data, but its shape \[3\] needs 12/);
  const spec4 = convModel();
  spec4.tensors[1].quant = { scale: [0.1, 0.2], zeroPoint: [0, 0], axis: 0 };
  expectError(t, () => importTflite(buildTflite(spec4)), 'model_invalid', /2 scales for 3 channels/);
  const spec6 = convModel();
  spec6.operators[0].optionsTypeOverride = 5; // Pool2DOptions on a conv
  expectError(t, () => importTflite(buildTflite(spec6)), 'model_invalid', /CONV_2D #0 carries builtin options of the wrong type \(5\)/);
  const spec5 = convModel();
  spec5.operators[0].inputs = [0];
  expectError(t, () => importTflite(buildTflite(spec5)), 'model_invalid', /CONV_2D #0 has 1 inputs/);
});

test('unsupported builtin and custom ops name the op and its index', (t) => {
  const spec = convModel();
  spec.tensors.push({ name: 'f', type: 'int8', shape: [1, 2, 3, 3], quant: { scale: [1], zeroPoint: [0] } });
  spec.operators.push({ op: 'FLOOR', inputs: [3], outputs: [4] });
  expectError(t, () => importTflite(buildTflite(spec)), 'unsupported_op', /unsupported op FLOOR \(builtin code 8\) at operator #1/);
  const spec2 = convModel();
  spec2.operators.unshift({ op: 'GELU', inputs: [0], outputs: [0] }); // code 150: only in builtin_code
  expectError(t, () => importTflite(buildTflite(spec2)), 'unsupported_op', /unsupported op GELU \(builtin code 150\) at operator #0/);
  const spec3 = convModel();
  spec3.operators.push({ op: 'CUSTOM', custom: 'TFLite_Detection_PostProcess', inputs: [3], outputs: [3] });
  expectError(t, () => importTflite(buildTflite(spec3)), 'unsupported_op', /custom op "TFLite_Detection_PostProcess" at operator #1/);
});

test('unsupported tensor types and ranks', (t) => {
  const spec = convModel();
  spec.tensors[0].type = 'float16';
  expectError(t, () => importTflite(buildTflite(spec)), 'unsupported_op', /type FLOAT16/);
  const spec2 = convModel();
  spec2.tensors[0].type = 'string';
  expectError(t, () => importTflite(buildTflite(spec2)), 'unsupported_op', /type STRING/);
  const spec3 = convModel();
  spec3.tensors[3].shape = [1, 1, 1, 1, 1, 1, 1];
  expectError(t, () => importTflite(buildTflite(spec3)), 'unsupported_op', /rank 7/);
  const spec4 = convModel();
  spec4.tensors[3].shape = [1, -2, 3, 3];
  expectError(t, () => importTflite(buildTflite(spec4)), 'model_invalid', /negative dimension/);
  const spec5 = convModel();
  spec5.tensors[3].shape = [65536, 65536, 1, 1];
  expectError(t, () => importTflite(buildTflite(spec5)), 'model_invalid', /too large/);
});

// ---- mutation sweep ----

test('mutation sweep: 2,000 byte-flipped person_detect variants import or throw QieError', (t) => {
  let base: Uint8Array;
  if (shared) base = new Uint8Array(fs.readFileSync(modelPath('person_detect')));
  else {
    t.log('NOTICE: ../shared is absent: sweeping a built model instead of person_detect');
    base = buildTflite(convModel());
  }
  // Bytes of constant data are mostly harmless to flip; aim half of the flips at the rest.
  const g = importTflite(base);
  const isData = new Uint8Array(base.length);
  const hay = Buffer.from(base.buffer, base.byteOffset, base.length);
  for (const tensor of g.tensors) {
    const d = tensor.data;
    if (!d || d.length < 64) continue;
    const at = hay.indexOf(Buffer.from(d.buffer, d.byteOffset, d.length));
    if (at >= 0) isData.fill(1, at, at + d.length);
  }
  const structural: number[] = [];
  for (let i = 0; i < base.length; i++) if (!isData[i]) structural.push(i);

  const rnd = seededRandom(0x9e3779b9);
  const started = Date.now();
  let imported = 0;
  const codes: Record<string, number> = {};
  for (let k = 0; k < 2000; k++) {
    const v = base.slice();
    const flips = 1 + Math.floor(rnd() * 4);
    for (let f = 0; f < flips; f++) {
      const pos = rnd() < 0.5 ? Math.floor(rnd() * v.length) : structural[Math.floor(rnd() * structural.length)];
      v[pos] = rnd() < 0.5 ? v[pos] ^ (1 << Math.floor(rnd() * 8)) : Math.floor(rnd() * 256);
    }
    try {
      importTflite(v);
      imported++;
    } catch (e) {
      if (!(e instanceof QieError)) {
        t.fail(`variant ${k}: ${String(e)}`);
        continue;
      }
      // the catch-all in importTflite must not be what saved us
      if (/unexpected:/.test(e.message)) t.fail(`variant ${k}: unchecked failure: ${e.message}`);
      codes[e.code] = (codes[e.code] ?? 0) + 1;
    }
  }
  const ms = Date.now() - started;
  t.log(`2000 variants in ${ms} ms: ${imported} imported, errors ${JSON.stringify(codes)}`);
  t.true(ms < 30000, 'sweep runs in seconds');
});
