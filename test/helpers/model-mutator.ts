// Seeded mutations of model files for the model fuzzer. Three kinds:
//  - bytes: bits flipped or bytes replaced, half of them in the regions that hold a
//    file's structure (a flatbuffer's first 2 KB and last 8 KB: vtables, offsets,
//    shapes, indices; anywhere in a protobuf);
//  - words: an aligned 32-bit word (a flatbuffer offset, length or scalar) set to
//    an edge value;
//  - structure: the model decoded, one of its fields changed, written again, so
//    the file is well formed and the damage reaches the importer's and the C
//    runtime's checks: TFLite through the IR (a tensor's shape, type, constant
//    data, quantization or state flag; an op's inputs, outputs, attributes or kind;
//    the graph's inputs and outputs) and graph-to-tflite; ONNX through its
//    protobuf (initializer dims, data types, raw_data lengths, removed or renamed
//    initializers; node attributes, inputs and op types; declared dims; opsets).
import { QieError } from '../../src/errors';
import { graphToTflite } from '../../src/model/export/graph-to-tflite';
import { importTflite } from '../../src/model/import/tflite';
import type { DType, Graph, OpKind } from '../../src/model/ir';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { onnx } = require('onnx-proto') as { onnx: any };

export type Random = () => number;
export type MutationKind = 'bytes' | 'words' | 'structure';

const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: Random, n: number) => Math.floor(r() * n);

/** Integers that sit on the edges of every check. */
function edgeInt(r: Random, near: number): number {
  return pick(r, [0, 1, -1, 2, 3, 7, 8, 16, 255, 256, 65535, 0x7fffffff, -0x80000000, near + 1, near - 1, near * 2, -near, int(r, 64)]);
}

function flipBytes(src: Uint8Array, r: Random): Uint8Array {
  const bytes = Uint8Array.from(src);
  const flips = 1 + int(r, 4);
  for (let k = 0; k < flips; k++) {
    const structural = r() < 0.5;
    const at = structural ? (r() < 0.5 ? int(r, Math.min(2048, bytes.length)) : bytes.length - 1 - int(r, Math.min(8192, bytes.length))) : int(r, bytes.length);
    bytes[at] = r() < 0.5 ? bytes[at] ^ (1 << int(r, 8)) : int(r, 256);
  }
  return bytes;
}

function overwriteWords(src: Uint8Array, r: Random): Uint8Array {
  const bytes = Uint8Array.from(src);
  const view = new DataView(bytes.buffer);
  const words = 1 + int(r, 2);
  for (let k = 0; k < words; k++) {
    if (bytes.length < 8) break;
    const head = r() < 0.5;
    const at = (head ? int(r, Math.min(2048, bytes.length - 4)) : bytes.length - 4 - int(r, Math.min(8192, bytes.length - 4))) & ~3;
    const old = view.getInt32(at, true);
    view.setInt32(at, edgeInt(r, old) | 0, true);
  }
  return bytes;
}

// ---- TFLite through the IR ----

