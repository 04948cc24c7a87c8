// The project's own int8 gesture model: a magic_wand-like float model (128 x 3
// accelerometer window in, wing/ring/slope/negative out) quantized by the
// toolchain with synthetic gesture windows as calibration data.
import { PtqOptions, PtqResult, quantizeFloatModel } from '../src/quant/ptq';
import { makeGestureSet } from './gestures/synthetic';

export interface GestureModelOptions extends PtqOptions {
  /** Calibration windows to generate (default 400). */
  windows?: number;
  seed?: number;
}

export async function quantizeGestureModel(floatTflite: Uint8Array, opts: GestureModelOptions = {}): Promise<PtqResult> {
  const { windows } = makeGestureSet(opts.windows ?? 400, opts.seed ?? 1);
  return quantizeFloatModel(floatTflite, windows, opts);
}
