// Samples -> frame bytes for each framing, as a sensor's firmware would send them:
// used by the simulator (firmware-tools/sensor-sim.ts), the tests and the benchmark.
import type { SourceConfig } from '../config/sources-schema';
import { encodeBinary, SampleFormat } from './decode';
import { cobsFrame } from './framing-cobs';
import { fixedFrame } from './framing-fixed';
import { slipEncode } from './framing-slip';

export type FramingConfig = SourceConfig['framing'];

/** One frame carrying `values` (whole samples, interleaved channels). */
export function encodeFrame(framing: FramingConfig, format: SampleFormat, values: ArrayLike<number>): Uint8Array {
  switch (framing.kind) {
    case 'lines':
      return new TextEncoder().encode(Array.from(values, (v) => String(Math.round(v * 1000) / 1000)).join(',') + '\n');
    case 'cobs':
      return cobsFrame(encodeBinary(values, format));
    case 'slip':
      return slipEncode(encodeBinary(values, format));
    case 'fixed':
      return fixedFrame(Uint8Array.from(framing.sync), encodeBinary(values, format), framing.crc);
  }
}

/** Every sample of `values` in frames of `samplesPerFrame` samples, back to back. */
export function encodeStream(framing: FramingConfig, format: SampleFormat, channels: number, values: ArrayLike<number>, samplesPerFrame = 1): Uint8Array {
  const parts: Uint8Array[] = [];
  const step = channels * samplesPerFrame;
  for (let i = 0; i < values.length; i += step) parts.push(encodeFrame(framing, format, Array.prototype.slice.call(values, i, Math.min(values.length, i + step)) as number[]));
  return Buffer.concat(parts);
}
