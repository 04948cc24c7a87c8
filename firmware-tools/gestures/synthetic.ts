// Synthetic accelerometer windows in the magic_wand layout: 128 samples of x, y, z
// in milli-g, the window filled from the end as a wand buffer fills (zeros first),
// for the gestures wing (a W), ring (a circle), slope (a diagonal then a flat
// stroke) and negative (the wand shaken at random). Seeded, so the
// calibration sets and tests are the same on every machine.
import { seededRandom } from '../../src/util/random';

export const GESTURES = ['wing', 'ring', 'slope', 'negative'] as const;
export type Gesture = (typeof GESTURES)[number];
export const GESTURE_SAMPLES = 128;
export const GESTURE_AXES = 3;

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** The stroke of one gesture at phase s in [0, 1]: a displacement in milli-g on the two axes across gravity. */
function stroke(g: Gesture, s: number): [number, number] {
  switch (g) {
    case 'ring':
      return [Math.cos(2 * Math.PI * s), Math.sin(2 * Math.PI * s)];
    case 'wing':
      // down-up-down-up across: a W
      return [2 * s - 1, Math.abs(((4 * s) % 2) - 1) * 2 - 1];
    case 'slope':
      return s < 0.5 ? [2 * s - 1, 1 - 4 * s] : [2 * s - 1, -1];
    default:
      return [0, 0];
  }
}

/** One window (interleaved x, y, z, milli-g) of the gesture. */
export function makeGestureWindow(g: Gesture, rand: () => number): Float32Array {
  const w = new Float32Array(GESTURE_SAMPLES * GESTURE_AXES);
  const empty = 40 + Math.floor(rand() * 36); // samples before the buffer filled (the goldens have 61 and 73)
  const gravity = [-650 + 60 * gaussian(rand), 230 + 60 * gaussian(rand), 780 + 60 * gaussian(rand)];
  const amp = 700 + rand() * 300;
  const noise = 10 + rand() * 30;
  const moveFrom = empty + Math.floor(rand() * 16);
  const moveLen = 35 + Math.floor(rand() * 20);
  // negative: the wand shaken at random, no gesture in it
  const shake = g === 'negative' ? 500 + rand() * 500 : 0;
  for (let i = empty; i < GESTURE_SAMPLES; i++) {
    if (shake) {
      for (let a = 0; a < GESTURE_AXES; a++) w[i * GESTURE_AXES + a] = gravity[a] + shake * (rand() * 2 - 1);
      continue;
    }
    const s = (i - moveFrom) / moveLen;
    const [u, v] = s >= 0 && s <= 1 ? stroke(g, s) : [0, 0];
    const xyz = [gravity[0] + 0.3 * amp * u, gravity[1] + amp * u, gravity[2] + amp * v];
    for (let a = 0; a < GESTURE_AXES; a++) w[i * GESTURE_AXES + a] = xyz[a] + noise * gaussian(rand);
  }
  return w;
}

/** n windows cycling through the four gestures. */
export function makeGestureSet(n: number, seed: number): { windows: Float32Array[]; labels: Gesture[] } {
  const rand = seededRandom(seed);
  const windows: Float32Array[] = [];
  const labels: Gesture[] = [];
  for (let i = 0; i < n; i++) {
    const g = GESTURES[i % GESTURES.length];
    windows.push(makeGestureWindow(g, rand));
    labels.push(g);
  }
  return { windows, labels };
}
