// Translators of the standard ONNX ops: Q/DQ and the float ops they surround.
// 4-D activations are produced NHWC; everything else keeps ONNX's layout.
import { DType, elementCount } from '../ir';
import type { Importer } from './onnx';
import { Layout, nhwcAxis, permute, Value } from './onnx-builder';
import { Node, normAxis, Translator } from './onnx-node';
import { elemType, invalid, OnnxNode, unsupported } from './onnx-proto';

function quantizeLinear(im: Importer, n: Node): void {
  const b = im.b;
  const x = im.in(n, 0);
  const scale = im.in(n, 1);
  const zp = im.opt(n, 2);
  const block = n.int('block_size', 0);
  let dtype: DType = 'uint8';
  let bits = 0;
  if (zp) {
    dtype = b.tensor(zp).dtype;
    bits = b.fourBit.has(zp.t) ? 4 : 0;
  } else if (n.int('output_dtype', 0)) {
    const et = elemType(n.int('output_dtype', 0), `${n.where} output_dtype`);
    dtype = et.dtype;
    bits = et.bits;
  }
  if (!['int8', 'uint8', 'int16', 'uint16'].includes(dtype)) unsupported(`${n.where}: quantizing to ${dtype} is not supported`);
  if (b.tensor(x).dtype !== 'float32') unsupported(`${n.where}: input must be float32, got ${b.tensor(x).dtype}`);
  const q = im.qdqInput(n, x, scale, n.int('axis', 1), block);
  const y = b.activation(im.outName(n), dtype, b.tensors[q.t].shape);
  if (bits) b.fourBit.add(y);
  b.op('QUANTIZE_LINEAR', n.n.name, [q.t, scale.t, zp ? zp.t : -1], [y], { axis: q.axis, blockSize: block, bits });
  im.attachQuant(y, scale, zp, q.axis, block);
  im.out(n, 0, y, q.layout);
}

function dequantizeLinear(im: Importer, n: Node): void {
  const b = im.b;
  const x = im.in(n, 0);
  const scale = im.in(n, 1);
  const zp = im.opt(n, 2);
  const block = n.int('block_size', 0);
  if (zp && b.tensor(zp).dtype !== b.tensor(x).dtype) invalid(`${n.where}: zero point type differs from input type`);
  const q = im.qdqInput(n, x, scale, n.int('axis', 1), block);
  const y = b.activation(im.outName(n), 'float32', b.tensors[q.t].shape);
  b.op('DEQUANTIZE_LINEAR', n.n.name, [q.t, scale.t, zp ? zp.t : -1], [y], { axis: q.axis, blockSize: block, bits: b.fourBit.has(q.t) ? 4 : 0 });
  im.attachQuant(q.t, scale, zp, q.axis, block);
  im.out(n, 0, y, q.layout);
}

function dynamicQuantizeLinear(im: Importer, n: Node): void {
  const b = im.b;
  const x = b.plain(im.in(n, 0));
  const y = b.activation(im.outName(n, 0), 'uint8', b.tensors[x].shape);
  const s = b.activation(im.outName(n, 1), 'float32', []);
  const z = b.activation(im.outName(n, 2), 'uint8', []);
  b.op('DYNAMIC_QUANTIZE_LINEAR', n.n.name, [x], [y, s, z]);
  im.out(n, 0, y, 'plain');
  im.out(n, 1, s, 'plain');
  im.out(n, 2, z, 'plain');
}

