// Builds small ONNX models in memory (onnx-proto's encoder) for tests: nodes,
// typed graph inputs/outputs and initializers given as plain numbers.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { onnx } = require('onnx-proto') as { onnx: any };

export const T = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;

export type AttrSpec = number | number[] | string | { f: number } | { tensor: { type: number; dims: number[]; values: number[] } };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrSpec>;
  domain?: string;
  name?: string;
}

export interface ValueSpec {
  name: string;
  type: number;
  dims: number[];
}

export interface InitSpec extends ValueSpec {
  values?: number[];
  /** Marks the data as stored in an external file. */
  external?: boolean;
}

export interface ModelSpec {
  nodes: NodeSpec[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  initializers?: InitSpec[];
  opset?: number;
}

function attr(name: string, v: AttrSpec): unknown {
  if (typeof v === 'string') return { name, type: 3, s: Buffer.from(v) };
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  if (typeof v === 'object' && 'tensor' in v) return { name, type: 4, t: { dataType: v.tensor.type, dims: v.tensor.dims, rawData: rawOf(v.tensor.type, v.tensor.values) } };
  if (typeof v === 'object') return { name, type: 1, f: v.f };
  return Number.isInteger(v) ? { name, type: 2, i: v } : { name, type: 1, f: v };
}

export function rawOf(type: number, values: number[]): Uint8Array {
  const b = Buffer.alloc(values.length * ({ 1: 4, 2: 1, 3: 1, 6: 4, 7: 8 } as Record<number, number>)[type]);
  values.forEach((v, i) => {
    if (type === T.FLOAT) b.writeFloatLE(v, 4 * i);
    else if (type === T.UINT8) b.writeUInt8(v, i);
    else if (type === T.INT8) b.writeInt8(v, i);
    else if (type === T.INT32) b.writeInt32LE(v, 4 * i);
    else b.writeBigInt64LE(BigInt(v), 8 * i);
  });
  return new Uint8Array(b);
}

const valueInfo = (v: ValueSpec) => ({
  name: v.name,
  type: { tensorType: { elemType: v.type, shape: { dim: v.dims.map((d) => ({ dimValue: d })) } } },
});

export function onnxModel(spec: ModelSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'qie-test',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }, { domain: 'com.microsoft', version: 1 }],
    graph: {
      name: 'test',
      node: spec.nodes.map((n, i) => ({
        opType: n.op,
        domain: n.domain ?? '',
        name: n.name ?? `${n.op}_${i}`,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attr(k, v)),
      })),
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      initializer: (spec.initializers ?? []).map((t) =>
        t.external
          ? { name: t.name, dataType: t.type, dims: t.dims, dataLocation: 1, externalData: [{ key: 'location', value: 'weights.bin' }] }
          : { name: t.name, dataType: t.type, dims: t.dims, rawData: rawOf(t.type, t.values ?? []) },
      ),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
