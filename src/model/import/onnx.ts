// ONNX (.onnx, opsets 10-25) -> IR. The translation is literal: every ONNX node
// becomes the IR op(s) computing the same thing, QuantizeLinear and
// DequantizeLinear included, with 4-D activations held NHWC. The passes then
// fuse DequantizeLinear -> op -> QuantizeLinear into int8 ops
// (passes/onnx-qdq.ts) and remove the layout conversions that cancel
// (passes/onnx-layout.ts). Translators: onnx-ops.ts (standard ops) and
// onnx-qops.ts (QOperator ops).
import { QieError } from '../../errors';
import { elementCount, Graph } from '../ir';
import { GraphBuilder, Layout, nhwcAxis, Value } from './onnx-builder';
import { Node, normAxis, Translator } from './onnx-node';
import { STANDARD_OPS } from './onnx-ops';
import { AttrValue, decodeOnnx, elemType, invalid, OnnxModel, OnnxNode, tensorValues, unsupported } from './onnx-proto';
import { CONTRIB_OPS, QOPERATOR_OPS } from './onnx-qops';

const OPS: Record<string, Translator> = { ...STANDARD_OPS, ...QOPERATOR_OPS };

export function importOnnx(bytes: Uint8Array): Graph {
  try {
    return translate(decodeOnnx(bytes));
  } catch (e) {
    if (e instanceof QieError) throw e;
    throw new QieError('model_invalid', `invalid ONNX model (unexpected: ${e instanceof Error ? e.message : String(e)})`);
  }
}

export class Importer {
  readonly b = new GraphBuilder();
  private synth = 0;

  /** ONNX node producing / nodes reading each value, and nodes a translator
   * already covered (a QuantizeLinear folded into the op before it). */
  readonly producer = new Map<string, OnnxNode>();
  readonly readers = new Map<string, OnnxNode[]>();
  readonly absorbed = new Set<OnnxNode>();

  constructor(readonly m: OnnxModel) {}

  run(): Graph {
    const b = this.b;
    const inputs: number[] = [];
    for (const d of this.m.inputs) {
      if (!d.type || !d.dims) unsupported(`graph input "${d.name}" has no declared tensor type and shape`);
      const dims = d.dims.map((x, i) => {
        if (x >= 1) return x;
        if (x === -1 && i === 0) return 1; // a symbolic batch size runs as 1
        return x === 0 ? invalid(`graph input "${d.name}" has a zero dimension`) : unsupported(`graph input "${d.name}" has a symbolic dimension ${i}; qie needs fixed shapes`);
      });
      const t = b.activation(d.name, d.type.dtype, dims);
      if (d.type.bits) b.fourBit.add(t);
      b.define(d.name, t, 'plain', 'graph input');
      inputs.push(t);
    }
    for (const [name, c] of this.m.initializers) {
      if (b.values.has(name)) continue;
      const t = b.constant(name, c.type.dtype, c.dims, c.data);
      if (c.type.bits) b.fourBit.add(t);
      b.define(name, t, 'plain', 'initializer');
    }
    for (const n of this.m.nodes) {
      for (const o of n.outputs) if (o) this.producer.set(o, n);
      for (const i of n.inputs) if (i) this.readers.set(i, [...(this.readers.get(i) ?? []), n]);
    }
    for (const n of this.m.nodes) if (!this.absorbed.has(n)) this.node(new Node(n, this.m.opset));

    const outputs: number[] = [];
    for (const d of this.m.outputs) {
      let t = b.plain(b.value(d.name, 'graph output'));
      const tensor = b.tensors[t];
      if (d.type && d.type.dtype !== tensor.dtype) invalid(`graph output "${d.name}" is declared ${d.type.dtype} but computes ${tensor.dtype}`);
      if (tensor.data || inputs.includes(t) || outputs.includes(t)) {
        // an output needs a tensor of its own
        const copy = b.activation(d.name, tensor.dtype, tensor.shape, tensor.quant);
        b.op('RESHAPE', `${d.name}_copy`, [t], [copy]);
        t = copy;
      }
      b.tensors[t].name = d.name;
      outputs.push(t);
    }
    return {
      tensors: b.tensors,
      ops: b.ops,
      inputs,
      outputs,
      semantics: 'onnx',
      source: { format: 'onnx', description: this.m.producer || undefined, version: this.m.opset },
      fourBit: [...b.fourBit],
    };
  }

  private name(base: string): string {
    return `${base}__${this.synth++}`;
  }

  private node(n: Node): void {
    const domain = n.n.domain;
    if (domain === 'com.microsoft') return this.contrib(n);
    if (domain && domain !== 'ai.onnx') unsupported(`${n.where}: op domain "${domain}" is not supported`);
    const f = OPS[n.n.opType];
    if (!f) unsupported(`${n.where}: ONNX op ${n.n.opType} is not supported`);
    f(this, n);
  }

  // ---- helpers for translators ----

  in(n: Node, i: number): Value {
    const name = n.input(i);
    if (!name) invalid(`${n.where}: input ${i} is required`);
    return this.b.value(name, n.where);
  }

  opt(n: Node, i: number): Value | undefined {
    return this.b.optional(n.input(i), n.where);
  }