/** Explicit [top, left, bottom, right] pads and the output size of a 2-D window op. */
export function window2d(n: Node, inH: number, inW: number, kH: number, kW: number): { pads: number[]; strides: number[]; dil: number[]; outH: number; outW: number } {
  const strides = n.ints('strides', [1, 1])!;
  const dil = n.ints('dilations', [1, 1])!;
  if (strides.length !== 2 || dil.length !== 2 || strides.some((s) => s < 1) || dil.some((d) => d < 1)) invalid(`${n.where}: strides/dilations must be two values >= 1`);
  const autoPad = n.str('auto_pad', 'NOTSET');
  const ins = [inH, inW];
  const ks = [kH, kW];
  let pads: number[];
  if (autoPad === 'NOTSET') {
    pads = n.ints('pads', [0, 0, 0, 0])!;
    if (pads.length !== 4 || pads.some((p) => p < 0)) invalid(`${n.where}: pads must be four values >= 0`);
  } else if (autoPad === 'VALID') {
    pads = [0, 0, 0, 0];
  } else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = [0, 0, 0, 0];
    for (let a = 0; a < 2; a++) {
      const out = Math.ceil(ins[a] / strides[a]);
      const total = Math.max(0, (out - 1) * strides[a] + (ks[a] - 1) * dil[a] + 1 - ins[a]);
      const small = Math.floor(total / 2);
      pads[a] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[a + 2] = total - pads[a];
    }
  } else {
    return invalid(`${n.where}: auto_pad ${autoPad}`);
  }
  const size = (a: number) => {
    const span = (ks[a] - 1) * dil[a] + 1;
    const padded = ins[a] + pads[a] + pads[a + 2];
    if (span > padded) invalid(`${n.where}: window ${span} larger than padded input ${padded}`);
    return Math.floor((padded - span) / strides[a]) + 1;
  };
  return { pads, strides, dil, outH: size(0), outW: size(1) };
}

function conv(im: Importer, n: Node): void {
  const b = im.b;
  const x = im.in(n, 0);
  const w = im.in(n, 1);
  const bias = im.opt(n, 2);
  const xs = b.shape(x);
  const ws = b.shape(w);
  if (xs.length !== 4 || ws.length !== 4) unsupported(`${n.where}: only 2-D convolution (4-D tensors) is supported`);
  const group = n.int('group', 1);
  const [N, C] = xs;
  const O = ws[0];
  if (group < 1 || C % group || O % group || ws[1] !== C / group) invalid(`${n.where}: ${group} groups do not fit input channels ${C} and weights [${ws}]`);
  const k = n.ints('kernel_shape', [ws[2], ws[3]])!;
  if (k[0] !== ws[2] || k[1] !== ws[3]) invalid(`${n.where}: kernel_shape [${k}] differs from the weights [${ws}]`);
  const win = window2d(n, xs[2], xs[3], ws[2], ws[3]);
  if (!im.constLike(w.t)) unsupported(`${n.where}: the weights must be constant`);
  const depthwise = group === C && group > 1;
  const filter = depthwise ? b.transpose(b.plain(w), [1, 2, 3, 0]) : b.transpose(b.plain(w), [0, 2, 3, 1]);
  const y = b.activation(im.outName(n), 'float32', [N, win.outH, win.outW, O]);
  const attrs = {
    padTop: win.pads[0], padLeft: win.pads[1], padBottom: win.pads[2], padRight: win.pads[3],
    strideH: win.strides[0], strideW: win.strides[1], dilationH: win.dil[0], dilationW: win.dil[1], activation: 0,
  };
  b.op(depthwise ? 'DEPTHWISE_CONV_2D' : 'CONV_2D', n.n.name, [b.nhwc(x, n.where), filter, bias ? b.plain(bias) : -1], [y], depthwise ? { ...attrs, depthMultiplier: O / C } : attrs);
  im.out(n, 0, y, 'nhwc');
}

/** A [.., K] x [K, N] product with constant weights as FULLY_CONNECTED. */
function fullyConnected(im: Importer, n: Node, a: Value, weightsNK: number, bias: number, units: number): void {
  const b = im.b;
  const at = b.plain(a);
  const as = b.tensors[at].shape;
  const y = b.activation(im.outName(n), 'float32', [...as.slice(0, -1), units]);
  b.op('FULLY_CONNECTED', n.n.name, [at, weightsNK, bias], [y], { activation: 0, keepNumDims: 1 });
  im.out(n, 0, y, 'plain');
}

