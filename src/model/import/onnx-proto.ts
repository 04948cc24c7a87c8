// ONNX protobuf -> plain checked structures: the model's opsets, nodes with
// typed attributes, initializers as little-endian bytes, declared value types.
// Decoding uses onnx-proto (protobufjs); every size taken from the file is
// checked here before anything is allocated from it.
import { QieError } from '../../errors';
import type { DType } from '../ir';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { onnx } = require('onnx-proto') as { onnx: any };

export const MAX_RANK = 6;
const MAX_TENSOR_BYTES = 2 ** 31;

export function invalid(msg: string): never {
  throw new QieError('model_invalid', `invalid ONNX model: ${msg}`);
}
export function unsupported(msg: string): never {
  throw new QieError('unsupported_op', msg);
}

/** ONNX TensorProto.DataType codes qie reads. 4-bit types hold one value per byte here. */
export const ONNX_DT = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, BOOL: 9, UINT4: 21, INT4: 22 } as const;
const DT_NAMES: Record<number, string> = {
  1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16',
  17: 'float8e4m3fn', 18: 'float8e4m3fnuz', 19: 'float8e5m2', 20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};

/** An element type as qie holds it: the IR dtype, and 4 for 4-bit values widened to a byte. */
export interface ElemType {
  dtype: DType;
  bits: 0 | 4;
  onnx: number;
}

export function elemType(code: number, where: string): ElemType {
  switch (code) {
    case ONNX_DT.FLOAT: return { dtype: 'float32', bits: 0, onnx: code };
    case ONNX_DT.UINT8: return { dtype: 'uint8', bits: 0, onnx: code };
    case ONNX_DT.INT8: return { dtype: 'int8', bits: 0, onnx: code };
    case ONNX_DT.UINT16: return { dtype: 'uint16', bits: 0, onnx: code };
    case ONNX_DT.INT16: return { dtype: 'int16', bits: 0, onnx: code };
    case ONNX_DT.INT32: return { dtype: 'int32', bits: 0, onnx: code };
    case ONNX_DT.INT64: return { dtype: 'int64', bits: 0, onnx: code };
    case ONNX_DT.BOOL: return { dtype: 'bool', bits: 0, onnx: code };
    case ONNX_DT.UINT4: return { dtype: 'uint8', bits: 4, onnx: code };
    case ONNX_DT.INT4: return { dtype: 'int8', bits: 4, onnx: code };
  }
  const name = DT_NAMES[code];
  if (name === undefined) invalid(`${where} has unknown element type ${code}`);
  return unsupported(`${where} has element type ${name}, which qie does not support`);
}

const BYTES: Record<DType, number> = { float32: 4, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, int64: 8, bool: 1 };

/** A decoded constant: one element per IR dtype slot (4-bit values unpacked, sign-extended). */
export interface OnnxTensor {
  name: string;
  type: ElemType;
  dims: number[];
  data: Uint8Array;
}

export type AttrValue = number | number[] | string | OnnxTensor | undefined;

export interface OnnxNode {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttrValue>;
}

export interface ValueDecl {
  name: string;
  type?: ElemType;
  /** undefined when the shape is not declared; symbolic dims are -1. */
  dims?: number[];
}

export interface OnnxModel {
  opset: number;
  msOpset: number;
  producer: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: ValueDecl[];
  outputs: ValueDecl[];
  valueInfo: Map<string, ValueDecl>;
}

function num(v: unknown, where: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'object' && v !== null && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : Number(v);
  if (!Number.isFinite(n)) invalid(`${where} is not a number`);
  return n;
}

