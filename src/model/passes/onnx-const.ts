// Constant values of IR tensors and the compile-time folds of ONNX's Q/DQ on
// constants, in the runtime's float32 arithmetic (Math.fround after every
// operation) and ONNX's rounding.
import { Graph, Tensor } from '../ir';

/** A constant's elements as numbers; undefined for activations and 64-bit/bool data. */
export function values(t: Tensor): number[] | undefined {
  if (!t.data) return undefined;
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const n = t.data.length / ({ float32: 4, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, int64: 8, bool: 1 }[t.dtype]);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    switch (t.dtype) {
      case 'float32': out.push(dv.getFloat32(4 * i, true)); break;
      case 'int8': out.push(dv.getInt8(i)); break;
      case 'uint8': out.push(dv.getUint8(i)); break;
      case 'int16': out.push(dv.getInt16(2 * i, true)); break;
      case 'uint16': out.push(dv.getUint16(2 * i, true)); break;
      case 'int32': out.push(dv.getInt32(4 * i, true)); break;
      default: return undefined;
    }
  }
  return out;
}

/** Scales are float32 in plans: compare them as such. */
export const sameF32 = (a: number, b: number) => Math.fround(a) === Math.fround(b);

/** ONNX's rounding: half to even. */
export function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export const QRANGE: Partial<Record<Tensor['dtype'], [number, number]>> = { int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767] };

/** Dequantizes constants at compile time (float islands and floatOps weights),
 * exactly as the DEQUANTIZE_LINEAR kernel would: float32 (q - zp) * scale. */
export function foldConstDequantize(g: Graph): void {
  g.ops = g.ops.filter((op) => {
    if (op.kind !== 'DEQUANTIZE_LINEAR') return true;
    const x = g.tensors[op.inputs[0]];
    const s = values(g.tensors[op.inputs[1]]);
    const z = op.inputs[2] >= 0 ? values(g.tensors[op.inputs[2]]) : s?.map(() => 0);
    const q = values(x);
    if (!q || !s || !z || s.length !== z.length) return true;
    const shape = x.shape;
    const block = op.attrs.blockSize > 0 ? op.attrs.blockSize : 0;
    const axis = s.length > 1 || block ? op.attrs.axis : -1;
    let inner = 1;
    if (axis >= 0) for (let k = axis + 1; k < shape.length; k++) inner *= shape[k];
    const dim = axis >= 0 ? shape[axis] : 1;
    const blocks = block ? Math.ceil(dim / block) : 0;
    const out = new Float32Array(q.length);
    for (let i = 0; i < q.length; i++) {
      let c = 0;
      if (axis >= 0) {
        const d = Math.floor(i / inner) % dim;
        c = block ? (Math.floor(i / (inner * dim)) * blocks + Math.floor(d / block)) * inner + (i % inner) : d;
      }
      if (c >= s.length) return true; // the C op would refuse this layout: leave it to say so
      out[i] = Math.fround(q[i] - z[c]) * s[c];
    }
    g.tensors[op.outputs[0]].data = new Uint8Array(out.buffer);
    return false;
  });
}

const INT_RANGE: Partial<Record<Tensor['dtype'], [number, number]>> = { ...QRANGE, uint16: [0, 65535] };

/** QuantizeLinear of a constant (QAT exports keep float weights behind a Q/DQ
 * pair): quantized here, with ONNX's rounding, into a constant carrying its
 * quantization, so the DequantizeLinear after it can fuse. */
export function foldConstQuantize(g: Graph): Graph {
  const four = new Set(g.fourBit ?? []);
  g.ops = g.ops.filter((op) => {
    if (op.kind !== 'QUANTIZE_LINEAR' || op.attrs.blockSize > 0 || op.attrs.bits || four.has(op.outputs[0])) return true;
    const x = g.tensors[op.inputs[0]];
    const y = g.tensors[op.outputs[0]];
    const xs = values(x);
    const s = values(g.tensors[op.inputs[1]]);
    const z = op.inputs[2] >= 0 ? values(g.tensors[op.inputs[2]]) : s?.map(() => 0);
    const range = INT_RANGE[y.dtype];
    if (!xs || !s || !z || !range || s.length !== z.length || s.some((v) => !(v > 0))) return true;
    const axis = s.length > 1 ? op.attrs.axis : -1;
    if (axis >= 0 && y.shape[axis] !== s.length) return true;
    let inner = 1;
    if (axis >= 0) for (let k = axis + 1; k < y.shape.length; k++) inner *= y.shape[k];
    const bytes = new DataView(new ArrayBuffer(xs.length * (y.dtype.endsWith('16') ? 2 : 1)));
    for (let i = 0; i < xs.length; i++) {
      const c = axis >= 0 ? Math.floor(i / inner) % s.length : 0;
      const r = Math.fround(xs[i] / s[c]);
      const q = Math.min(range[1], Math.max(range[0], (Number.isNaN(r) ? 0 : rint(r)) + z[c]));
      if (y.dtype === 'int8') bytes.setInt8(i, q);
      else if (y.dtype === 'uint8') bytes.setUint8(i, q);
      else if (y.dtype === 'int16') bytes.setInt16(2 * i, q, true);
      else bytes.setUint16(2 * i, q, true);
    }
    y.data = new Uint8Array(bytes.buffer);
    y.quant = { scales: s, zeroPoints: z, axis };
    return false;
  });
  return g;
}