function matmul(im: Importer, n: Node): void {
  const b = im.b;
  const a = im.in(n, 0);
  const w = im.in(n, 1);
  const as = b.shape(a);
  const ws = b.shape(w);
  if (!im.constLike(w.t) && qdqMatMul(im, n)) return;
  if (ws.length !== 2 || !im.constLike(w.t)) unsupported(`${n.where}: MatMul needs a constant 2-D second operand (or DequantizeLinear operands and a QuantizeLinear after it)`);
  if (as.length < 2 || as[as.length - 1] !== ws[0]) invalid(`${n.where}: shapes [${as}] and [${ws}] do not multiply`);
  fullyConnected(im, n, a, b.transpose(b.plain(w), [1, 0]), -1, ws[1]);
}

/**
 * DequantizeLinear(a) x DequantizeLinear(b) -> QuantizeLinear with per-tensor
 * parameters and both operands computed (attention-style products): one
 * QLINEAR_MATMUL (int8/uint8, batched, ONNX Runtime's requantization), the
 * QuantizeLinear absorbed. Returns false, emitting nothing, when the pattern is
 * not there.
 */
function qdqMatMul(im: Importer, n: Node): boolean {
  const b = im.b;
  const dqA = im.producer.get(n.n.inputs[0]);
  const dqB = im.producer.get(n.n.inputs[1]);
  const readers = im.readers.get(n.n.outputs[0]) ?? [];
  const q = readers[0];
  const isDq = (d: OnnxNode | undefined): d is OnnxNode => !!d && d.opType === 'DequantizeLinear' && !d.domain && !d.attrs.get('block_size');
  if (!isDq(dqA) || !isDq(dqB) || readers.length !== 1 || q.opType !== 'QuantizeLinear' || q.domain || q.attrs.get('block_size')) return false;
  if (im.m.outputs.some((o) => o.name === n.n.outputs[0])) return false;
  const val = (name: string | undefined) => (name ? b.values.get(name) : undefined);
  const [ax, as_, az] = [0, 1, 2].map((i) => val(dqA.inputs[i]));
  const [bx, bs, bz] = [0, 1, 2].map((i) => val(dqB.inputs[i]));
  const [ys, yz] = [1, 2].map((i) => val(q.inputs[i]));
  if (!ax || !as_ || !bx || !bs || !ys) return false;
  const one = (v: Value | undefined) => !v || elementCount(b.tensor(v).shape) === 1;
  if (![as_, az, bs, bz, ys, yz].every(one)) return false;
  const byte = (v: Value) => b.tensor(v).dtype === 'int8' || b.tensor(v).dtype === 'uint8';
  const outType = yz ? b.tensor(yz).dtype : q.attrs.get('output_dtype') === undefined ? 'uint8' : undefined;
  if (!byte(ax) || !byte(bx) || (outType !== 'int8' && outType !== 'uint8') || b.fourBit.has(ax.t) || b.fourBit.has(bx.t)) return false;
  const at = b.plain(ax);
  const wt = b.plain(bx);
  const ash = b.tensors[at].shape;
  const wsh = b.tensors[wt].shape;
  if (ash.length < 2 || wsh.length < 2 || ash[ash.length - 1] !== wsh[wsh.length - 2]) return false;
  const batch = broadcastShape(ash.slice(0, -2), wsh.slice(0, -2), n.where);
  const y = b.activation(q.outputs[0] || `${n.n.name}_q`, outType, [...batch, ash[ash.length - 2], wsh[wsh.length - 1]]);
  const opt = (v: Value | undefined) => (v ? b.plain(v) : -1);
  b.op('QLINEAR_MATMUL', n.n.name, [at, b.plain(as_), opt(az), wt, b.plain(bs), opt(bz), b.plain(ys), opt(yz)], [y]);
  im.absorbed.add(q);
  b.define(q.outputs[0], y, 'plain', n.where);
  im.checkDeclared(q.outputs[0], n.where);
  return true;
}

