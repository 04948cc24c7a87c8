// QDQ fusion for imported ONNX graphs: DequantizeLinear -> op -> QuantizeLinear
// with constant per-tensor activation quantization becomes the op on int8
// tensors (the int8 kernels, requantizing in ONNX's float arithmetic for conv,
// depthwise conv and fully connected). Whatever is not fused keeps running in
// float32 between its DequantizeLinear and QuantizeLinear: a mixed-precision
// island. Ops named in floatOps are never fused; their constant weights are
// dequantized here, once.
import { QieError } from '../../errors';
import { Graph, Op, OpKind, Quant, Tensor } from '../ir';
import { consumers, producers, removeDead, soleConsumer } from './graph-edit';
import { foldConstDequantize, QRANGE, rint, sameF32, values } from './onnx-const';

interface Dq {
  op: Op;
  src: number;
  scales: number[];
  zps: number[];
  axis: number;
}

class Fuser {
  prod: Map<number, Op>;
  cons: Map<number, Op[]>;
  dead = new Set<Op>();
  four: Set<number>;

  constructor(readonly g: Graph) {
    this.prod = producers(g);
    this.cons = consumers(g);
    this.four = new Set(g.fourBit ?? []);
  }

  /** t = DequantizeLinear(src) with constant parameters. */
  dq(t: number, ownQuant = true): Dq | undefined {
    const op = this.prod.get(t);
    if (!op || op.kind !== 'DEQUANTIZE_LINEAR' || op.attrs.blockSize > 0 || op.attrs.bits) return undefined;
    const s = values(this.g.tensors[op.inputs[1]]);
    const z = op.inputs[2] >= 0 ? values(this.g.tensors[op.inputs[2]]) : s?.map(() => 0);
    if (!s || !z || s.length !== z.length) return undefined;
    const src = op.inputs[0];
    if (!ownQuant) return { op, src, scales: s, zps: z, axis: s.length > 1 ? op.attrs.axis : -1 };
    const q = this.g.tensors[src].quant;
    // the int8 kernels read the tensor's own quantization: it must be this one
    if (!q || q.scales.length !== s.length || q.scales.some((v, i) => !sameF32(v, s[i]) || q.zeroPoints[i] !== z[i])) return undefined;
    return { op, src, scales: s, zps: z, axis: q.axis };
  }

  /** Per-tensor int8/uint8 activation behind a DequantizeLinear. */
  act(t: number): Dq | undefined {
    const d = this.dq(t);
    if (!d || d.scales.length !== 1 || this.four.has(d.src)) return undefined;
    const dt = this.g.tensors[d.src].dtype;
    return dt === 'int8' || dt === 'uint8' ? d : undefined;
  }

  /** The QuantizeLinear that alone reads t (per-tensor, 8-bit, constant). */
  q(t: number): { op: Op; out: number; quant: Quant } | undefined {
    const op = soleConsumer(this.g, this.cons, t);
    if (!op || op.kind !== 'QUANTIZE_LINEAR' || op.inputs[0] !== t || op.attrs.blockSize > 0 || op.attrs.bits) return undefined;
    const out = op.outputs[0];
    const ot = this.g.tensors[out];
    if (!ot.quant || ot.quant.axis >= 0 || (ot.dtype !== 'int8' && ot.dtype !== 'uint8')) return undefined;
    const s = values(this.g.tensors[op.inputs[1]]);
    const z = op.inputs[2] >= 0 ? values(this.g.tensors[op.inputs[2]]) : [0];
    if (!s || !z || s.length !== 1 || !sameF32(s[0], ot.quant.scales[0]) || z[0] !== ot.quant.zeroPoints[0]) return undefined;
    return { op, out, quant: ot.quant };
  }

  /** Same real values: same scale and zero point, counting uint8 as int8 + 128. */
  static sameReal(a: Tensor, b: Tensor): boolean {
    if (!a.quant || !b.quant || a.quant.axis >= 0 || b.quant.axis >= 0) return false;
    const shift = (t: Tensor) => (t.dtype === 'uint8' ? 128 : 0);
    return sameF32(a.quant.scales[0], b.quant.scales[0]) && a.quant.zeroPoints[0] - shift(a) === b.quant.zeroPoints[0] - shift(b);
  }

  finish(op: Op, inputs: number[], out: { op: Op; out: number }): void {
    op.inputs = inputs;
    op.outputs = [out.out];
    this.dead.add(out.op);
  }