  out(n: Node, i: number, t: number, layout: Layout): void {
    const name = n.n.outputs[i];
    if (!name) return;
    this.b.define(name, t, layout, n.where);
    this.checkDeclared(name, n.where);
  }

  /** A value_info or graph output declaration must agree with what the node computes
   * (fixed dims and element type; symbolic dims are not checked). */
  checkDeclared(name: string, where: string): void {
    const d = this.m.valueInfo.get(name) ?? this.m.outputs.find((o) => o.name === name);
    if (!d) return;
    const v = this.b.values.get(name)!;
    const shape = this.b.shape(v);
    const t = this.b.tensor(v);
    if (d.type && (d.type.dtype !== t.dtype || (d.type.bits !== 0) !== this.b.fourBit.has(v.t)))
      invalid(`${where}: "${name}" is declared ${d.type.dtype}${d.type.bits ? ' (4-bit)' : ''} but computes ${t.dtype}`);
    if (d.dims && (d.dims.length !== shape.length || d.dims.some((x, k) => x >= 0 && x !== shape[k])))
      invalid(`${where}: "${name}" is declared with shape [${d.dims.map((x) => (x < 0 ? '?' : x))}] but computes [${shape}]`);
  }

  outName(n: Node, i = 0): string {
    return n.n.outputs[i] || this.name(`${n.n.name}_out${i}`);
  }

  /** The numbers of a constant input (or undefined when it is not constant). */
  constOf(v: Value | undefined): number[] | undefined {
    if (!v) return undefined;
    const t = this.b.tensor(v);
    if (!t.data) return undefined;
    const dtype = t.dtype;
    const onnxCode = { float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, bool: 9 }[dtype];
    return tensorValues({ type: elemType(onnxCode, t.name), data: t.data });
  }

  needConst(n: Node, i: number, what: string): number[] {
    const v = this.opt(n, i);
    const c = this.constOf(v);
    if (!c) unsupported(`${n.where}: ${what} must be a constant`);
    return c;
  }

  /** Constant or computed only from constants (what the passes fold). */
  constLike(t: number, depth = 0): boolean {
    const tensor = this.b.tensors[t];
    if (tensor.data) return true;
    if (depth > 8) return false;
    const p = this.b.ops.find((o) => o.outputs.includes(t));
    return !!p && ['DEQUANTIZE_LINEAR', 'QUANTIZE_LINEAR', 'TRANSPOSE', 'RESHAPE'].includes(p.kind) && p.inputs.every((i) => i < 0 || this.constLike(i, depth + 1));
  }

  /** Attaches per-tensor (activations) or per-axis (constants) quantization to t
   * when the scale and zero point are constants: the int8 kernels read it there. */
  attachQuant(t: number, scale: Value, zp: Value | undefined, axis: number, block: number): void {
    const tensor = this.b.tensors[t];
    if (tensor.quant || block || this.b.fourBit.has(t)) return;
    if (!['int8', 'uint8', 'int16'].includes(tensor.dtype)) return;
    const s = this.constOf(scale);
    const z = zp ? this.constOf(zp) : s?.map(() => 0);
    if (!s || !z || s.length !== z.length || s.some((x) => !(x > 0) || !Number.isFinite(x))) return;
    if (s.length === 1) tensor.quant = { scales: s, zeroPoints: z, axis: -1 };
    else if (tensor.data && tensor.shape[axis] === s.length) tensor.quant = { scales: s, zeroPoints: z, axis };
  }

  /** Q/DQ layout: per-tensor keeps x's layout; per-axis follows it; blocked needs ONNX layout. */
  qdqInput(n: Node, x: Value, scale: Value, axisAttr: number, block: number): { t: number; axis: number; layout: Layout } {
    const b = this.b;
    const rank = b.shape(x).length;
    const perTensor = elementCount(b.tensor(scale).shape) === 1 && block === 0;
    if (perTensor) return { t: x.t, axis: 0, layout: x.layout };
    const axis = normAxis(axisAttr, rank, n.where);
    if (x.layout === 'nhwc' && block === 0) return { t: x.t, axis: nhwcAxis(axis), layout: 'nhwc' };
    return { t: b.plain(x), axis, layout: 'plain' };
  }

  /** Emits ONNX-style nodes made up during import (QOperator expansion). */
  emit(opType: string, name: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}): void {
    this.node(new Node({ opType, domain: '', name, inputs, outputs, attrs: new Map(Object.entries(attrs)) }, this.m.opset));
  }

  /** Names a new IR constant as an ONNX value so emitted nodes can read it. */
  constValue(base: string, t: number): string {
    const name = this.name(base);
    this.b.define(name, t, 'plain', base);
    return name;
  }

  private contrib(n: Node): void {
    const f = CONTRIB_OPS[n.n.opType];
    if (!f) unsupported(`${n.where}: com.microsoft op ${n.n.opType} is not supported`);
    f(this, n);
  }
}

function translate(m: OnnxModel): Graph {
  return new Importer(m).run();
}

export const SUPPORTED_ONNX_OPS: readonly string[] = [...Object.keys(OPS), ...Object.keys(CONTRIB_OPS).map((k) => `com.microsoft.${k}`)];
