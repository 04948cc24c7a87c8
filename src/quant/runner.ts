// Runs an IR graph in qie with every intermediate tensor exposed, and hands back
// each tensor's values as real numbers (quantized tensors dequantized): what the
// calibration and the layer-by-layer comparisons read.
import { Model } from '../engine/model';
import { quantize } from '../engine/tensors';
import { QieError } from '../errors';
import { exposeTensors } from '../model/compile';
import { Graph } from '../model/ir';
import { writePlan } from '../model/plan';

const QUANTIZED = new Set(['int8', 'uint8', 'int16']);

export class GraphRunner {
  private constructor(
    readonly graph: Graph,
    private readonly model: Model,
  ) {}

  /** The graph (tensors exposed) loaded in qie. */
  static open(g: Graph, kernels?: string): GraphRunner {
    if (g.inputs.length !== 1) throw new QieError('unsupported_op', `calibration and comparison take single-input models; this one has ${g.inputs.length} inputs`);
    const exposed = exposeTensors(g);
    return new GraphRunner(exposed, new Model(exposed, writePlan(exposed), 'tflite', kernels ? { kernels } : {}));
  }

  get inputElements(): number {
    return this.graph.tensors[this.graph.inputs[0]].shape.reduce((a, b) => a * b, 1);
  }

  /** Runs one sample (real values for the single input); returns tensor index -> real values. */
  async run(sample: Float32Array): Promise<Map<number, Float32Array>> {
    const input = this.model.inputs[0];
    let feed: ArrayBufferView = sample;
    if (QUANTIZED.has(input.dtype)) feed = quantize(sample, { scale: input.scale!, zeroPoint: input.zeroPoint!, dtype: input.dtype as 'int8' });
    const outs = await this.model.run([feed]);
    const values = new Map<number, Float32Array>();
    values.set(this.graph.inputs[0], sample);
    this.graph.outputs.forEach((t, k) => {
      const o = outs[k];
      const tensor = this.graph.tensors[t];
      if (tensor.dtype === 'float32') values.set(t, o as Float32Array);
      else if (QUANTIZED.has(tensor.dtype) && tensor.quant && tensor.quant.scales.length === 1) {
        const s = tensor.quant.scales[0], z = tensor.quant.zeroPoints[0];
        values.set(t, Float32Array.from(o as Int8Array, (q) => s * (q - z)));
      }
    });
    return values;
  }

  dispose(): void {
    this.model.dispose();
  }
}