function gemm(im: Importer, n: Node): void {
  const b = im.b;
  const a = im.in(n, 0);
  const w = im.in(n, 1);
  const c = im.opt(n, 2);
  if (n.int('transA', 0) || n.float('alpha', 1) !== 1 || n.float('beta', 1) !== 1) unsupported(`${n.where}: Gemm with transA or alpha/beta other than 1`);
  const ws = b.shape(w);
  const as = b.shape(a);
  if (as.length !== 2 || ws.length !== 2 || !im.constLike(w.t)) unsupported(`${n.where}: Gemm needs a 2-D input and constant 2-D weights`);
  const transB = n.int('transB', 0);
  const [K, N] = transB ? [ws[1], ws[0]] : ws;
  if (as[1] !== K) invalid(`${n.where}: shapes [${as}] and [${ws}] do not multiply`);
  if (c && (elementCount(b.shape(c)) !== N || !im.constLike(c.t))) unsupported(`${n.where}: Gemm bias must be a constant of ${N} values`);
  const weights = transB ? b.plain(w) : b.transpose(b.plain(w), [1, 0]);
  fullyConnected(im, n, a, weights, c ? b.plain(c) : -1, N);
}

export function broadcastShape(a: number[], c: number[], where: string): number[] {
  const r = Math.max(a.length, c.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[i - (r - a.length)] ?? 1;
    const y = c[i - (r - c.length)] ?? 1;
    if (x !== y && x !== 1 && y !== 1) invalid(`${where}: shapes [${a}] and [${c}] do not broadcast`);
    out.push(Math.max(x, y));
  }
  return out;
}

const eltwise = (kind: 'ADD' | 'SUB' | 'MUL'): Translator => (im, n) => {
  const b = im.b;
  const x = im.in(n, 0);
  const z = im.in(n, 1);
  const xs = b.shape(x);
  const zs = b.shape(z);
  let xt: number, zt: number, layout: Layout;
  const scalar = (v: Value) => elementCount(b.shape(v)) === 1;
  if (x.layout === 'nhwc' && (z.layout === 'nhwc' || scalar(z))) {
    [xt, zt, layout] = [x.t, z.layout === 'nhwc' ? z.t : b.plain(z), 'nhwc'];
  } else if (z.layout === 'nhwc' && scalar(x)) {
    [xt, zt, layout] = [b.plain(x), z.t, 'nhwc'];
  } else {
    [xt, zt, layout] = [b.plain(x), b.plain(z), 'plain'];
  }
  broadcastShape(xs, zs, n.where);
  const shape = broadcastShape(b.tensors[xt].shape, b.tensors[zt].shape, n.where);
  const y = b.activation(im.outName(n), b.tensors[xt].dtype, shape);
  b.op(kind, n.n.name, [xt, zt], [y], { activation: 0 });
  im.out(n, 0, y, layout);
};

/** Ops that compute element by element keep their input's layout. */
const unary = (kind: 'RELU' | 'LOGISTIC' | 'TANH' | 'LEAKY_RELU' | 'HARD_SWISH', attrs?: (n: Node) => Record<string, number>): Translator => (im, n) => {
  const b = im.b;
  const x = im.in(n, 0);
  const t = b.tensors[x.t];
  const y = b.activation(im.outName(n), t.dtype, t.shape);
  b.op(kind, n.n.name, [x.t], [y], attrs ? attrs(n) : {});
  im.out(n, 0, y, x.layout);
};

function clip(im: Importer, n: Node): void {
  const b = im.b;
  const x = im.in(n, 0);
  const t = b.tensors[x.t];
  let lo: number | undefined, hi: number | undefined;
  if (n.opset < 11) {
    lo = n.float('min', -3.4028234663852886e38);
    hi = n.float('max', 3.4028234663852886e38);
  } else {
    const l = im.opt(n, 1);
    const h = im.opt(n, 2);
    if ((l && !im.constOf(l)) || (h && !im.constOf(h))) unsupported(`${n.where}: Clip bounds must be constants`);
    lo = l ? im.constOf(l)![0] : undefined;
    hi = h ? im.constOf(h)![0] : undefined;
  }
  const y = b.activation(im.outName(n), t.dtype, t.shape, t.quant);
  if (t.dtype === 'float32') {
    b.op('CLIP', n.n.name, [x.t], [y], { flo: lo ?? -Infinity, fhi: hi ?? Infinity });
  } else {
    const range = { int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535] }[t.dtype as 'int8'];
    if (!range) unsupported(`${n.where}: Clip of ${t.dtype}`);
    b.op('CLIP', n.n.name, [x.t], [y], { lo: lo ?? range[0], hi: hi ?? range[1] });
  }
  im.out(n, 0, y, x.layout);
}

