// IR -> plan bytes: the compact format csrc/runtime/plan_format.h describes.
// The C runtime validates every field again; this writer only refuses what it
// cannot encode.
import { QieError } from '../errors';
import { DType, Graph, Tensor, tensorBytes } from './ir';
import { OPSET } from './opset';

const MAGIC = 0x50454951;
const VERSION = 1;
const HEADER_BYTES = 80;
const TENSOR_BYTES = 64;
const OP_BYTES = 112;
const IATTRS = 20;
const FATTRS = 4;
const MAX_RANK = 6;
const ALIGN = 16;

export const PLAN_DTYPE: Record<DType, number> = {
  float32: 1,
  int8: 2,
  uint8: 3,
  int16: 4,
  int32: 5,
  int64: 6,
  bool: 7,
  uint16: 8,
};

const align = (v: number, a: number) => Math.ceil(v / a) * a;

class Names {
  private readonly parts: Buffer[] = [];
  private size = 0;
  private readonly seen = new Map<string, number>();
  add(s: string): number {
    const hit = this.seen.get(s);
    if (hit !== undefined) return hit;
    const off = this.size;
    const b = Buffer.from(s + '\0', 'utf8');
    this.parts.push(b);
    this.size += b.length;
    this.seen.set(s, off);
    return off;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts.length ? this.parts : [Buffer.from([0])]);
  }
}

function quantWords(t: Tensor): number {
  return t.quant ? 2 * t.quant.scales.length : 0;
}

export function writePlan(g: Graph): Uint8Array {
  const names = new Names();
  names.add('');
  // index pool: op inputs/outputs, then graph inputs and outputs
  const index: number[] = [];
  const opAt: number[] = [];
  for (const op of g.ops) {
    opAt.push(index.length);
    index.push(...op.inputs, ...op.outputs);
  }
  const ioAt = index.length;
  index.push(...g.inputs, ...g.outputs);

  // quant pool
  const quantAt: number[] = [];
  let quantCount = 0;
  for (const t of g.tensors) {
    quantAt.push(quantCount);
    quantCount += quantWords(t);
  }

  // blob
  const blobAt: number[] = [];
  let blobSize = 0;
  for (const t of g.tensors) {
    if (t.data) {
      if (t.data.length !== tensorBytes(t))
        throw new QieError('model_invalid', `tensor ${t.name}: ${t.data.length} bytes of data for shape [${t.shape}] ${t.dtype}`);
      blobSize = align(blobSize, ALIGN);
      blobAt.push(blobSize);
      blobSize += t.data.length;
    } else {
      blobAt.push(0);
    }
  }

  const tensorNameOff = g.tensors.map((t) => names.add(t.name));
  const opNameOff = g.ops.map((o) => names.add(o.name));
  const namesBytes = names.bytes();

  const tensorsOff = HEADER_BYTES;
  const opsOff = tensorsOff + g.tensors.length * TENSOR_BYTES;
  const indexOff = opsOff + g.ops.length * OP_BYTES;
  const quantOff = indexOff + index.length * 4;
  const namesOff = quantOff + quantCount * 4;
  const blobOff = align(namesOff + namesBytes.length, ALIGN);
  const total = blobOff + blobSize;

  const buf = Buffer.alloc(total);
  const header = [
    MAGIC,
    VERSION,
    g.semantics === 'onnx' ? 1 : 0,
    g.tensors.length,
    g.ops.length,
    g.inputs.length,
    g.outputs.length,
    tensorsOff,
    opsOff,
    indexOff,
    index.length,
    ioAt,
    quantOff,
    quantCount,
    namesOff,
    namesBytes.length,
    blobOff,
    blobSize,
    total,
    0,
  ];
  header.forEach((v, i) => buf.writeUInt32LE(v >>> 0, i * 4));

  g.tensors.forEach((t, i) => {
    const o = tensorsOff + i * TENSOR_BYTES;
    if (t.shape.length > MAX_RANK) throw new QieError('unsupported_op', `tensor ${t.name}: rank ${t.shape.length} above ${MAX_RANK}`);
    buf.writeUInt8(PLAN_DTYPE[t.dtype], o);
    buf.writeUInt8(t.shape.length, o + 1);
    buf.writeUInt8((t.data ? 1 : 0) | (t.variable ? 2 : 0), o + 2);
    t.shape.forEach((d, k) => buf.writeInt32LE(d | 0, o + 4 + 4 * k));
    buf.writeUInt32LE(blobAt[i], o + 28);
    buf.writeUInt32LE(t.data ? t.data.length : 0, o + 32);
    const q = t.quant;
    buf.writeUInt32LE(q ? q.scales.length : 0, o + 36);
    buf.writeInt32LE(q && q.scales.length > 1 ? q.axis : -1, o + 40);
    buf.writeUInt32LE(quantAt[i], o + 44);
    buf.writeUInt32LE(tensorNameOff[i], o + 48);
    if (q) {
      if (q.zeroPoints.length !== q.scales.length)
        throw new QieError('model_invalid', `tensor ${t.name}: ${q.scales.length} scales but ${q.zeroPoints.length} zero points`);
      const at = quantOff + quantAt[i] * 4;
      q.scales.forEach((s, k) => buf.writeFloatLE(s, at + 4 * k));
      q.zeroPoints.forEach((z, k) => buf.writeInt32LE(z | 0, at + 4 * (q.scales.length + k)));
    }
    if (t.data) buf.set(t.data, blobOff + blobAt[i]);
  });

  g.ops.forEach((op, i) => {
    const spec = OPSET[op.kind];
    if (!spec) throw new QieError('unsupported_op', `op ${op.name}: kind ${op.kind} has no plan code`);
    const o = opsOff + i * OP_BYTES;
    buf.writeUInt16LE(spec.code, o);
    buf.writeUInt16LE(op.inputs.length, o + 2);
    buf.writeUInt16LE(op.outputs.length, o + 4);
    buf.writeUInt32LE(opAt[i], o + 8);
    spec.ints.forEach((name, k) => {
      if (k >= IATTRS) throw new QieError('internal', `op ${op.kind}: too many int attributes`);
      buf.writeInt32LE((op.attrs[name] ?? 0) | 0, o + 12 + 4 * k);
    });
    spec.floats.forEach((name, k) => {
      if (k >= FATTRS) throw new QieError('internal', `op ${op.kind}: too many float attributes`);
      buf.writeFloatLE(op.attrs[name] ?? 0, o + 12 + 4 * IATTRS + 4 * k);
    });
    buf.writeUInt32LE(opNameOff[i], o + 12 + 4 * IATTRS + 4 * FATTRS);
  });

  index.forEach((v, k) => buf.writeInt32LE(v, indexOff + 4 * k));
  namesBytes.copy(buf, namesOff);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}