  int32Const(name: string, vals: number[]): number {
    const b = Buffer.alloc(4 * vals.length);
    vals.forEach((v, i) => b.writeInt32LE(v, 4 * i));
    this.g.tensors.push({ name, dtype: 'int32', shape: [vals.length], data: new Uint8Array(b.buffer, b.byteOffset, b.length) });
    return this.g.tensors.length - 1;
  }

  convLike(op: Op): boolean {
    const g = this.g;
    const x = this.act(op.inputs[0]);
    const w = this.dq(op.inputs[1]);
    const y = this.q(op.outputs[0]);
    if (!x || !w || !y) return false;
    const wt = g.tensors[w.src];
    if (!wt.data || (wt.dtype !== 'int8' && wt.dtype !== 'uint8') || this.four.has(w.src)) return false;
    const channels = op.kind === 'DEPTHWISE_CONV_2D' ? wt.shape[3] : wt.shape[0];
    const axis = op.kind === 'DEPTHWISE_CONV_2D' ? 3 : 0;
    if (w.scales.length > 1 && (w.axis !== axis || w.zps.some((z) => z !== 0) || wt.dtype !== 'int8')) return false;
    const xs = x.scales[0];
    const accScale = (c: number) => Math.fround(xs * w.scales[w.scales.length > 1 ? c : 0]);
    let bias = -1;
    if (op.inputs[2] >= 0) {
      const bt = op.inputs[2];
      const bd = this.dq(bt, false);
      const fb = values(g.tensors[bt]);
      let real: number[] | undefined;
      if (bd && g.tensors[bd.src].dtype === 'int32') {
        const q = values(g.tensors[bd.src])!;
        const exact = q.every((_, c) => bd.zps[bd.scales.length > 1 ? c : 0] === 0 && bd.scales[bd.scales.length > 1 ? c : 0] === accScale(c));
        if (exact && q.length === channels) bias = bd.src;
        else real = q.map((v, c) => (v - bd.zps[bd.scales.length > 1 ? c : 0]) * bd.scales[bd.scales.length > 1 ? c : 0]);
      } else if (fb && g.tensors[bt].dtype === 'float32') {
        real = fb;
      } else {
        return false;
      }
      if (bias < 0) {
        if (!real || real.length !== channels) return false;
        const q = real.map((v, c) => rint(v / accScale(c)));
        if (q.some((v) => !(Math.abs(v) < 2 ** 31))) return false;
        bias = this.int32Const(`${op.name}_bias_q`, q);
      }
    }
    this.finish(op, [x.src, w.src, bias], y);
    return true;
  }

  eltwise(op: Op): boolean {
    const a = this.dq(op.inputs[0]);
    const b = this.dq(op.inputs[1]);
    const y = this.q(op.outputs[0]);
    if (!a || !b || !y || a.scales.length !== 1 || b.scales.length !== 1) return false;
    const types = [a.src, b.src, y.out].map((t) => this.g.tensors[t].dtype);
    if (types.some((d) => d !== 'int8' && d !== 'uint8')) return false;
    // ONNX Runtime's QLinearMul arithmetic; Add and Sub keep TFLite's (equal on the tests)
    if (op.kind === 'MUL') op.kind = 'QLINEAR_MUL';
    this.finish(op, [a.src, b.src], y);
    return true;
  }

  /** One quantized input (the first), other inputs unchanged. sameQuant: the int8
   * op moves values without requantizing, so in and out must agree. */
  unary(op: Op, sameQuant: boolean, outQuant?: { scale: number; zp: number }): boolean {
    const x = this.act(op.inputs[0]);
    const y = this.q(op.outputs[0]);
    if (!x || !y) return false;
    const xt = this.g.tensors[x.src];
    const yt = this.g.tensors[y.out];
    if (sameQuant && !Fuser.sameReal(xt, yt)) return false;
    if (outQuant && !(yt.quant!.scales[0] === outQuant.scale && yt.quant!.zeroPoints[0] - (yt.dtype === 'uint8' ? 128 : 0) === outQuant.zp)) return false;
    this.finish(op, [x.src, ...op.inputs.slice(1)], y);
    return true;
  }