const DTYPES: DType[] = ['float32', 'int8', 'uint8', 'int16', 'int32', 'int64', 'bool', 'uint16'];
const KINDS: OpKind[] = ['CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'ADD', 'MUL', 'RESHAPE', 'SOFTMAX', 'AVERAGE_POOL_2D', 'MAX_POOL_2D', 'MEAN', 'PAD', 'CONCATENATION', 'STRIDED_SLICE', 'LOGISTIC', 'QUANTIZE', 'SVDF'];

const graphCache = new WeakMap<Uint8Array, Graph | null>();

function sourceGraph(src: Uint8Array): Graph | null {
  if (!graphCache.has(src)) {
    let g: Graph | null = null;
    try {
      g = importTflite(src);
    } catch {
      g = null;
    }
    graphCache.set(src, g);
  }
  const g = graphCache.get(src);
  return g ? structuredClone(g) : null;
}

function mutateGraph(g: Graph, r: Random): void {
  const t = pick(r, g.tensors);
  const op = g.ops.length ? pick(r, g.ops) : undefined;
  // an index of any tensor, now and then one past the end or absent (-1)
  const anyTensor = () => (r() < 0.1 ? -1 : int(r, g.tensors.length + (r() < 0.1 ? 1 : 0)));
  switch (int(r, 14)) {
    case 0: // one dimension
      if (t.shape.length) t.shape[int(r, t.shape.length)] = edgeInt(r, t.shape[0]);
      else t.shape = [edgeInt(r, 1)];
      break;
    case 1: // rank
      if (r() < 0.5 && t.shape.length) t.shape.pop();
      else t.shape.push(pick(r, [1, 2, 3]));
      break;
    case 2:
      t.dtype = pick(r, DTYPES);
      break;
    case 3: // a constant becomes computed (or absent), an activation gets data
      if (t.data) delete t.data;
      else t.data = new Uint8Array(int(r, 64)).map(() => int(r, 256));
      break;
    case 4: // constant data of another length
      if (t.data) t.data = r() < 0.5 ? t.data.subarray(0, int(r, t.data.length)) : Uint8Array.from([...t.data, ...t.data]);
      break;
    case 5: // quantization
      if (!t.quant) t.quant = { scales: [r()], zeroPoints: [0], axis: -1 };
      else if (r() < 0.3) t.quant.scales = pick(r, [[0], [-1], [NaN], [Infinity], [1e-30], [1e30], [...t.quant.scales, 0.5]]);
      else if (r() < 0.5) t.quant.zeroPoints[int(r, t.quant.zeroPoints.length)] = edgeInt(r, 0);
      else t.quant.axis = edgeInt(r, t.quant.axis) % 8;
      break;
    case 6:
      t.variable = !t.variable;
      break;
    case 7: // an op reads another tensor
      if (op && op.inputs.length) op.inputs[int(r, op.inputs.length)] = anyTensor();
      break;
    case 8: // an op writes another tensor
      if (op) op.outputs[int(r, op.outputs.length)] = int(r, g.tensors.length);
      break;
    case 9: // one attribute
      if (op) {
        const keys = Object.keys(op.attrs);
        if (keys.length) {
          const k = pick(r, keys);
          op.attrs[k] = edgeInt(r, op.attrs[k]);
        }
      }
      break;
    case 10: // the op is another kind
      if (op) op.kind = pick(r, KINDS);
      break;
    case 11: // an input more or fewer
      if (op) {
        if (r() < 0.5 && op.inputs.length) op.inputs.pop();
        else op.inputs.push(anyTensor());
      }
      break;
    case 12: // graph inputs and outputs
      if (r() < 0.5) g.inputs = r() < 0.5 ? [...g.inputs, int(r, g.tensors.length)] : g.inputs.slice(1);
      else g.outputs = r() < 0.5 ? [...g.outputs, int(r, g.tensors.length)] : [int(r, g.tensors.length)];
      break;
    default: // ops in another order
      if (g.ops.length > 1) {
        const i = int(r, g.ops.length - 1);
        [g.ops[i], g.ops[i + 1]] = [g.ops[i + 1], g.ops[i]];
      }
  }
}

function mutateTfliteStructure(src: Uint8Array, r: Random): Uint8Array | null {
  const g = sourceGraph(src);
  if (!g || !g.tensors.length) return null;
  const edits = 1 + int(r, 2);
  for (let k = 0; k < edits; k++) mutateGraph(g, r);
  try {
    return graphToTflite(g);
  } catch (e) {
    if (e instanceof QieError || e instanceof Error) return null;
    throw e;
  }
}

// ---- ONNX through its protobuf ----

const ONNX_TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 21, 22, 99];

