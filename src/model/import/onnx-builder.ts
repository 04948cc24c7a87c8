// The IR under construction while an ONNX graph is imported: tensors, ops, the
// ONNX value -> IR tensor map and each value's layout. Activations of 4-D
// (NCHW) values may be held transposed to NHWC, the runtime's layout; a value
// is converted between the two layouts only where an op needs it, once
// (memoized), and the passes then remove the conversions that cancel or move
// nothing.
import { DType, DTYPE_BYTES, Op, OpKind, Quant, Tensor, Attrs } from '../ir';
import { invalid } from './onnx-proto';

export type Layout = 'plain' | 'nhwc';

export interface Value {
  t: number;
  layout: Layout;
}

export const TO_NHWC = [0, 2, 3, 1];
export const TO_NCHW = [0, 3, 1, 2];

export function permute<T>(xs: readonly T[], perm: readonly number[]): T[] {
  return perm.map((p) => xs[p]);
}

/** Physical axis of logical (NCHW) axis a for an NHWC-held 4-D value. */
export function nhwcAxis(a: number): number {
  return TO_NHWC.indexOf(a);
}

export class GraphBuilder {
  readonly tensors: Tensor[] = [];
  readonly ops: Op[] = [];
  readonly values = new Map<string, Value>();
  /** 4-bit tensors (held one value per byte) by tensor index. */
  readonly fourBit = new Set<number>();
  private readonly toNhwcMemo = new Map<number, number>();
  private readonly toPlainMemo = new Map<number, number>();
  private names = new Set<string>();

  uniqueName(base: string): string {
    let n = base;
    for (let k = 1; this.names.has(n); k++) n = `${base}_${k}`;
    this.names.add(n);
    return n;
  }

  addTensor(t: Tensor): number {
    t.name = this.uniqueName(t.name);
    this.tensors.push(t);
    return this.tensors.length - 1;
  }

  activation(name: string, dtype: DType, shape: number[], quant?: Quant): number {
    return this.addTensor({ name, dtype, shape: [...shape], quant: quant ? cloneQuant(quant) : undefined });
  }

  constant(name: string, dtype: DType, shape: number[], data: Uint8Array): number {
    if (data.length !== shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype]) invalid(`constant ${name}: data size does not match shape`);
    return this.addTensor({ name, dtype, shape: [...shape], data });
  }

  constI32(name: string, values: number[], shape: number[] = [values.length]): number {
    const b = Buffer.alloc(4 * values.length);
    values.forEach((v, i) => b.writeInt32LE(v, 4 * i));
    return this.constant(name, 'int32', shape, new Uint8Array(b.buffer, b.byteOffset, b.length));
  }

  constF32(name: string, values: number[], shape: number[] = [values.length]): number {
    const b = Buffer.alloc(4 * values.length);
    values.forEach((v, i) => b.writeFloatLE(v, 4 * i));
    return this.constant(name, 'float32', shape, new Uint8Array(b.buffer, b.byteOffset, b.length));
  }

  op(kind: OpKind, name: string, inputs: number[], outputs: number[], attrs: Attrs = {}): Op {
    const o: Op = { kind, name, inputs, outputs, attrs };
    this.ops.push(o);
    return o;
  }

  value(name: string, where: string): Value {
    const v = this.values.get(name);
    if (!v) invalid(`${where} reads "${name}", which no earlier node, input or initializer defines`);
    return v;
  }

  optional(name: string | undefined, where: string): Value | undefined {
    return name ? this.value(name, where) : undefined;
  }

  define(name: string, t: number, layout: Layout, where: string): void {
    if (!name) return;
    if (this.values.has(name)) invalid(`${where} defines "${name}" a second time`);
    this.values.set(name, { t, layout });
  }

  tensor(v: Value): Tensor {
    return this.tensors[v.t];
  }

  /** The ONNX (logical) shape of a value. */
  shape(v: Value): number[] {
    const s = this.tensors[v.t].shape;
    return v.layout === 'nhwc' ? permute(s, TO_NCHW) : [...s];
  }

  isConst(v: Value): boolean {
    return !!this.tensors[v.t].data;
  }

  /** The value in ONNX layout. */
  plain(v: Value): number {
    if (v.layout === 'plain') return v.t;
    return this.transposed(v.t, TO_NCHW, this.toPlainMemo);
  }

  /** The 4-D value held NHWC. */
  nhwc(v: Value, where: string): number {
    if (v.layout === 'nhwc') return v.t;
    if (this.tensors[v.t].shape.length !== 4) invalid(`${where} needs a 4-D input, got shape [${this.tensors[v.t].shape}]`);
    return this.transposed(v.t, TO_NHWC, this.toNhwcMemo);
  }

  /** A TRANSPOSE of tensor t (the passes fold constants and cancel pairs). */
  transpose(t: number, perm: number[], name?: string): number {
    const src = this.tensors[t];
    const out = this.activation(name ?? `${src.name}_t`, src.dtype, permute(src.shape, perm), src.quant && src.quant.axis < 0 ? src.quant : undefined);
    if (this.fourBit.has(t)) this.fourBit.add(out);
    this.op('TRANSPOSE', `${src.name}_transpose`, [t, this.constI32(`${src.name}_perm`, perm)], [out]);
    return out;
  }

  private transposed(t: number, perm: number[], memo: Map<number, number>): number {
    const hit = memo.get(t);
    if (hit !== undefined) return hit;
    const out = this.transpose(t, perm, `${this.tensors[t].name}_${perm === TO_NHWC ? 'nhwc' : 'nchw'}`);
    memo.set(t, out);
    // the reverse conversion of the result is the original
    (perm === TO_NHWC ? this.toPlainMemo : this.toNhwcMemo).set(out, t);
    return out;
  }
}

export function cloneQuant(q: Quant): Quant {
  return { scales: [...q.scales], zeroPoints: [...q.zeroPoints], axis: q.axis };
}
