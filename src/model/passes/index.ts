// Graph passes run between import and plan writing, in order.
import { Graph } from '../ir';
import { foldPad } from './fold-pad';
import { dropUnusedTensors } from './graph-edit';
import { onnxFuseClip } from './onnx-clip';
import { onnxLayout } from './onnx-layout';
import { onnxLookup } from './onnx-lookup';
import { foldConstQuantize } from './onnx-const';
import { onnxQdq } from './onnx-qdq';
import { onnxRequant } from './onnx-requant';
import { onnxUint8 } from './onnx-uint8';
import { uint8ToInt8 } from './uint8-to-int8';

export { foldPad, uint8ToInt8 };

/** Internal switches, for tests that compare a pass's result with the graph without it. */
export interface PassSwitches {
  foldPad?: boolean;
}

export function runPasses(g: Graph, sw: PassSwitches = {}): Graph {
  // tensors no op reads or writes (an LSTM's intermediates) never reach the plan
  const out = uint8ToInt8(dropUnusedTensors(g));
  return sw.foldPad === false ? out : foldPad(out);
}

export interface OnnxPassOptions extends PassSwitches {
  floatOps: readonly string[];
}

/** Imported ONNX graphs: layout clean-up, QDQ fusion, uint8 as int8, then the
 * identities those leave behind. */
export function runOnnxPasses(g: Graph, opts: OnnxPassOptions): Graph {
  let out = onnxLayout(foldConstQuantize(g));
  out = onnxQdq(out, opts.floatOps);
  out = onnxLookup(onnxUint8(out));
  out = onnxLayout(onnxFuseClip(onnxRequant(out)));
  return opts.foldPad === false ? out : foldPad(out);
}