function checkDims(dims: unknown[], where: string): number[] {
  if (dims.length > MAX_RANK) unsupported(`${where} has rank ${dims.length}; qie supports rank <= ${MAX_RANK}`);
  return dims.map((d, i) => {
    const n = num(d, `${where} dim ${i}`);
    if (!Number.isInteger(n) || n < 0) invalid(`${where} has dimension ${n}`);
    return n;
  });
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** TensorProto -> OnnxTensor (raw_data or the typed fields; external data refused). */
export function readTensorProto(t: any, where: string): OnnxTensor {
  const name: string = t.name || '';
  const label = `${where}${name ? ` "${name}"` : ''}`;
  if ((t.externalData && t.externalData.length) || t.dataLocation === 1)
    unsupported(`${label} keeps its data in an external file; qie reads self-contained .onnx files only (save the model without external data)`);
  if (t.segment) unsupported(`${label} is segmented`);
  const type = elemType(num(t.dataType, `${label} type`), label);
  const dims = checkDims(t.dims ?? [], label);
  const n = elementCount(dims);
  const eb = BYTES[type.dtype];
  if (n * eb > MAX_TENSOR_BYTES) invalid(`${label} shape [${dims}] is too large`);
  const raw: Uint8Array | undefined = t.rawData && t.rawData.length ? t.rawData : undefined;
  // sizes are checked against the data present before anything is allocated
  const stored = raw ? raw.length : type.bits === 4 || !['float32', 'int64'].includes(type.dtype) ? (t.int32Data ?? []).length : type.dtype === 'float32' ? (t.floatData ?? []).length : (t.int64Data ?? []).length;
  const wanted = type.bits === 4 ? Math.ceil(n / 2) : raw ? n * eb : n;
  if (stored !== wanted) invalid(`${label} holds ${stored} ${raw ? 'bytes' : 'values'}, shape [${dims}] ${type.bits === 4 ? '4-bit' : type.dtype} needs ${wanted}`);
  const out = new Uint8Array(n * eb);
  const dv = new DataView(out.buffer);
  if (type.bits === 4) {
    // two values a byte, low nibble first; raw_data or one byte per int32_data entry
    const packed = raw ?? Uint8Array.from((t.int32Data ?? []).map((v: unknown) => num(v, label) & 0xff));
    for (let i = 0; i < n; i++) {
      const nib = (packed[i >> 1] >> ((i & 1) * 4)) & 0xf;
      out[i] = type.dtype === 'int8' ? ((nib << 28) >> 28) & 0xff : nib;
    }
    return { name, type, dims, data: out };
  }
  if (raw) {
    if (raw.length !== n * eb) invalid(`${label} holds ${raw.length} bytes, shape [${dims}] ${type.dtype} needs ${n * eb}`);
    out.set(raw);
    return { name, type, dims, data: out };
  }
  const field = (arr: unknown[] | undefined, what: string): unknown[] => {
    const a = arr ?? [];
    if (a.length !== n) invalid(`${label} has ${a.length} ${what} values, shape [${dims}] needs ${n}`);
    return a;
  };
  switch (type.dtype) {
    case 'float32':
      field(t.floatData, 'float_data').forEach((v, i) => dv.setFloat32(4 * i, num(v, label), true));
      break;
    case 'int64':
      field(t.int64Data, 'int64_data').forEach((v, i) => dv.setBigInt64(8 * i, BigInt(Math.trunc(num(v, label))), true));
      break;
    default:
      field(t.int32Data, 'int32_data').forEach((v, i) => {
        const x = num(v, label);
        if (eb === 1) out[i] = x & 0xff;
        else if (eb === 2) dv.setUint16(2 * i, x & 0xffff, true);
        else dv.setInt32(4 * i, x | 0, true);
      });
  }
  return { name, type, dims, data: out };
}

/** The elements of an integer or float constant as numbers. */
export function tensorValues(t: { type: ElemType; data: Uint8Array }): number[] {
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const eb = BYTES[t.type.dtype];
  const n = t.data.length / eb;
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    switch (t.type.dtype) {
      case 'float32': out[i] = dv.getFloat32(4 * i, true); break;
      case 'int8': out[i] = dv.getInt8(i); break;
      case 'uint8': case 'bool': out[i] = dv.getUint8(i); break;
      case 'int16': out[i] = dv.getInt16(2 * i, true); break;
      case 'uint16': out[i] = dv.getUint16(2 * i, true); break;
      case 'int32': out[i] = dv.getInt32(4 * i, true); break;
      case 'int64': out[i] = Number(dv.getBigInt64(8 * i, true)); break;
    }
  }
  return out;
}

