// Kernel families this CPU runs, and one model tried on each of them: loaded,
// run on deterministic inputs, disposed; the outcome (output bytes, or the
// QieError code) is what the families must agree on.
import { loadModel, QieError } from '../../src';
import { native } from '../../src/engine/native';
import { compileModel } from '../../src/model/compile';
import { buildTflite } from './tflite-builder';

export const FAMILIES = ['ref', 'avx2', 'avx512vnni', 'neon', 'neondot'];

/** A one-op model every family loads: the probe for which families exist. */
function probeModel(): Uint8Array {
  return buildTflite({
    tensors: [
      { name: 'x', type: 'float32', shape: [1, 2] },
      { name: 'y', type: 'float32', shape: [1, 2] },
    ],
    operators: [{ op: 'RELU', inputs: [0], outputs: [1] }],
    inputs: [0],
    outputs: [1],
  });
}

/** The families this CPU (and build) runs, 'ref' first. */
export function availableFamilies(): string[] {
  const { plan } = compileModel(probeModel());
  const found: string[] = [];
  for (const family of FAMILIES) {
    try {
      native.dispose(native.create(plan, family, 1));
      found.push(family);
    } catch (e) {
      if (!(e instanceof QieError) || e.code !== 'bad_option') throw e;
    }
  }
  return found;
}

/** Input bytes of a given size, the same for the same seed. */
export function patternBytes(bytes: number, seed: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 37 + seed * 101 + 11) & 0xff;
  return b;
}

export type Outcome = { ran: string[] } | { refused: string };

/** Loads and runs a model on one family: its outputs as hex, or the QieError code.
 * Anything other than a QieError is thrown. */
export async function tryOnFamily(bytes: Uint8Array, kernels: string, seed = 1, threads = 1): Promise<Outcome> {
  let model;
  try {
    model = await loadModel(bytes, { kernels, threads });
  } catch (e) {
    if (e instanceof QieError) return { refused: e.code };
    throw e;
  }
  try {
    const outs = await model.run(model.inputs.map((t, k) => patternBytes(t.bytes, seed + k)));
    return { ran: outs.map((o) => Buffer.from(o.buffer, o.byteOffset, o.byteLength).toString('hex')) };
  } catch (e) {
    if (e instanceof QieError) return { refused: e.code };
    throw e;
  } finally {
    model.dispose();
  }
}