function softmax(im: Importer, n: Node): void {
  const b = im.b;
  const x = im.in(n, 0);
  const rank = b.shape(x).length;
  const axis = normAxis(n.int('axis', n.opset >= 13 ? -1 : 1), rank, n.where);
  if (axis !== rank - 1) unsupported(`${n.where}: Softmax over axis ${axis} (only the last axis is supported)`);
  const xt = b.plain(x);
  const y = b.activation(im.outName(n), b.tensors[xt].dtype, b.tensors[xt].shape);
  b.op('SOFTMAX', n.n.name, [xt], [y], { beta: 1 });
  im.out(n, 0, y, 'plain');
}

const pool = (kind: 'AVERAGE_POOL_2D' | 'MAX_POOL_2D'): Translator => (im, n) => {
  const b = im.b;
  const x = im.in(n, 0);
  const xs = b.shape(x);
  if (xs.length !== 4) unsupported(`${n.where}: only 2-D pooling (4-D tensors) is supported`);
  const k = n.ints('kernel_shape');
  if (!k || k.length !== 2 || k.some((v) => v < 1)) invalid(`${n.where}: kernel_shape must be two values >= 1`);
  if (n.int('ceil_mode', 0)) unsupported(`${n.where}: ceil_mode 1 is not supported`);
  if ((n.ints('dilations', [1, 1]) ?? []).some((d) => d !== 1)) unsupported(`${n.where}: dilated pooling is not supported`);
  if (n.n.outputs.length > 1 && n.n.outputs[1]) unsupported(`${n.where}: MaxPool indices output is not supported`);
  const win = window2d(n, xs[2], xs[3], k[0], k[1]);
  if (kind === 'AVERAGE_POOL_2D' && n.int('count_include_pad', 0) && win.pads.some((p) => p > 0))
    unsupported(`${n.where}: count_include_pad with padding is not supported`);
  const y = b.activation(im.outName(n), b.tensor(x).dtype, [xs[0], win.outH, win.outW, xs[1]]);
  b.op(kind, n.n.name, [b.nhwc(x, n.where)], [y], {
    padTop: win.pads[0], padLeft: win.pads[1], padBottom: win.pads[2], padRight: win.pads[3],
    strideH: win.strides[0], strideW: win.strides[1], filterH: k[0], filterW: k[1], activation: 0,
  });
  im.out(n, 0, y, 'nhwc');
};

function globalAveragePool(im: Importer, n: Node): void {
  const b = im.b;
  const x = im.in(n, 0);
  const xs = b.shape(x);
  if (xs.length !== 4) unsupported(`${n.where}: only 4-D GlobalAveragePool is supported`);
  const y = b.activation(im.outName(n), b.tensor(x).dtype, [xs[0], 1, 1, xs[1]]);
  b.op('MEAN', n.n.name, [b.nhwc(x, n.where), b.constI32(`${n.n.name}_axes`, [1, 2])], [y], { keepDims: 1 });
  im.out(n, 0, y, 'nhwc');
}

function reduceMean(im: Importer, n: Node): void {
  const b = im.b;
  const x = im.in(n, 0);
  const rank = b.shape(x).length;
  const given = n.opset >= 18 ? (n.input(1) ? im.needConst(n, 1, 'axes') : undefined) : n.ints('axes');
  const axes = (given ?? [...Array(rank).keys()]).map((a) => normAxis(a, rank, n.where));
  if (!axes.length) unsupported(`${n.where}: ReduceMean over no axes`);
  const keep = n.int('keepdims', 1);
  // a mean over H and W is a global average pool: run it NHWC
  const spatial = rank === 4 && [...axes].sort().join() === '2,3';
  const nhwc = x.layout === 'nhwc' || spatial;
  const phys = nhwc ? axes.map(nhwcAxis) : axes;
  const xt = nhwc ? b.nhwc(x, n.where) : b.plain(x);
  const shape = b.tensors[xt].shape.map((d, i) => (phys.includes(i) ? 1 : d));
  const y = b.activation(keep ? im.outName(n) : `${im.outName(n)}_kept`, b.tensors[xt].dtype, shape);
  b.op('MEAN', n.n.name, [xt, b.constI32(`${n.n.name}_axes`, [...phys].sort())], [y], { keepDims: 1 });
  if (keep) return im.out(n, 0, y, nhwc ? 'nhwc' : 'plain');
  // without keepdims: drop the reduced dims in ONNX layout
  const kept = { t: y, layout: (nhwc ? 'nhwc' : 'plain') as Layout };
  const logical = b.shape(kept).filter((_, i) => !axes.includes(i));
  reshapeTo(im, n, kept, logical);
}