function readAttr(a: any, where: string): AttrValue {
  const label = `${where} attribute "${a.name}"`;
  switch (num(a.type ?? 0, label)) {
    case 1: return num(a.f ?? 0, label); // FLOAT
    case 2: return num(a.i ?? 0, label); // INT
    case 3: return Buffer.from(a.s ?? []).toString('utf8'); // STRING
    case 4: return a.t ? readTensorProto(a.t, label) : invalid(`${label} has no tensor`); // TENSOR
    case 6: return (a.floats ?? []).map((v: unknown) => num(v, label)); // FLOATS
    case 7: return (a.ints ?? []).map((v: unknown) => num(v, label)); // INTS
    case 0: return undefined;
    default: return unsupported(`${label} has a type qie does not read (graphs, sparse tensors, strings lists)`);
  }
}

function readDecl(v: any, where: string): ValueDecl {
  const name: string = v.name || '';
  const tt = v.type?.tensorType;
  if (!tt) return { name };
  const type = tt.elemType ? elemType(num(tt.elemType, where), `${where} "${name}"`) : undefined;
  let dims: number[] | undefined;
  if (tt.shape) {
    const d = tt.shape.dim ?? [];
    if (d.length > MAX_RANK) unsupported(`${where} "${name}" has rank ${d.length}; qie supports rank <= ${MAX_RANK}`);
    dims = d.map((x: any) => (x.dimValue !== undefined && x.dimValue !== null ? num(x.dimValue, where) : -1));
    for (const x of dims!) if (!Number.isInteger(x) || x < -1) invalid(`${where} "${name}" has dimension ${x}`);
  }
  return { name, type, dims };
}

export function decodeOnnx(bytes: Uint8Array): OnnxModel {
  let m: any;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    invalid(`protobuf decoding failed (${(e as Error).message}); the file is truncated or not an ONNX model`);
  }
  const g = m.graph;
  if (!g) invalid('the model has no graph');
  let opset = 0;
  let msOpset = 0;
  for (const o of m.opsetImport ?? []) {
    const v = num(o.version ?? 0, 'opset version');
    if (!o.domain || o.domain === 'ai.onnx') opset = v;
    else if (o.domain === 'com.microsoft') msOpset = v;
  }
  if (opset === 0) invalid('the model imports no default-domain opset');
  if (opset < 10 || opset > 25) unsupported(`ONNX opset ${opset}; qie reads opsets 10 to 25`);
  if ((g.sparseInitializer ?? []).length) unsupported('sparse initializers are not supported');
  const initializers = new Map<string, OnnxTensor>();
  (g.initializer ?? []).forEach((t: any, i: number) => {
    const tensor = readTensorProto(t, `initializer #${i}`);
    if (!tensor.name) invalid(`initializer #${i} has no name`);
    initializers.set(tensor.name, tensor);
  });
  const nodes: OnnxNode[] = (g.node ?? []).map((n: any, i: number) => {
    const name = n.name || `${n.opType || 'node'}_${i}`;
    const where = `node #${i} ${n.opType} "${name}"`;
    const attrs = new Map<string, AttrValue>();
    for (const a of n.attribute ?? []) attrs.set(a.name, readAttr(a, where));
    return { opType: n.opType || '', domain: n.domain || '', name, inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs };
  });
  const valueInfo = new Map<string, ValueDecl>();
  for (const v of g.valueInfo ?? []) valueInfo.set(v.name, readDecl(v, 'value_info'));
  return {
    opset,
    msOpset,
    producer: m.producerName || '',
    nodes,
    initializers,
    inputs: (g.input ?? []).map((v: any) => readDecl(v, 'graph input')).filter((d: ValueDecl) => !initializers.has(d.name)),
    outputs: (g.output ?? []).map((v: any) => readDecl(v, 'graph output')),
    valueInfo,
  };
}
