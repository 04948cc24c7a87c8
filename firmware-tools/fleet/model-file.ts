// Reading a model file for the fleet tools: whatever compileModel reads (TFLite; ONNX
// once qie's ONNX importer lands, since the quantizer works on the IR).
import { readFileSync } from 'node:fs';
import { QieError } from '../../src/errors';
import { compileModel } from '../../src/model/compile';
import { Graph } from '../../src/model/ir';

export function readModel(file: string): { bytes: Uint8Array; graph: Graph } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new QieError('bad_input', `cannot read model ${file}: ${(e as Error).message}`);
  }
  return { bytes, graph: compileModel(bytes).graph };
}

export function inputElements(g: Graph): number {
  if (g.inputs.length !== 1) throw new QieError('unsupported_op', `calibration data feeds single-input models; this one has ${g.inputs.length} inputs`);
  return g.tensors[g.inputs[0]].shape.reduce((a, b) => a * b, 1);
}