/** RESHAPE-family ops: a byte copy into a new shape in ONNX layout. */
function reshapeTo(im: Importer, n: Node, x: Value, shape: number[]): void {
  const b = im.b;
  const xt = b.plain(x);
  const t = b.tensors[xt];
  if (elementCount(shape) !== elementCount(t.shape)) invalid(`${n.where}: cannot reshape [${t.shape}] to [${shape}]`);
  const y = b.activation(im.outName(n), t.dtype, shape, t.quant && t.quant.axis < 0 ? t.quant : undefined);
  if (b.fourBit.has(xt)) b.fourBit.add(y);
  b.op('RESHAPE', n.n.name, [xt], [y]);
  im.out(n, 0, y, 'plain');
}

function reshape(im: Importer, n: Node): void {
  const x = im.in(n, 0);
  const xs = im.b.shape(x);
  const spec = im.needConst(n, 1, 'the shape');
  const allowZero = n.int('allowzero', 0);
  let infer = -1;
  const shape = spec.map((d, i) => {
    if (d === 0 && !allowZero) {
      if (i >= xs.length) invalid(`${n.where}: shape copies dim ${i} the input does not have`);
      return xs[i];
    }
    if (d === -1) {
      if (infer >= 0) invalid(`${n.where}: more than one -1 in the shape`);
      infer = i;
      return 1;
    }
    if (d < 0 || !Number.isInteger(d)) invalid(`${n.where}: shape entry ${d}`);
    return d;
  });
  if (infer >= 0) {
    const known = elementCount(shape);
    if (known === 0 || elementCount(xs) % known) invalid(`${n.where}: cannot infer -1 reshaping [${xs}] to [${spec}]`);
    shape[infer] = elementCount(xs) / known;
  }
  reshapeTo(im, n, x, shape);
}

function flatten(im: Importer, n: Node): void {
  const x = im.in(n, 0);
  const xs = im.b.shape(x);
  const axis = n.int('axis', 1);
  const a = axis < 0 ? axis + xs.length : axis;
  if (a < 0 || a > xs.length) invalid(`${n.where}: axis ${axis}`);
  reshapeTo(im, n, x, [elementCount(xs.slice(0, a)), elementCount(xs.slice(a))]);
}

function axesOf(im: Importer, n: Node): number[] | undefined {
  return n.opset >= 13 ? (n.input(1) ? im.needConst(n, 1, 'axes') : undefined) : n.ints('axes');
}

function squeeze(im: Importer, n: Node): void {
  const x = im.in(n, 0);
  const xs = im.b.shape(x);
  const axes = axesOf(im, n)?.map((a) => normAxis(a, xs.length, n.where));
  const shape = xs.filter((d, i) => (axes ? !axes.includes(i) : d !== 1));
  reshapeTo(im, n, x, shape);
}

function unsqueeze(im: Importer, n: Node): void {
  const x = im.in(n, 0);
  const xs = im.b.shape(x);
  const axes = axesOf(im, n);
  if (!axes) invalid(`${n.where}: axes are required`);
  const rank = xs.length + axes.length;
  const norm = axes.map((a) => normAxis(a, rank, n.where));
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : xs[k++]);
  reshapeTo(im, n, x, shape);
}

