// Activation range statistics from calibration runs, and the three ways to turn
// them into a clipping range: plain min/max, percentiles, and the range whose
// int8 quantization has the least mean squared error over the observed values.
import { activationParams, quantizeValue, Range } from './params';

export type CalibMethod = 'minmax' | 'percentile' | 'mse';
export const CALIB_METHODS: readonly CalibMethod[] = ['minmax', 'percentile', 'mse'];

const BINS = 2048;
/** Percentile method: the share of values clipped at each end. */
const PERCENTILE_TAIL = 1e-4;

/**
 * Statistics of one tensor. Pass 1 sees every value for min/max; pass 2 (percentile
 * and mse only) fills a histogram over that [min, max].
 */
export class TensorStats {
  min = Infinity;
  max = -Infinity;
  private hist: Float64Array | undefined;

  observe(values: ArrayLike<number>): void {
    let lo = this.min, hi = this.max;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.min = lo;
    this.max = hi;
  }

  observeHistogram(values: ArrayLike<number>): void {
    if (!this.hist) this.hist = new Float64Array(BINS);
    const width = this.max - this.min;
    if (!(width > 0)) {
      this.hist[0] += values.length;
      return;
    }
    for (let i = 0; i < values.length; i++) {
      const b = Math.floor(((values[i] - this.min) / width) * BINS);
      this.hist[Math.max(0, Math.min(BINS - 1, b))]++;
    }
  }

  range(method: CalibMethod): Range {
    if (!(this.min <= this.max)) return { lo: 0, hi: 0 };
    if (method === 'minmax' || !this.hist || this.max === this.min) return { lo: this.min, hi: this.max };
    return method === 'percentile' ? this.percentile() : this.mseOptimal();
  }

  private binCenter(b: number): number {
    return this.min + ((b + 0.5) / BINS) * (this.max - this.min);
  }

  private percentile(): Range {
    const h = this.hist!;
    const total = h.reduce((a, b) => a + b, 0);
    const cut = total * PERCENTILE_TAIL;
    let acc = 0, lo = 0, hi = BINS - 1;
    for (let b = 0; b < BINS; b++) {
      acc += h[b];
      if (acc > cut) {
        lo = b;
        break;
      }
    }
    acc = 0;
    for (let b = BINS - 1; b >= 0; b--) {
      acc += h[b];
      if (acc > cut) {
        hi = b;
        break;
      }
    }
    const w = (this.max - this.min) / BINS;
    return { lo: this.min + lo * w, hi: this.min + (hi + 1) * w };
  }

  /** Shrinks [min, max] towards zero step by step; keeps the range with the least expected squared error. */
  private mseOptimal(): Range {
    const h = this.hist!;
    let best: Range = { lo: this.min, hi: this.max };
    let bestErr = Infinity;
    for (let k = 0; k <= 80; k++) {
      const f = 1 - k * 0.01;
      const r = { lo: this.min * f, hi: this.max * f };
      const p = activationParams(r);
      let err = 0;
      for (let b = 0; b < BINS; b++) {
        if (!h[b]) continue;
        const x = this.binCenter(b);
        const d = x - p.scale * (quantizeValue(x, p) - p.zeroPoint);
        err += h[b] * d * d;
      }
      if (err < bestErr) {
        bestErr = err;
        best = r;
      }
    }
    return best;
  }
}
