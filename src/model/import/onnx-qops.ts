// Translators of the QOperator ops: ONNX's integer and QLinear ops and ONNX
// Runtime's com.microsoft ones. With constant quantization they are expanded
// into DequantizeLinear -> float op -> QuantizeLinear (which the QDQ pass makes
// int8); with run-time scales QLinearConv / QLinearMatMul map onto the
// runtime's general ONNX ops.
import type { Importer } from './onnx';
import { Node, Translator } from './onnx-node';
import { broadcastShape, window2d } from './onnx-ops';
import { AttrValue, invalid, unsupported } from './onnx-proto';

function matmulInteger(im: Importer, n: Node): void {
  const b = im.b;
  const a = b.plain(im.in(n, 0));
  const w = b.plain(im.in(n, 1));
  const az = im.opt(n, 2);
  const wz = im.opt(n, 3);
  const as = b.tensors[a].shape;
  const ws = b.tensors[w].shape;
  if (as.length < 2 || ws.length < 2) unsupported(`${n.where}: operands of rank < 2`);
  const batch = broadcastShape(as.slice(0, -2), ws.slice(0, -2), n.where);
  const y = b.activation(im.outName(n), 'int32', [...batch, as[as.length - 2], ws[ws.length - 1]]);
  b.op('MATMUL_INTEGER', n.n.name, [a, w, az ? b.plain(az) : -1, wz ? b.plain(wz) : -1], [y]);
  im.out(n, 0, y, 'plain');
}

/** True when every listed input is a constant with one value (per-tensor quantization). */
function constScalars(im: Importer, n: Node, idx: number[]): boolean {
  return idx.every((i) => {
    const c = im.constOf(im.opt(n, i));
    return c !== undefined && c.length === 1;
  });
}

function qlinearMatMul(im: Importer, n: Node): void {
  const b = im.b;
  const w = im.in(n, 3);
  const perCol = im.constOf(im.opt(n, 4))?.length !== 1;
  if (constScalars(im, n, [1, 2, 6, 7]) && im.constOf(im.opt(n, 4)) && im.constOf(im.opt(n, 5)) && b.isConst(w) && b.shape(w).length === 2) {
    // constant quantization: the DQ -> MatMul -> Q form the QDQ pass makes int8
    const [af, wf, yf] = [0, 1, 2].map((k) => `${n.n.name}__qop${k}`);
    im.emit('DequantizeLinear', `${n.n.name}_dq_a`, [n.n.inputs[0], n.n.inputs[1], n.n.inputs[2]], [af]);
    im.emit('DequantizeLinear', `${n.n.name}_dq_b`, [n.n.inputs[3], n.n.inputs[4], n.n.inputs[5]], [wf], { axis: perCol ? 1 : 0 });
    im.emit('MatMul', n.n.name, [af, wf], [yf]);
    im.emit('QuantizeLinear', `${n.n.name}_q`, [yf, n.n.inputs[6], n.n.inputs[7]], [n.n.outputs[0]]);
    return;
  }
  const ins = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => {
    const v = im.opt(n, i);
    return v ? b.plain(v) : -1;
  });
  const as = b.tensors[ins[0]].shape;
  const ws = b.tensors[ins[3]].shape;
  if (as.length < 2 || ws.length < 2) unsupported(`${n.where}: operands of rank < 2`);
  const batch = broadcastShape(as.slice(0, -2), ws.slice(0, -2), n.where);
  const yz = im.opt(n, 7);
  const y = b.activation(im.outName(n), yz ? b.tensor(yz).dtype : 'uint8', [...batch, as[as.length - 2], ws[ws.length - 1]]);
  b.op('QLINEAR_MATMUL', n.n.name, ins, [y]);
  im.out(n, 0, y, 'plain');
}

function convAttrs(n: Node, xs: number[], ws: number[]): { attrs: Record<string, number>; outH: number; outW: number } {
  const group = n.int('group', 1);
  if (xs.length !== 4 || ws.length !== 4) unsupported(`${n.where}: only 2-D convolution (4-D tensors) is supported`);
  if (group < 1 || xs[1] % group || ws[0] % group || ws[1] !== xs[1] / group) invalid(`${n.where}: ${group} groups do not fit input [${xs}] and weights [${ws}]`);
  const win = window2d(n, xs[2], xs[3], ws[2], ws[3]);
  return {
    attrs: {
      padTop: win.pads[0], padLeft: win.pads[1], padBottom: win.pads[2], padRight: win.pads[3],
      strideH: win.strides[0], strideW: win.strides[1], dilationH: win.dil[0], dilationW: win.dil[1], activation: 0, groups: group,
    },
    outH: win.outH,
    outW: win.outW,
  };
}

function convInteger(im: Importer, n: Node): void {
  const b = im.b;
  const x = im.in(n, 0);
  const w = im.in(n, 1);
  const xs = b.shape(x);
  const ws = b.shape(w);
  const { attrs, outH, outW } = convAttrs(n, xs, ws);
  const xz = im.opt(n, 2);
  const wz = im.opt(n, 3);
  const y = b.activation(im.outName(n), 'int32', [xs[0], outH, outW, ws[0]]);
  b.op('CONV_INTEGER', n.n.name, [b.nhwc(x, n.where), b.transpose(b.plain(w), [0, 2, 3, 1]), xz ? b.plain(xz) : -1, wz ? b.plain(wz) : -1], [y], attrs);
  im.out(n, 0, y, 'nhwc');
}

