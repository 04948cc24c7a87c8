// A two-layer perceptron (features -> hidden ReLU -> classes) trained with plain
// mini-batch gradient descent on softmax cross-entropy. Small and deterministic.
import { seededRandom } from '../../src/util/random';

export interface Mlp {
  inputs: number;
  hidden: number;
  classes: number;
  w1: Float32Array; // [hidden, inputs]
  b1: Float32Array;
  w2: Float32Array; // [classes, hidden]
  b2: Float32Array;
}

export function forward(m: Mlp, x: Float32Array): { h: Float32Array; logits: Float32Array } {
  const h = new Float32Array(m.hidden);
  for (let j = 0; j < m.hidden; j++) {
    let s = m.b1[j];
    for (let i = 0; i < m.inputs; i++) s += m.w1[j * m.inputs + i] * x[i];
    h[j] = s > 0 ? s : 0;
  }
  const logits = new Float32Array(m.classes);
  for (let k = 0; k < m.classes; k++) {
    let s = m.b2[k];
    for (let j = 0; j < m.hidden; j++) s += m.w2[k * m.hidden + j] * h[j];
    logits[k] = s;
  }
  return { h, logits };
}

export function train(x: Float32Array[], y: number[], hidden: number, classes: number, epochs = 40, seed = 7): Mlp {
  const inputs = x[0].length;
  const rand = seededRandom(seed);
  const init = (n: number, fan: number) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * Math.sqrt(6 / fan));
  const m: Mlp = { inputs, hidden, classes, w1: init(hidden * inputs, inputs), b1: new Float32Array(hidden), w2: init(classes * hidden, hidden), b2: new Float32Array(classes) };
  const rate = 0.05;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let n = 0; n < x.length; n++) {
      const { h, logits } = forward(m, x[n]);
      const max = Math.max(...logits);
      const e = logits.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, b) => a + b, 0);
      const dl = e.map((v, k) => v / sum - (k === y[n] ? 1 : 0)); // d loss / d logits
      const dh = new Float32Array(hidden);
      for (let k = 0; k < classes; k++) {
        for (let j = 0; j < hidden; j++) {
          dh[j] += dl[k] * m.w2[k * hidden + j];
          m.w2[k * hidden + j] -= rate * dl[k] * h[j];
        }
        m.b2[k] -= rate * dl[k];
      }
      for (let j = 0; j < hidden; j++) {
        if (h[j] <= 0) continue;
        for (let i = 0; i < inputs; i++) m.w1[j * inputs + i] -= rate * dh[j] * x[n][i];
        m.b1[j] -= rate * dh[j];
      }
    }
  }
  return m;
}
