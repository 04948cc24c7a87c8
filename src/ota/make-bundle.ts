// Making a bundle from a model: specs and self-test vectors come from running the
// model with qie itself (reference kernels: every family gives the same bytes).
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import { loadModel, TensorMeta } from '../engine/model';
import { detectFormat } from '../model/compile';
import { packBundle, sha256Hex } from './bundle';
import { ENGINE_VERSION } from './engine-version';
import { OtaError } from './errors';
import { keyId } from './keys';
import { Manifest, MAX_SELF_TEST_VECTORS } from './manifest';
import { isSemver } from './semver';

export interface MakeBundleOptions {
  model: Uint8Array;
  name: string;
  version: string;
  key: KeyObject;
  fallback?: Uint8Array;
  labels?: string[];
  /** Self-test inputs, one array of raw input tensors per vector; default: `randomVectors` random ones. */
  selfTestInputs?: Uint8Array[][];
  randomVectors?: number;
  /** Seed of the random vectors (the same seed packs the same bundle bytes but for `created`). */
  seed?: number;
  minEngine?: string;
  created?: Date;
}

/** xorshift32: reproducible random input bytes without a dependency. */
function randomBytes(n: number, state: { s: number }): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    let x = state.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    state.s = x >>> 0 || 1;
    b[i] = state.s & 0xff;
  }
  return b;
}

/** Random raw bytes for one input; float inputs get values in [-1, 1) (no NaN). */
function randomInput(t: TensorMeta, state: { s: number }): Buffer {
  if (t.dtype !== 'float32') return randomBytes(t.bytes, state);
  const raw = randomBytes(t.bytes, state);
  const f = new Float32Array(t.bytes / 4);
  for (let i = 0; i < f.length; i++) f[i] = raw.readUInt32LE(i * 4) / 2 ** 31 - 1;
  return Buffer.from(f.buffer);
}

const spec = (t: TensorMeta) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape] });

export async function makeBundle(o: MakeBundleOptions): Promise<{ bundle: Buffer; manifest: Manifest }> {
  if (!isSemver(o.version)) throw new OtaError('bad_bundle', `version '${o.version}' is not a semantic version (MAJOR.MINOR.PATCH)`);
  const model = await loadModel(o.model, { kernels: 'ref' });
  try {
    let vectors = o.selfTestInputs;
    if (!vectors) {
      const n = o.randomVectors ?? 2;
      const state = { s: (o.seed ?? 0x9e3779b9) >>> 0 || 1 };
      vectors = Array.from({ length: n }, () => model.inputs.map((t) => randomInput(t, state)));
    }
    if (vectors.length < 1 || vectors.length > MAX_SELF_TEST_VECTORS) throw new OtaError('bad_bundle', `1..${MAX_SELF_TEST_VECTORS} self-test vectors, got ${vectors.length}`);
    const selfTest: Manifest['selfTest'] = [];
    for (const [v, inputs] of vectors.entries()) {
      if (inputs.length !== model.inputs.length) throw new OtaError('bad_bundle', `self-test vector ${v} has ${inputs.length} inputs; the model takes ${model.inputs.length}`);
      inputs.forEach((b, i) => {
        if (b.length !== model.inputs[i].bytes) throw new OtaError('bad_bundle', `self-test vector ${v} input ${i} has ${b.length} bytes; the model takes ${model.inputs[i].bytes}`);
      });
      const outputs = await model.run(inputs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
      selfTest.push({
        inputs: inputs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')),
        outputs: outputs.map((t) => Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('base64')),
      });
    }
    if (o.labels) {
      const n = model.outputs[0].shape.reduce((a, b) => a * b, 1);
      if (o.labels.length !== n) throw new OtaError('bad_bundle', `${o.labels.length} labels but the first output has ${n} values`);
    }
    const manifest: Manifest = {
      format: 1,
      name: o.name,
      version: o.version,
      created: (o.created ?? new Date()).toISOString(),
      minEngine: o.minEngine ?? ENGINE_VERSION,
      keyId: keyId(createPublicKey(o.key)),
      model: { format: detectFormat(o.model), size: o.model.length, sha256: sha256Hex(o.model) },
      ...(o.fallback ? { fallback: { format: detectFormat(o.fallback), size: o.fallback.length, sha256: sha256Hex(o.fallback) } } : {}),
      inputs: model.inputs.map(spec),
      outputs: model.outputs.map(spec),
      ...(o.labels ? { labels: o.labels } : {}),
      selfTest,
    };
    return { bundle: packBundle(manifest, o.model, o.key, o.fallback), manifest };
  } finally {
    model.dispose();
  }
}
