// ONNX's backend test cases under ../shared/conformance/onnx-node: model.onnx
// with test_data_set_*/input_*.pb and output_*.pb (TensorProto). Tensors come
// back as the raw bytes qie's API takes (4-bit values one per byte).
import * as fs from 'fs';
import * as path from 'path';
import { readTensorProto } from '../../src/model/import/onnx-proto';
import { sharedDir } from './shared';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { onnx } = require('onnx-proto') as { onnx: any };

export interface PbTensor {
  dtype: string;
  dims: number[];
  data: Uint8Array;
}

export interface ConformanceSet {
  name: string;
  inputs: PbTensor[];
  outputs: PbTensor[];
}

export function conformanceDir(): string | undefined {
  const s = sharedDir();
  const dir = s && path.join(s, 'conformance', 'onnx-node');
  return dir && fs.existsSync(dir) ? dir : undefined;
}

export function listConformanceCases(): string[] {
  const dir = conformanceDir();
  return dir ? fs.readdirSync(dir).filter((c) => fs.existsSync(path.join(dir, c, 'model.onnx'))).sort() : [];
}

export function readPb(file: string): PbTensor {
  const t = readTensorProto(onnx.TensorProto.decode(fs.readFileSync(file)), path.basename(file));
  return { dtype: t.type.dtype, dims: t.dims, data: t.data };
}

export function readConformanceSets(name: string): ConformanceSet[] {
  const dir = path.join(conformanceDir()!, name);
  return fs
    .readdirSync(dir)
    .filter((d) => d.startsWith('test_data_set_'))
    .sort()
    .map((set) => {
      const files = fs.readdirSync(path.join(dir, set));
      const pick = (prefix: string) =>
        files
          .filter((f) => f.startsWith(prefix) && f.endsWith('.pb'))
          .sort((a, b) => parseInt(a.slice(prefix.length), 10) - parseInt(b.slice(prefix.length), 10))
          .map((f) => readPb(path.join(dir, set, f)));
      return { name: set, inputs: pick('input_'), outputs: pick('output_') };
    });
}

/** undefined when equal (integers exactly, float32 within 1e-6 relative), else why not. */
export function compareExact(got: Uint8Array, want: PbTensor): string | undefined {
  if (got.length !== want.data.length) return `${got.length} bytes, expected ${want.data.length}`;
  if (want.dtype === 'float32') {
    const g = new Float32Array(Uint8Array.from(got).buffer);
    const w = new Float32Array(Uint8Array.from(want.data).buffer);
    for (let i = 0; i < g.length; i++)
      if (!(Math.abs(g[i] - w[i]) <= 1e-6 * Math.abs(w[i])) && !(Number.isNaN(g[i]) && Number.isNaN(w[i])))
        return `float ${i}: ${g[i]}, expected ${w[i]}`;
    return undefined;
  }
  for (let i = 0; i < got.length; i++) if (got[i] !== want.data[i]) return `byte ${i}: ${got[i]}, expected ${want.data[i]}`;
  return undefined;
}
