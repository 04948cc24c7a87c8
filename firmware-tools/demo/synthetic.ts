// Synthetic 3-axis accelerometer windows for the demo classifier: a gateway reading a
// vibration/motion sensor that is still, carried by someone walking, or shaken.
// Seeded, so the demo model is the same on every machine.
import { seededRandom } from '../../src/util/random';

export const CLASSES = ['still', 'walk', 'shake'] as const;
export const WINDOW = 32; // samples per window (1.28 s at 25 Hz)
export const AXES = 3;
export const FEATURES = WINDOW * AXES;
const RATE_HZ = 25;


function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** One window, interleaved x, y, z in g, for class index c. */
export function makeWindow(c: number, rand: () => number): Float32Array {
  const w = new Float32Array(FEATURES);
  const phase = rand() * 2 * Math.PI;
  const tilt = (rand() - 0.5) * 0.3;
  const stepHz = 1.6 + rand() * 0.8;
  const shakeHz = 5 + rand() * 4;
  const amp = c === 1 ? 0.3 + rand() * 0.3 : 0.8 + rand() * 0.8;
  for (let i = 0; i < WINDOW; i++) {
    const t = i / RATE_HZ;
    let x = tilt, y = 0, z = 1;
    if (c === 1) {
      z += amp * Math.sin(2 * Math.PI * stepHz * t + phase);
      x += 0.5 * amp * Math.sin(2 * Math.PI * stepHz * t + phase + 1);
    } else if (c === 2) {
      x += amp * Math.sin(2 * Math.PI * shakeHz * t + phase);
      y += amp * Math.cos(2 * Math.PI * shakeHz * t + phase * 0.7);
    }
    const noise = c === 0 ? 0.02 : 0.08;
    w[i * AXES] = x + noise * gaussian(rand);
    w[i * AXES + 1] = y + noise * gaussian(rand);
    w[i * AXES + 2] = z + noise * gaussian(rand);
  }
  return w;
}

export function makeDataset(perClass: number, seed: number): { x: Float32Array[]; y: number[] } {
  const rand = seededRandom(seed);
  const x: Float32Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < perClass; i++)
    for (let c = 0; c < CLASSES.length; c++) {
      x.push(makeWindow(c, rand));
      y.push(c);
    }
  return { x, y };
}
