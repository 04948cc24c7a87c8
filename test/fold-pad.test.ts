// The fold-pad pass (src/model/passes/fold-pad.ts): a zero-point PAD in front of a
// conv becomes the conv's padding, and the outputs stay byte for byte the same.
import * as fs from 'fs';
import test from 'ava';
import { Model } from '../src/engine/model';
import { compileModel } from '../src/model/compile';
import { Graph } from '../src/model/ir';
import { ints, it32, q8, size } from './helpers/ops-helpers';
import { buildTflite, i32, i8, TflModelSpec } from './helpers/tflite-builder';
import { modelPath, sharedDir } from './helpers/shared';

const X = { scale: 0.05, zp: 5 };
const O = { scale: 0.2, zp: -4 };
const C = 3;

function qw(shape: number[], seed: number, axis: number) {
  const scales = Array.from({ length: shape[axis] }, (_, k) => 0.01 + 0.002 * k);
  return { type: 'int8' as const, shape, quant: { scale: scales, zeroPoint: scales.map(() => 0), axis }, data: i8(ints(size(shape), -127, 127, seed)) };
}
function bias(n: number, wScale: (k: number) => number, seed: number) {
  const scales = Array.from({ length: n }, (_, k) => wScale(k) * X.scale);
  return { type: 'int32' as const, shape: [n], quant: { scale: scales, zeroPoint: scales.map(() => 0) }, data: i32(ints(n, -2000, 2000, seed)) };
}
const pads = (h: [number, number], w: [number, number]) => it32([4, 2], [0, 0, ...h, ...w, 0, 0]);

/**
 * x [1, 6, 5, 3] feeds three padded convs:
 *  PAD (H 1/1, W 0/1) -> CONV_2D 3x3 stride 2 VALID,
 *  PADV2 (H 0/1, W 1/1, value = the zero point) -> DEPTHWISE_CONV_2D 3x3 SAME stride 2 (pads 1 + 1 on the bottom),
 *  PADV2 (value = zero point + 1) -> DEPTHWISE_CONV_2D stride 2, which must stay a PAD,
 *  PADV2 (value = zero point) -> DEPTHWISE_CONV_2D stride 1, kept too (faster pre-padded).
 */
function model(): TflModelSpec {
  return {
    tensors: [
      q8([1, 6, 5, C], X.scale, X.zp), // 0 x
      pads([1, 1], [0, 1]), // 1
      q8([1, 8, 6, C], X.scale, X.zp), // 2 padded for the conv
      qw([4, 3, 3, C], 11, 0), // 3
      bias(4, (k) => 0.01 + 0.002 * k, 12), // 4
      q8([1, 3, 2, 4], O.scale, O.zp), // 5 conv out
      pads([0, 1], [1, 1]), // 6
      q8([], X.scale, X.zp, [X.zp]), // 7 PADV2 value = zero point
      q8([1, 7, 7, C], X.scale, X.zp), // 8
      qw([1, 3, 3, C], 13, 3), // 9
      bias(C, (k) => 0.01 + 0.002 * k, 14), // 10
      q8([1, 4, 4, C], O.scale, O.zp), // 11 depthwise out
      q8([], X.scale, X.zp, [X.zp + 1]), // 12 PADV2 value != zero point
      q8([1, 7, 7, C], X.scale, X.zp), // 13
      q8([1, 4, 4, C], O.scale, O.zp), // 14 depthwise out, PAD kept
      q8([1, 7, 7, C], X.scale, X.zp), // 15
      q8([1, 7, 7, C], O.scale, O.zp), // 16 stride-1 depthwise out, PAD kept
    ],
    operators: [
      { op: 'PAD', inputs: [0, 1], outputs: [2] },
      { op: 'CONV_2D', inputs: [2, 3, 4], outputs: [5], options: { padding: 'VALID', strideH: 2, strideW: 2 } },
      { op: 'PADV2', inputs: [0, 6, 7], outputs: [8] },
      { op: 'DEPTHWISE_CONV_2D', inputs: [8, 9, 10], outputs: [11], options: { padding: 'SAME', strideH: 2, strideW: 2, depthMultiplier: 1 } },
      { op: 'PADV2', inputs: [0, 6, 12], outputs: [13] },
      { op: 'DEPTHWISE_CONV_2D', inputs: [13, 9, 10], outputs: [14], options: { padding: 'SAME', strideH: 2, strideW: 2, depthMultiplier: 1 } },
      { op: 'PADV2', inputs: [0, 6, 7], outputs: [15] },
      { op: 'DEPTHWISE_CONV_2D', inputs: [15, 9, 10], outputs: [16], options: { padding: 'SAME', depthMultiplier: 1 } },
    ],
    inputs: [0],
    outputs: [5, 11, 14, 16],
  };
}