function transposeOp(im: Importer, n: Node): void {
  const b = im.b;
  const x = im.in(n, 0);
  const rank = b.shape(x).length;
  const perm = n.ints('perm', [...Array(rank).keys()].reverse())!;
  if (perm.length !== rank || [...perm].sort().some((p, i) => p !== i)) invalid(`${n.where}: perm [${perm}] is not a permutation of rank ${rank}`);
  const y = b.transpose(b.plain(x), perm, im.outName(n));
  im.out(n, 0, y, 'plain');
}

function concat(im: Importer, n: Node): void {
  const b = im.b;
  const xs = n.n.inputs.map((_, i) => im.in(n, i));
  if (!xs.length) invalid(`${n.where}: no inputs`);
  const rank = b.shape(xs[0]).length;
  const axis = normAxis(n.int('axis', 1), rank, n.where);
  const nhwc = xs.every((x) => x.layout === 'nhwc');
  const ts = xs.map((x) => (nhwc ? x.t : b.plain(x)));
  const phys = nhwc ? nhwcAxis(axis) : axis;
  const shape = [...b.tensors[ts[0]].shape];
  shape[phys] = 0;
  for (const t of ts) {
    const s = b.tensors[t].shape;
    if (s.length !== rank || s.some((d, i) => i !== phys && d !== shape[i])) invalid(`${n.where}: input shapes do not concatenate on axis ${axis}`);
    shape[phys] += s[phys];
  }
  const q0 = b.tensors[ts[0]].quant;
  const same = q0 && q0.axis < 0 && ts.every((t) => JSON.stringify(b.tensors[t].quant) === JSON.stringify(q0));
  const y = b.activation(im.outName(n), b.tensors[ts[0]].dtype, shape, same ? q0 : undefined);
  b.op('CONCATENATION', n.n.name, ts, [y], { axis: phys, activation: 0 });
  im.out(n, 0, y, nhwc ? 'nhwc' : 'plain');
}

function pad(im: Importer, n: Node): void {
  const b = im.b;
  const x = im.in(n, 0);
  const rank = b.shape(x).length;
  if (n.str('mode', 'constant') !== 'constant') unsupported(`${n.where}: only constant padding is supported`);
  const pads = n.opset >= 11 ? im.needConst(n, 1, 'pads') : n.ints('pads');
  if (!pads || pads.length !== 2 * rank || pads.some((p) => p < 0)) unsupported(`${n.where}: pads must be ${2 * rank} values >= 0`);
  if (n.opset >= 18 && n.input(3)) unsupported(`${n.where}: Pad with axes is not supported`);
  const value = n.opset >= 11 ? (n.input(2) ? im.needConst(n, 2, 'the constant value')[0] : 0) : n.float('value', 0);
  if (value !== 0) unsupported(`${n.where}: padding with a value other than 0`);
  const pairs = [...Array(rank).keys()].map((i) => [pads[i], pads[i + rank]]);
  const nhwc = x.layout === 'nhwc';
  const phys = nhwc ? permute(pairs, [0, 2, 3, 1]) : pairs;
  const xt = x.t;
  const t = b.tensors[xt];
  const shape = t.shape.map((d, i) => d + phys[i][0] + phys[i][1]);
  const y = b.activation(im.outName(n), t.dtype, shape, t.quant);
  b.op('PAD', n.n.name, [xt, b.constI32(`${n.n.name}_pads`, phys.flat(), [rank, 2])], [y]);
  im.out(n, 0, y, x.layout);
}

