// The quantizer's output file, read back by qie's own TFLite importer, holds exactly
// the tensors the quantizer computed: dtypes, shapes, scales, zero points, axes and
// constant bytes; and the weights follow TFLite's int8 rules when derived here
// independently from the float file.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { compileModel } from '../src/model/compile';
import { Tensor } from '../src/model/ir';
import { byName, sameGraph } from './helpers/quant-compare';
import { quantizeFloatModel } from '../src/quant/ptq';
import { makeGestureSet } from '../firmware-tools/gestures/synthetic';
import { smallCnn, uniformSamples } from './helpers/quant-models';
import { listModels, loadManifest, modelPath, readCase, sharedDir } from './helpers/shared';
import { graphToTflite } from '../src/model/export/graph-to-tflite';
import { loadModel } from '../src';
import { Model } from '../src/engine/model';
import { writePlan } from '../src/model/plan';

const floats = (t: Tensor) => new Float32Array(t.data!.buffer.slice(t.data!.byteOffset, t.data!.byteOffset + t.data!.byteLength));
const round = (x: number) => Math.sign(x) * Math.round(Math.abs(x));

test('a project-built float CNN: the written .tflite re-imports to exactly what the quantizer computed', async (t) => {
  const floatBytes = smallCnn();
  for (const io of ['int8', 'float'] as const) {
    const r = await quantizeFloatModel(floatBytes, uniformSamples(60, 128, 5), { io });
    sameGraph(t, r.graph, compileModel(r.tflite).graph);
  }
});

test('weights, biases and fixed outputs follow the TFLite int8 rules', async (t) => {
  const floatBytes = smallCnn();
  const src = byName(compileModel(floatBytes).graph);
  const r = await quantizeFloatModel(floatBytes, uniformSamples(60, 128, 5));
  const q = byName(compileModel(r.tflite).graph);
  // conv: per output channel (axis 0), symmetric, [-127, 127]
  for (const [name, axis, channels] of [['conv/w', 0, 4], ['dw/w', 3, 8]] as const) {
    const w = floats(src.get(name)!);
    const qt = q.get(name)!;
    t.is(qt.dtype, 'int8');
    t.is(qt.quant!.axis, axis);
    t.is(qt.quant!.scales.length, channels);
    t.true(qt.quant!.zeroPoints.every((z) => z === 0));
    const shape = qt.shape;
    const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const maxAbs = new Array(channels).fill(0);
    w.forEach((v, i) => (maxAbs[Math.floor(i / inner) % channels] = Math.max(maxAbs[Math.floor(i / inner) % channels], Math.abs(v))));
    t.deepEqual(qt.quant!.scales, maxAbs.map((m) => Math.fround(m / 127)));
    const data = new Int8Array(qt.data!.buffer, qt.data!.byteOffset, qt.data!.length);
    w.forEach((v, i) => {
      if (data[i] !== round(v / qt.quant!.scales[Math.floor(i / inner) % channels])) t.fail(`${name}[${i}]`);
    });
  }
  // bias: int32 at input scale x weight scale
  const convIn = q.get('image')!.quant!.scales[0];
  const b = q.get('conv/b')!;
  t.is(b.dtype, 'int32');
  t.deepEqual(b.quant!.scales, q.get('conv/w')!.quant!.scales.map((s) => Math.fround(convIn * s)));
  const bf = floats(src.get('conv/b')!);
  t.deepEqual(Array.from(new Int32Array(b.data!.buffer.slice(b.data!.byteOffset, b.data!.byteOffset + b.data!.byteLength))), Array.from(bf, (v, c) => round(v / b.quant!.scales[c])));
  // fully connected: one weight scale
  t.is(q.get('fc/w')!.quant!.scales.length, 1);
  // pool and reshape share their input's parameters; softmax is 1/256, -128
  t.deepEqual(q.get('pool')!.quant, q.get('dw/out')!.quant);
  t.deepEqual(q.get('flat')!.quant!.scales, q.get('dw/out')!.quant!.scales);
  t.deepEqual(q.get('probs')!.quant!.scales, [1 / 256]);
  t.deepEqual(q.get('probs')!.quant!.zeroPoints, [-128]);
  // ReLU output: the range starts at 0, so its zero point is -128
  t.is(q.get('conv/relu')!.quant!.zeroPoints[0], -128);
});