const kinds = (g: Graph) => g.ops.map((o) => o.kind);

async function runCompiled(bytes: Uint8Array, foldPad: boolean, kernels: string, threads: number, feed: Int8Array) {
  const { graph, plan, format } = compileModel(bytes, { foldPad });
  const m = new Model(graph, plan, format, { kernels, threads });
  try {
    return (await m.run([feed])).map((o) => Array.from(o as Int8Array));
  } finally {
    m.dispose();
  }
}

test('PAD / PADV2 of the zero point fold into CONV_2D and strided DEPTHWISE_CONV_2D; the outputs do not change', async (t) => {
  const bytes = buildTflite(model());
  const folded = compileModel(bytes).graph;
  t.deepEqual(kinds(compileModel(bytes, { foldPad: false }).graph), ['PAD', 'CONV_2D', 'PAD', 'DEPTHWISE_CONV_2D', 'PAD', 'DEPTHWISE_CONV_2D', 'PAD', 'DEPTHWISE_CONV_2D']);
  t.deepEqual(kinds(folded), ['CONV_2D', 'DEPTHWISE_CONV_2D', 'PAD', 'DEPTHWISE_CONV_2D', 'PAD', 'DEPTHWISE_CONV_2D']);
  t.like(folded.ops[0].attrs, { padTop: 1, padBottom: 1, padLeft: 0, padRight: 1 });
  t.like(folded.ops[1].attrs, { padTop: 1, padBottom: 2, padLeft: 2, padRight: 2 });
  const feed = Int8Array.from(ints(6 * 5 * C, -128, 127, 7));
  const want = await runCompiled(bytes, false, 'ref', 1, feed);
  for (const kernels of ['ref', 'auto'])
    for (const threads of [1, 2]) t.deepEqual(await runCompiled(bytes, true, kernels, threads, feed), want, `${kernels} ${threads} threads`);
});

test('mobilenet_v2: fewer ops once PADs fold (TFLite and ONNX QDQ)', (t) => {
  if (!sharedDir()) {
    t.log('NOTICE: ../shared is absent: mobilenet_v2 op counts skipped');
    t.pass();
    return;
  }
  const files = ['model.tflite', 'model.qdq.onnx'].filter((f) => fs.existsSync(modelPath('mobilenet_v2', f)));
  for (const f of files) {
    const bytes = fs.readFileSync(modelPath('mobilenet_v2', f));
    const before = compileModel(bytes, { foldPad: false }).graph;
    const after = compileModel(bytes).graph;
    const pads = (g: Graph) => kinds(g).filter((k) => k === 'PAD').length;
    t.log(`${f}: ${before.ops.length} -> ${after.ops.length} ops, PAD ${pads(before)} -> ${pads(after)}`);
    t.is(after.ops.length, before.ops.length - (pads(before) - pads(after)), f);
    // every PAD left feeds a stride-1 depthwise conv (kept on purpose, see fold-pad.ts)
    const cons = after.ops.filter((o) => o.kind === 'PAD').map((p) => after.ops.find((o) => o.inputs[0] === p.outputs[0]));
    t.true(cons.every((c) => c?.kind === 'DEPTHWISE_CONV_2D' && c.attrs.strideH === 1), f);
    if (f.endsWith('.tflite')) t.true(after.ops.length < before.ops.length, f);
  }
  t.true(files.includes('model.tflite'));
});