function mutateOnnxStructure(src: Uint8Array, r: Random): Uint8Array | null {
  let m: any;
  try {
    m = onnx.ModelProto.decode(src);
  } catch {
    return null;
  }
  const g = m.graph;
  if (!g) return null;
  const inits: any[] = g.initializer ?? [];
  const nodes: any[] = g.node ?? [];
  const names = [...inits.map((t) => t.name), ...nodes.flatMap((n) => n.output ?? []), ...(g.input ?? []).map((v: any) => v.name), ''];
  const edits = 1 + int(r, 2);
  for (let k = 0; k < edits; k++) {
    const t = inits.length ? pick(r, inits) : undefined;
    const n = nodes.length ? pick(r, nodes) : undefined;
    switch (int(r, 11)) {
      case 0: // initializer dims
        if (t) {
          const dims = (t.dims ?? []).map(Number);
          if (dims.length && r() < 0.7) dims[int(r, dims.length)] = edgeInt(r, dims[0]);
          else if (r() < 0.5) dims.push(edgeInt(r, 1));
          else dims.pop();
          t.dims = dims;
        }
        break;
      case 1:
        if (t) t.dataType = pick(r, ONNX_TYPES);
        break;
      case 2: // raw_data of another length
        if (t && t.rawData && t.rawData.length) t.rawData = r() < 0.5 ? t.rawData.subarray(0, int(r, t.rawData.length)) : Buffer.concat([t.rawData, t.rawData.subarray(0, 1 + int(r, 8))]);
        break;
      case 3: // an initializer removed, or renamed to shadow a value
        if (t) {
          if (r() < 0.5) inits.splice(inits.indexOf(t), 1);
          else t.name = pick(r, names);
        }
        break;
      case 4: // an attribute's value
        if (n && n.attribute?.length) {
          const a = pick(r, n.attribute as any[]);
          if (a.ints?.length) a.ints[int(r, a.ints.length)] = edgeInt(r, Number(a.ints[0]));
          else if (a.floats?.length) a.floats[int(r, a.floats.length)] = pick(r, [0, -1, NaN, Infinity, 1e30]);
          else if (a.f !== undefined && a.f !== 0) a.f = pick(r, [0, -1, NaN, Infinity, 1e30]);
          else a.i = edgeInt(r, Number(a.i ?? 0));
        }
        break;
      case 5: // an attribute dropped
        if (n && n.attribute?.length) n.attribute.splice(int(r, n.attribute.length), 1);
        break;
      case 6: // a node reads another value
        if (n && n.input?.length) n.input[int(r, n.input.length)] = pick(r, names);
        break;
      case 7: // an input more or fewer
        if (n) {
          if (r() < 0.5 && n.input?.length) n.input.pop();
          else n.input = [...(n.input ?? []), pick(r, names)];
        }
        break;
      case 8: // the op type of another node
        if (n) n.opType = pick(r, nodes).opType;
        break;
      case 9: // a declared input or output dim
        {
          const vs: any[] = r() < 0.5 ? g.input ?? [] : g.output ?? [];
          const v = vs.length ? pick(r, vs) : undefined;
          const dims: any[] | undefined = v?.type?.tensorType?.shape?.dim;
          if (dims?.length) dims[int(r, dims.length)] = { dimValue: edgeInt(r, 1) };
          else if (v?.type?.tensorType) v.type.tensorType.elemType = pick(r, ONNX_TYPES);
        }
        break;
      default: // the opset
        if (m.opsetImport?.length) m.opsetImport[0].version = pick(r, [1, 9, 10, 11, 13, 17, 21, 25, 26, 1000]);
    }
  }
  g.initializer = inits;
  try {
    return onnx.ModelProto.encode(m).finish();
  } catch {
    return null;
  }
}

/** One mutant of src (a TFLite or ONNX file); the same for the same random sequence. */
export function mutateModel(src: Uint8Array, format: 'tflite' | 'onnx', r: Random): { bytes: Uint8Array; kind: MutationKind } {
  const roll = r();
  if (roll < 0.5) {
    const bytes = format === 'tflite' ? mutateTfliteStructure(src, r) : mutateOnnxStructure(src, r);
    if (bytes) return { bytes, kind: 'structure' };
  }
  if (roll < 0.7 && format === 'tflite') return { bytes: overwriteWords(src, r), kind: 'words' };
  return { bytes: flipBytes(src, r), kind: 'bytes' };
}
