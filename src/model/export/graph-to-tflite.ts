// IR -> TFLite flatbuffer: the way back from the one IR to a standard .tflite file,
// so a graph the quantizer rewrote can be shipped and read by qie or TFLite.
// Attributes the importer derived (explicit pads) are turned back into what the
// schema stores (SAME/VALID), and refused when no TFLite padding mode gives them.
import { QieError } from '../../errors';
import { Graph, Op, Tensor } from '../ir';
import { buildTflite, i32, OptionValue, TflOperatorSpec, TflTensorSpec, TflType } from './tflite-writer';

const TFL_TYPES: Record<Tensor['dtype'], TflType> = {
  float32: 'float32',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  int64: 'int64',
  bool: 'bool',
};

/** The TFLite padding modes that yield the op's explicit pads on one spatial axis. */
function modesFor(inSize: number, k: number, stride: number, dilation: number, outSize: number, before: number, after: number): Set<string> {
  const modes = new Set<string>();
  const eff = (k - 1) * dilation + 1;
  const total = Math.max((Math.ceil(inSize / stride) - 1) * stride + eff - inSize, 0);
  if (outSize === Math.ceil(inSize / stride) && before === Math.floor(total / 2) && after === total - Math.floor(total / 2)) modes.add('SAME');
  if (before === 0 && after === 0 && outSize === Math.floor((inSize - eff) / stride) + 1) modes.add('VALID');
  return modes;
}

function paddingMode(g: Graph, op: Op, kh: number, kw: number): 'SAME' | 'VALID' | undefined {
  const a = op.attrs;
  const inp = g.tensors[op.inputs[0]].shape;
  const out = g.tensors[op.outputs[0]].shape;
  const h = modesFor(inp[1], kh, a.strideH, a.dilationH ?? 1, out[1], a.padTop, a.padBottom);
  const w = modesFor(inp[2], kw, a.strideW, a.dilationW ?? 1, out[2], a.padLeft, a.padRight);
  for (const m of ['SAME', 'VALID'] as const) if (h.has(m) && w.has(m)) return m;
  return undefined;
}

function padding(g: Graph, op: Op, kh: number, kw: number): 'SAME' | 'VALID' {
  const mode = paddingMode(g, op, kh, kw);
  if (mode) return mode;
  const a = op.attrs;
  throw new QieError('unsupported_op', `${op.name}: pads [${a.padTop}, ${a.padLeft}, ${a.padBottom}, ${a.padRight}] are neither TFLite SAME nor VALID padding`);
}

/**
 * Conv-like ops whose explicit pads (from ONNX, say) match no TFLite padding mode:
 * an explicit PAD (zeros; in int8 the zero point) in front, then the op with VALID.
 */
function explicitPad(g: Graph, op: Op, nextTensor: number, names: Set<string>): { pad: TflOperatorSpec; padded: number; extra: TflTensorSpec[] } {
  const a = op.attrs;
  const x = g.tensors[op.inputs[0]];
  const [n, h, w, c] = x.shape;
  const pads: TflTensorSpec = { name: unique(`${x.name}/pads`, names), type: 'int32', shape: [4, 2], data: i32([0, 0, a.padTop, a.padBottom, a.padLeft, a.padRight, 0, 0]) };
  const padded: TflTensorSpec = { name: unique(`${x.name}/padded`, names), type: TFL_TYPES[x.dtype], shape: [n, h + a.padTop + a.padBottom, w + a.padLeft + a.padRight, c] };
  if (x.quant) padded.quant = { scale: [...x.quant.scales], zeroPoint: [...x.quant.zeroPoints] };
  return { pad: { op: 'PAD', inputs: [op.inputs[0], nextTensor], outputs: [nextTensor + 1] }, padded: nextTensor + 1, extra: [pads, padded] };
}

interface Written {
  spec: TflOperatorSpec;
  /** An operator that must run first (the explicit PAD). */
  before?: TflOperatorSpec;
  /** Extra constant tensors the TFLite form needs (RESHAPE's shape). */
  extra?: TflTensorSpec[];
}