function qlinearConv(im: Importer, n: Node): void {
  const b = im.b;
  const x = im.in(n, 0);
  const w = im.in(n, 3);
  const bias = im.opt(n, 8);
  const xs = b.shape(x);
  const ws = b.shape(w);
  const { attrs, outH, outW } = convAttrs(n, xs, ws);
  const wsc = im.constOf(im.opt(n, 4));
  const xsc = im.constOf(im.opt(n, 1));
  if (constScalars(im, n, [1, 2, 6, 7]) && wsc && im.constOf(im.opt(n, 5)) && b.isConst(w) && (!bias || b.isConst(bias))) {
    // constant quantization: the DQ -> Conv -> Q form the QDQ pass makes int8
    const [xf, wf, bf, yf] = [0, 1, 2, 3].map((k) => `${n.n.name}__qop${k}`);
    im.emit('DequantizeLinear', `${n.n.name}_dq_x`, [n.n.inputs[0], n.n.inputs[1], n.n.inputs[2]], [xf]);
    im.emit('DequantizeLinear', `${n.n.name}_dq_w`, [n.n.inputs[3], n.n.inputs[4], n.n.inputs[5]], [wf], { axis: 0 });
    const convIn = [xf, wf];
    if (bias) {
      const scales = wsc.map((s) => Math.fround(xsc![0] * s));
      const sName = im.constValue(`${n.n.name}_bias_scale`, b.constF32(`${n.n.name}_bias_scale`, scales));
      const zName = im.constValue(`${n.n.name}_bias_zp`, b.constI32(`${n.n.name}_bias_zp`, scales.map(() => 0)));
      im.emit('DequantizeLinear', `${n.n.name}_dq_bias`, [n.n.inputs[8], sName, zName], [bf], { axis: 0 });
      convIn.push(bf);
    }
    const convAttrsOut: Record<string, AttrValue> = {};
    for (const [k, v] of n.n.attrs) convAttrsOut[k] = v;
    im.emit('Conv', n.n.name, convIn, [yf], convAttrsOut);
    im.emit('QuantizeLinear', `${n.n.name}_q`, [yf, n.n.inputs[6], n.n.inputs[7]], [n.n.outputs[0]]);
    return;
  }
  const plainOr = (i: number) => {
    const v = im.opt(n, i);
    return v ? b.plain(v) : -1;
  };
  const yz = im.opt(n, 7);
  const y = b.activation(im.outName(n), yz ? b.tensor(yz).dtype : 'uint8', [xs[0], outH, outW, ws[0]]);
  b.op(
    'QLINEAR_CONV',
    n.n.name,
    [b.nhwc(x, n.where), plainOr(1), plainOr(2), b.transpose(b.plain(w), [0, 2, 3, 1]), plainOr(4), plainOr(5), plainOr(6), plainOr(7), plainOr(8)],
    [y],
    attrs,
  );
  im.out(n, 0, y, 'nhwc');
}


export const QOPERATOR_OPS: Record<string, Translator> = {
  MatMulInteger: matmulInteger,
  QLinearMatMul: qlinearMatMul,
  ConvInteger: convInteger,
  QLinearConv: qlinearConv,
};

// ---- ONNX Runtime's com.microsoft quantized ops: DQ -> float op -> Q ----

/** Dequantizes input triples, runs the float op, quantizes with (ys, yz). */
function viaQdq(im: Importer, n: Node, triples: [number, number, number][], opType: string, ys: number, yz: number, attrs: Record<string, AttrValue> = {}): void {
  const name = n.n.name;
  const fl = triples.map(([x, s, z], k) => {
    const f = `${name}__dq${k}`;
    im.emit('DequantizeLinear', `${name}_dq${k}`, [n.n.inputs[x], n.n.inputs[s], n.n.inputs[z] ?? ''], [f]);
    return f;
  });
  const yf = `${name}__f`;
  im.emit(opType, name, fl, [yf], attrs);
  im.emit('QuantizeLinear', `${name}_q`, [yf, n.n.inputs[ys], n.n.inputs[yz] ?? ''], [n.n.outputs[0]]);
}

function poolAttrs(n: Node): Record<string, AttrValue> {
  if (n.int('channels_last', 0)) unsupported(`${n.where}: channels_last is not supported`);
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of n.n.attrs) if (k !== 'channels_last') out[k] = v;
  return out;
}

export const CONTRIB_OPS: Record<string, Translator> = {
  QLinearAdd: (im, n) => viaQdq(im, n, [[0, 1, 2], [3, 4, 5]], 'Add', 6, 7),
  QLinearMul: (im, n) => viaQdq(im, n, [[0, 1, 2], [3, 4, 5]], 'Mul', 6, 7),
  QLinearAveragePool: (im, n) => viaQdq(im, n, [[0, 1, 2]], 'AveragePool', 3, 4, poolAttrs(n)),
  QLinearGlobalAveragePool: (im, n) => viaQdq(im, n, [[0, 1, 2]], 'GlobalAveragePool', 3, 4, poolAttrs(n)),
  QLinearSigmoid: (im, n) => viaQdq(im, n, [[0, 1, 2]], 'Sigmoid', 3, 4),
  QLinearLeakyRelu: (im, n) => viaQdq(im, n, [[0, 1, 2]], 'LeakyRelu', 3, 4, { alpha: n.float('alpha', 0.01) }),
  QLinearConcat: (im, n) => {
    const k = (n.n.inputs.length - 2) / 3;
    if (!Number.isInteger(k) || k < 1) invalid(`${n.where}: inputs must be Y scale, Y zero point and triples`);
    const triples = [...Array(k).keys()].map((i): [number, number, number] => [2 + 3 * i, 3 + 3 * i, 4 + 3 * i]);
    viaQdq(im, n, triples, 'Concat', 0, 1, { axis: n.int('axis', 1) });
  },
};
