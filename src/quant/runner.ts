// Runs an IR graph in qie with every intermediate tensor exposed, and hands back
// each tensor's values as real numbers (quantized tensors dequantized): what the
// calibration and the layer-by-layer comparisons read. Models with more
// intermediate tensors than the runtime's output limit run once per slice.
import { Model } from '../engine/model';
import { quantize } from '../engine/tensors';
import { QieError } from '../errors';
import { exposeTensors, intermediateTensors } from '../model/compile';
import { Graph } from '../model/ir';
import { writePlan } from '../model/plan';

const QUANTIZED = new Set(['int8', 'uint8', 'int16']);

/** The runtime takes at most this many graph outputs (QIE_OP_MAX_IO in csrc/runtime/plan_format.h). */
const MAX_OUTPUTS = 64;

export class GraphRunner {
  private constructor(
    readonly graph: Graph,
    /** Each model exposes one slice of the intermediate tensors (the runtime caps the output count). */
    private readonly models: { model: Model; outputs: number[] }[],
  ) {}

  /** The graph loaded in qie with every intermediate tensor exposed. */
  static open(g: Graph, kernels?: string): GraphRunner {
    if (g.inputs.length !== 1) throw new QieError('unsupported_op', `calibration and comparison take single-input models; this one has ${g.inputs.length} inputs`);
    const all = intermediateTensors(g);
    const per = MAX_OUTPUTS - g.outputs.length;
    if (per < 1) throw new QieError('unsupported_op', `the model has ${g.outputs.length} outputs; no room to expose its intermediate tensors`);
    const models: { model: Model; outputs: number[] }[] = [];
    try {
      for (let at = 0; at === 0 || at < all.length; at += per) {
        const exposed = exposeTensors(g, all.slice(at, at + per));
        models.push({ model: new Model(exposed, writePlan(exposed), 'tflite', kernels ? { kernels } : {}), outputs: exposed.outputs });
      }
    } catch (e) {
      for (const m of models) m.model.dispose();
      throw e;
    }
    return new GraphRunner(g, models);
  }

  /** Runs one sample (real values for the single input); returns tensor index -> real values. */
  async run(sample: Float32Array): Promise<Map<number, Float32Array>> {
    const values = new Map<number, Float32Array>();
    values.set(this.graph.inputs[0], sample);
    for (const { model, outputs } of this.models) {
      const input = model.inputs[0];
      let feed: ArrayBufferView = sample;
      if (QUANTIZED.has(input.dtype)) feed = quantize(sample, { scale: input.scale!, zeroPoint: input.zeroPoint!, dtype: input.dtype as 'int8' });
      const outs = await model.run([feed]);
      outputs.forEach((t, k) => {
        if (values.has(t)) return;
        const o = outs[k];
        const tensor = this.graph.tensors[t];
        if (tensor.dtype === 'float32') values.set(t, o as Float32Array);
        else if (QUANTIZED.has(tensor.dtype) && tensor.quant && tensor.quant.scales.length === 1) {
          const s = tensor.quant.scales[0], z = tensor.quant.zeroPoints[0];
          values.set(t, Float32Array.from(o as Int8Array, (q) => s * (q - z)));
        }
      });
    }
    return values;
  }

  dispose(): void {
    for (const m of this.models) m.model.dispose();
  }
}