test('magic_wand: the written .tflite re-imports to exactly what the quantizer computed', async (t) => {
  if (!sharedDir() || !existsSync(modelPath('magic_wand'))) {
    t.log('NOTICE: ../shared/models/magic_wand is absent: skipped');
    t.pass();
    return;
  }
  const r = await quantizeFloatModel(readFileSync(modelPath('magic_wand')), makeGestureSet(120, 3).windows);
  sameGraph(t, r.graph, compileModel(r.tflite).graph);
});

test('graphToTflite: every shared model written back from the IR re-imports to the same graph and the same outputs', async (t) => {
  const models = listModels();
  if (models.length === 0) {
    t.log('NOTICE: ../shared is absent: skipped');
    t.pass();
    return;
  }
  for (const name of models) {
    const original = compileModel(readFileSync(modelPath(name))).graph;
    const written = graphToTflite(original);
    sameGraph(t, original, compileModel(written).graph);
    const c = readCase(name, loadManifest(name).cases[0].name);
    const [a, b] = await Promise.all([loadModel(readFileSync(modelPath(name))), loadModel(written)]);
    const feeds = c.inputs.map((i) => i.data);
    // a legacy uint8 model's IR is int8 (uint8Io marks its io): the file written from it
    // is an int8 model, whose io bytes are the uint8 bytes xor 0x80
    const flip = (d: Uint8Array, yes: boolean | undefined) => Buffer.from(d.map((v) => (yes ? v ^ 0x80 : v)));
    const io = original.uint8Io;
    const [ya, yb] = [await a.run(feeds), await b.run(feeds.map((d, k) => flip(d, io?.inputs[k])))];
    a.dispose();
    b.dispose();
    const bytes = (y: ArrayBufferView) => Buffer.from(y.buffer, y.byteOffset, y.byteLength);
    t.deepEqual(yb.map((y, k) => flip(bytes(y), io?.outputs[k])), ya.map(bytes), name);
  }
});

test('graphToTflite: conv pads no TFLite padding mode gives (as from ONNX) become an explicit PAD', async (t) => {
  const g = compileModel(smallCnn()).graph;
  // top 2, left 0, bottom 0, right 2: still 8x8 out, but neither SAME (1,1,1,1) nor VALID
  const conv = g.ops[0];
  const skewed = { ...g, ops: [{ ...conv, attrs: { ...conv.attrs, padTop: 2, padLeft: 0, padBottom: 0, padRight: 2 } }, ...g.ops.slice(1)] };
  const written = compileModel(graphToTflite(skewed), { foldPad: false }).graph;
  t.deepEqual(written.ops.map((o) => o.kind).slice(0, 2), ['PAD', 'CONV_2D']);
  t.deepEqual(written.ops[1].attrs, { ...conv.attrs, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0 });
  // the compiler's fold-pad pass turns that PAD back into the conv's own padding
  t.deepEqual(compileModel(graphToTflite(skewed)).graph.ops[0].attrs, skewed.ops[0].attrs);
  const direct = new Model(skewed, writePlan(skewed), 'tflite', {});
  const viaFile = await loadModel(graphToTflite(skewed));
  t.teardown(() => {
    direct.dispose();
    viaFile.dispose();
  });
  for (const x of uniformSamples(3, 128, 4)) t.deepEqual(Array.from((await viaFile.run([x]))[0] as Float32Array), Array.from((await direct.run([x]))[0] as Float32Array));
  // and quantized: the PAD runs in int8 with the conv input's parameters
  const q = await quantizeFloatModel(skewed, uniformSamples(40, 128, 5));
  const m = await loadModel(q.tflite);
  t.teardown(() => m.dispose());
  t.deepEqual(compileModel(q.tflite, { foldPad: false }).graph.ops.slice(0, 2).map((o) => o.kind), ['PAD', 'CONV_2D']);
  // once folded (the int8 PAD pads with the conv input's zero point) the conv runs in int8
  t.deepEqual(m.ops[0] && `${m.ops[0].kind}:${m.ops[0].precision}`, 'CONV_2D:int8');
  t.true(q.report.endToEnd.top1Agreement >= 0.75);
});