function operator(g: Graph, op: Op, nextTensor: number, names: Set<string>): Written {
  const a = op.attrs;
  const base = { inputs: [...op.inputs], outputs: [...op.outputs] };
  const opt = (options: Record<string, OptionValue>, name: string = op.kind): Written => ({ spec: { op: name, ...base, options } });
  switch (op.kind) {
    case 'CONV_2D':
    case 'DEPTHWISE_CONV_2D': {
      const f = g.tensors[op.inputs[1]].shape;
      const options: Record<string, OptionValue> = {
        strideH: a.strideH,
        strideW: a.strideW,
        dilationH: a.dilationH ?? 1,
        dilationW: a.dilationW ?? 1,
        activation: a.activation ?? 0,
        ...(op.kind === 'DEPTHWISE_CONV_2D' ? { depthMultiplier: a.depthMultiplier ?? 1 } : {}),
      };
      const mode = paddingMode(g, op, f[1], f[2]);
      if (mode) return opt({ padding: mode, ...options });
      const p = explicitPad(g, op, nextTensor, names);
      return { before: p.pad, extra: p.extra, spec: { op: op.kind, inputs: [p.padded, ...op.inputs.slice(1)], outputs: base.outputs, options: { padding: 'VALID', ...options } } };
    }
    case 'AVERAGE_POOL_2D':
    case 'MAX_POOL_2D':
      return opt({ padding: padding(g, op, a.filterH, a.filterW), strideH: a.strideH, strideW: a.strideW, filterH: a.filterH, filterW: a.filterW, activation: a.activation ?? 0 });
    case 'FULLY_CONNECTED':
      return opt({ activation: a.activation ?? 0, keepNumDims: !!a.keepNumDims });
    case 'ADD':
    case 'SUB':
    case 'MUL':
      return opt({ activation: a.activation ?? 0 });
    case 'CONCATENATION':
      return opt({ axis: a.axis, activation: a.activation ?? 0 });
    case 'SOFTMAX':
      return opt({ beta: a.beta });
    case 'LEAKY_RELU':
      return opt({ alpha: a.alpha });
    case 'MEAN':
      return opt({ keepDims: !!a.keepDims });
    case 'PACK':
      return opt({ axis: a.axis, valuesCount: op.inputs.length });
    case 'SHAPE':
      return opt({ outType: TFL_TYPES[g.tensors[op.outputs[0]].dtype] });
    case 'STRIDED_SLICE':
      return opt({ beginMask: a.beginMask, endMask: a.endMask, ellipsisMask: a.ellipsisMask, newAxisMask: a.newAxisMask, shrinkAxisMask: a.shrinkAxisMask, offset: !!a.offset });
    case 'RESIZE_NEAREST_NEIGHBOR':
      return opt({ alignCorners: !!a.alignCorners, halfPixelCenters: !!a.halfPixelCenters });
    case 'SVDF':
      return opt({ rank: a.rank, activation: a.activation ?? 0 });
    case 'UNIDIRECTIONAL_SEQUENCE_LSTM':
      return opt({ activation: a.activation ?? 0, timeMajor: !!a.timeMajor, cellClip: a.cellClip ?? 0, projClip: a.projClip ?? 0 });
    case 'PAD':
      return { spec: { op: op.inputs.length > 2 ? 'PADV2' : 'PAD', ...base } };
    case 'RESHAPE': {
      // The IR keeps only the data input; TFLite readers want the new shape as input 1.
      const shape = g.tensors[op.outputs[0]].shape;
      const extra: TflTensorSpec = { name: unique(`${g.tensors[op.outputs[0]].name}/shape`, names), type: 'int32', shape: [shape.length], data: i32(shape) };
      return { spec: { op: 'RESHAPE', inputs: [op.inputs[0], nextTensor], outputs: base.outputs }, extra: [extra] };
    }
    default:
      return { spec: { op: op.kind, ...base } };
  }
}

/** A tensor name not used yet (tools match tensors by name). */
function unique(base: string, names: Set<string>): string {
  let name = base;
  for (let k = 1; names.has(name); k++) name = `${base}_${k}`;
  names.add(name);
  return name;
}

function tensorSpec(t: Tensor): TflTensorSpec {
  const spec: TflTensorSpec = { name: t.name, type: TFL_TYPES[t.dtype], shape: [...t.shape] };
  if (t.quant) spec.quant = { scale: [...t.quant.scales], zeroPoint: [...t.quant.zeroPoints], axis: Math.max(t.quant.axis, 0) };
  if (t.data) spec.data = t.data;
  if (t.variable) spec.variable = true;
  return spec;
}

/** Writes a graph as a TFLite flatbuffer (tensors keep their indices; helper tensors are appended). */
export function graphToTflite(g: Graph, description?: string): Uint8Array {
  if (g.semantics !== 'tflite') throw new QieError('unsupported_op', 'only graphs with TFLite semantics can be written as .tflite');
  const tensors = g.tensors.map(tensorSpec);
  const operators: TflOperatorSpec[] = [];
  const names = new Set(g.tensors.map((t) => t.name));
  for (const op of g.ops) {
    const w = operator(g, op, tensors.length, names);
    if (w.extra) tensors.push(...w.extra);
    if (w.before) operators.push(w.before);
    operators.push(w.spec);
  }
  return buildTflite({ tensors, operators, inputs: [...g.inputs], outputs: [...g.outputs], description: description ?? g.source.description });
}