  clip(op: Op): boolean {
    const x = this.act(op.inputs[0]);
    const y = this.q(op.outputs[0]);
    if (!x || !y) return false;
    const yt = this.g.tensors[y.out];
    if (!Fuser.sameReal(this.g.tensors[x.src], yt) || this.g.tensors[x.src].dtype !== yt.dtype) return false;
    const [qmin, qmax] = QRANGE[yt.dtype]!;
    const s = yt.quant!.scales[0];
    const z = yt.quant!.zeroPoints[0];
    const bound = (v: number) => (Number.isFinite(v / s) ? Math.min(qmax, Math.max(qmin, rint(v / s) + z)) : v < 0 ? qmin : qmax);
    op.attrs = { lo: bound(op.attrs.flo), hi: bound(op.attrs.fhi) };
    this.finish(op, [x.src], y);
    return true;
  }

  /** Average pooling (and GlobalAveragePool's MEAN over H, W) in ONNX Runtime's
   * arithmetic: QLINEAR_AVERAGE_POOL requantizes, so scales may differ. */
  avgPool(op: Op): boolean {
    const x = this.act(op.inputs[0]);
    const y = this.q(op.outputs[0]);
    if (!x || !y) return false;
    const xt = this.g.tensors[x.src];
    if (xt.shape.length !== 4) return false;
    if (op.kind === 'MEAN') {
      const axes = values(this.g.tensors[op.inputs[1]]);
      if (!axes || axes.length !== 2 || axes[0] !== 1 || axes[1] !== 2 || !op.attrs.keepDims) return false;
      op.attrs = { padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, strideH: 1, strideW: 1, filterH: xt.shape[1], filterW: xt.shape[2], activation: 0 };
    }
    op.kind = 'QLINEAR_AVERAGE_POOL';
    this.finish(op, [x.src], y);
    return true;
  }

  concat(op: Op): boolean {
    const xs = op.inputs.map((t) => this.act(t));
    const y = this.q(op.outputs[0]);
    if (!y || xs.some((x) => !x)) return false;
    const yt = this.g.tensors[y.out];
    if (xs.some((x) => !Fuser.sameReal(this.g.tensors[x!.src], yt) || this.g.tensors[x!.src].dtype !== yt.dtype)) return false;
    this.finish(op, xs.map((x) => x!.src), y);
    return true;
  }
}

const UNARY_REQUANT: OpKind[] = ['RELU', 'LEAKY_RELU', 'HARD_SWISH'];
const UNARY_SAME: OpKind[] = ['MAX_POOL_2D', 'RESHAPE', 'TRANSPOSE', 'PAD', 'RESIZE_NEAREST_NEIGHBOR'];

export function onnxQdq(g: Graph, floatOps: readonly string[] = []): Graph {
  const keepFloat = new Set(floatOps);
  const f = new Fuser(g);
  const found = new Set<string>();
  for (const op of g.ops) {
    if (keepFloat.has(op.name)) {
      found.add(op.name);
      continue;
    }
    if (op.inputs.length === 0 || g.tensors[op.outputs[0]]?.dtype !== 'float32') continue;
    switch (op.kind) {
      case 'CONV_2D':
      case 'DEPTHWISE_CONV_2D':
      case 'FULLY_CONNECTED':
        f.convLike(op);
        break;
      case 'ADD':
      case 'SUB':
      case 'MUL':
        f.eltwise(op);
        break;
      case 'CLIP':
        f.clip(op);
        break;
      case 'CONCATENATION':
        f.concat(op);
        break;
      case 'AVERAGE_POOL_2D':
      case 'MEAN':
        f.avgPool(op);
        break;
      case 'SOFTMAX':
      case 'LOGISTIC':
        f.unary(op, false, { scale: 1 / 256, zp: -128 });
        break;
      case 'TANH':
        f.unary(op, false, { scale: 1 / 128, zp: 0 });
        break;
      default:
        if (UNARY_REQUANT.includes(op.kind)) f.unary(op, false);
        else if (UNARY_SAME.includes(op.kind)) f.unary(op, true);
    }
  }
  const missing = floatOps.filter((n) => !found.has(n));
  if (missing.length) throw new QieError('bad_option', `floatOps names no op of the model: ${missing.join(', ')}`);
  g.ops = g.ops.filter((o) => !f.dead.has(o));
  // the weights' DequantizeLinear of fused ops are dead now: fold only the rest
  const live = removeDead(g);
  foldConstDequantize(live);
  return removeDead(live);
}