function resize(im: Importer, n: Node): void {
  const b = im.b;
  const x = im.in(n, 0);
  const xs = b.shape(x);
  if (xs.length !== 4) unsupported(`${n.where}: only 4-D Resize is supported`);
  if (n.str('mode', 'nearest') !== 'nearest') unsupported(`${n.where}: Resize mode ${n.str('mode', 'nearest')} is not supported (nearest only)`);
  const ctm = n.str('coordinate_transformation_mode', 'half_pixel');
  const nm = n.str('nearest_mode', 'round_prefer_floor');
  if (n.opset >= 11 && !(ctm === 'asymmetric' && nm === 'floor'))
    unsupported(`${n.where}: Resize nearest with ${ctm} / ${nm} (asymmetric / floor only)`);
  let outH: number, outW: number;
  const sizes = n.opset >= 11 ? (n.input(3) ? im.needConst(n, 3, 'sizes') : undefined) : undefined;
  if (sizes) {
    if (sizes.length !== 4 || sizes[0] !== xs[0] || sizes[1] !== xs[1]) unsupported(`${n.where}: Resize of batch or channels`);
    [outH, outW] = [sizes[2], sizes[3]];
  } else {
    const scales = im.needConst(n, n.opset >= 11 ? 2 : 1, 'scales');
    if (scales.length !== 4 || scales[0] !== 1 || scales[1] !== 1) unsupported(`${n.where}: Resize of batch or channels`);
    [outH, outW] = [Math.floor(xs[2] * scales[2]), Math.floor(xs[3] * scales[3])];
  }
  if (!(outH >= 1 && outW >= 1)) invalid(`${n.where}: output size ${outH}x${outW}`);
  const t = b.tensor(x);
  const y = b.activation(im.outName(n), t.dtype, [xs[0], outH, outW, xs[1]], t.quant);
  b.op('RESIZE_NEAREST_NEIGHBOR', n.n.name, [b.nhwc(x, n.where), b.constI32(`${n.n.name}_size`, [outH, outW])], [y], { alignCorners: 0, halfPixelCenters: 0 });
  im.out(n, 0, y, 'nhwc');
}

/** Constant: its value becomes an IR constant (tensor, or a float / int scalar or list). */
function constantOp(im: Importer, n: Node): void {
  const b = im.b;
  const v = n.n.attrs.get('value');
  const name = im.outName(n);
  let t: number;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    t = b.constant(name, v.type.dtype, v.dims, v.data);
    if (v.type.bits) b.fourBit.add(t);
  } else if (n.n.attrs.has('value_float')) {
    t = b.constF32(name, [n.float('value_float', 0)], []);
  } else if (n.n.attrs.has('value_floats')) {
    const fl = n.n.attrs.get('value_floats');
    if (!Array.isArray(fl)) invalid(`${n.where}: value_floats must be a list`);
    t = b.constF32(name, fl);
  } else if (n.n.attrs.has('value_int') || n.n.attrs.has('value_ints')) {
    const vals = n.n.attrs.has('value_int') ? [n.int('value_int', 0)] : n.ints('value_ints')!;
    const buf = Buffer.alloc(8 * vals.length);
    vals.forEach((x, i) => buf.writeBigInt64LE(BigInt(x), 8 * i));
    t = b.constant(name, 'int64', n.n.attrs.has('value_int') ? [] : [vals.length], new Uint8Array(buf.buffer, buf.byteOffset, buf.length));
  } else {
    return unsupported(`${n.where}: Constant without a tensor, float or int value`);
  }
  im.out(n, 0, t, 'plain');
}

function identity(im: Importer, n: Node): void {
  const x = im.in(n, 0);
  im.out(n, 0, x.t, x.layout);
}


export const STANDARD_OPS: Record<string, Translator> = {
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  DynamicQuantizeLinear: dynamicQuantizeLinear,
  Conv: conv,
  MatMul: matmul,
  Gemm: gemm,
  Add: eltwise('ADD'),
  Sub: eltwise('SUB'),
  Mul: eltwise('MUL'),
  Relu: unary('RELU'),
  Sigmoid: unary('LOGISTIC'),
  Tanh: unary('TANH'),
  LeakyRelu: unary('LEAKY_RELU', (n) => ({ alpha: n.float('alpha', 0.01) })),
  HardSwish: unary('HARD_SWISH'),
  Clip: clip,
  Softmax: softmax,
  AveragePool: pool('AVERAGE_POOL_2D'),
  MaxPool: pool('MAX_POOL_2D'),
  GlobalAveragePool: globalAveragePool,
  ReduceMean: reduceMean,
  Reshape: reshape,
  Flatten: flatten,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: transposeOp,
  Concat: concat,
  Pad: pad,
  Resize: resize,
  Upsample: resize,
  Identity: identity,
  Dropout: identity,
  Constant: constantOp,
};
