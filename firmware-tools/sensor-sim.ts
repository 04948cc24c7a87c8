// A simulated accelerometer on a serial port: writes synthetic gesture windows
// (firmware-tools/gestures/synthetic.ts: 128 samples of x, y, z in milli-g) one
// sample per frame at a fixed rate (25 Hz like magic_wand's sensor) in any of the
// source framings. Used by the serial tests, `npm run bench:serial` and the README
// walk-through; `--write-model FILE` writes the project's int8 gesture model.
//
//   node dist/firmware-tools/sensor-sim.js --path /tmp/qie-sim --framing cobs [--rate 25]
//        [--format int16] [--gestures ring,wing,slope,negative] [--windows N] [--seed 1]
//   node dist/firmware-tools/sensor-sim.js --write-model gesture.int8.tflite
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SerialPort } from 'serialport';
import { encodeFrame, FramingConfig } from '../src/sources/encode';
import type { SampleFormat } from '../src/sources/decode';
import { seededRandom } from '../src/util/random';
import { makeGestureModel } from './gestures/model';
import { Gesture, GESTURE_AXES, GESTURE_SAMPLES, GESTURES, makeGestureWindow } from './gestures/synthetic';

export const DEFAULT_FRAMINGS: Record<FramingConfig['kind'], FramingConfig> = {
  lines: { kind: 'lines', maxLineBytes: 1024 },
  cobs: { kind: 'cobs', maxFrameBytes: 1024 },
  slip: { kind: 'slip', maxFrameBytes: 1024 },
  fixed: { kind: 'fixed', sync: [0xa5, 0x5a], payloadBytes: 6, crc: true },
};

export interface SimWindow {
  gesture: Gesture;
  /** 128 x 3 values as sent (rounded as the sample format stores them). */
  values: Float32Array;
}

/** `n` gesture windows cycling through `gestures`, seeded. Values rounded to whole milli-g (what int16 and text carry). */
export function simWindows(n: number, gestures: readonly Gesture[] = GESTURES, seed = 1): SimWindow[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const gesture = gestures[i % gestures.length];
    return { gesture, values: makeGestureWindow(gesture, rand).map((v) => Math.round(v)) };
  });
}

/** The frames of one window, one sample (x, y, z) per frame. */
export function windowFrames(w: SimWindow, framing: FramingConfig, format: SampleFormat): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let s = 0; s < GESTURE_SAMPLES; s++) frames.push(encodeFrame(framing, format, w.values.subarray(s * GESTURE_AXES, (s + 1) * GESTURE_AXES)));
  return frames;
}

export interface SimOptions {
  path: string;
  framing: FramingConfig;
  format: SampleFormat;
  /** Frames (samples) per second. */
  rate: number;
  windows: SimWindow[];
  /** Loop over the windows until stopped. */
  repeat?: boolean;
  signal?: AbortSignal;
}

/** Opens the port and writes the windows' frames at `rate` frames/s; resolves after the last one (or on abort). */
export async function runSimulator(o: SimOptions): Promise<number> {
  const port = new SerialPort({ path: o.path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  let sent = 0;
  try {
    const t0 = performance.now();
    do {
      for (const w of o.windows) {
        for (const f of windowFrames(w, o.framing, o.format)) {
          if (o.signal?.aborted) return sent;
          // pace by the clock, not by the sum of sleeps, so the rate does not drift
          const due = t0 + (sent * 1000) / o.rate - performance.now();
          if (due > 0) await new Promise((r) => setTimeout(r, due));
          await new Promise<void>((resolve, reject) => port.write(Buffer.from(f), (e) => (e ? reject(e) : resolve())));
          sent++;
        }
      }
    } while (o.repeat && !o.signal?.aborted);
    await new Promise<void>((resolve) => port.drain(() => resolve()));
    return sent;
  } finally {
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      path: { type: 'string' },
      framing: { type: 'string', default: 'cobs' },
      format: { type: 'string', default: 'int16' },
      rate: { type: 'string', default: '25' },
      gestures: { type: 'string', default: GESTURES.join(',') },
      windows: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'write-model': { type: 'string' },
    },
  });
  if (values['write-model']) {
    const g = await makeGestureModel();
    writeFileSync(values['write-model'], g.int8.tflite);
    console.log(`wrote the int8 gesture model (labels ${g.labels.join(', ')}) to ${values['write-model']}`);
    return 0;
  }
  const known = Object.hasOwn(DEFAULT_FRAMINGS, values.framing!) ? DEFAULT_FRAMINGS[values.framing as FramingConfig['kind']] : undefined;
  const framing = known && { ...known };
  const format = values.format as SampleFormat;
  const gestures = values.gestures!.split(',') as Gesture[];
  const rate = Number(values.rate);
  if (!values.path || !framing || !['int8', 'int16', 'float32'].includes(format) || !(rate > 0) || gestures.some((g) => !GESTURES.includes(g))) {
    process.stderr.write('usage: sensor-sim --path DEV [--framing lines|cobs|slip|fixed] [--format int16|float32|int8] [--rate HZ] [--gestures ring,wing,...] [--windows N]\n       sensor-sim --write-model FILE\n');
    return 2;
  }
  if (framing.kind === 'fixed') framing.payloadBytes = GESTURE_AXES * { int8: 1, int16: 2, float32: 4 }[format];
  const n = values.windows ? Number(values.windows) : gestures.length;
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  process.once('SIGTERM', () => ac.abort());
  console.log(`writing ${values.windows ? n : 'endless'} gesture windows (${gestures.join(', ')}) to ${values.path}: ${framing.kind} frames, ${format}, ${rate} Hz`);
  const sent = await runSimulator({ path: values.path, framing, format, rate, windows: simWindows(n, gestures, Number(values.seed)), repeat: !values.windows, signal: ac.signal });
  console.log(`sent ${sent} frames`);
  return 0;
}

if (require.main === module)
  main().then(
    (code) => (process.exitCode = code),
    (e: Error) => {
      process.stderr.write(`sensor-sim: ${e.message}\n`);
      process.exitCode = 1;
    },
  );
