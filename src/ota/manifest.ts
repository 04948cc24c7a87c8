// The bundle manifest: what is signed. Validated with zod, every size and count
// bounded, so a manifest that passes can be used without further checks.
import { z } from 'zod';
import { OtaError } from './errors';
import { isSemver } from './semver';

export const MANIFEST_FORMAT = 1;
/** A bundle's model (or fallback model) may not exceed this many bytes. */
export const MAX_MODEL_BYTES = 1024 * 1024 * 1024;
export const MAX_SELF_TEST_VECTORS = 64;
/** Decoded bytes of one self-test tensor. */
export const MAX_VECTOR_BYTES = 4 * 1024 * 1024;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (sha256)');
const semver = z.string().refine(isSemver, 'must be a semantic version (MAJOR.MINOR.PATCH[-pre])');
const topicLevel = z.string().min(1).max(128).regex(/^[^/+#\u0000]+$/, 'must be one topic level: no "/", "+", "#"');
const base64 = z
  .string()
  .max(Math.ceil(MAX_VECTOR_BYTES / 3) * 4)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
  .refine((s) => s.length % 4 === 0, 'base64 length must be a multiple of 4');

const modelPart = z.strictObject({
  format: z.enum(['tflite', 'onnx']),
  size: z.number().int().min(1).max(MAX_MODEL_BYTES),
  sha256: hex64,
});

const tensorSpec = z.strictObject({
  name: z.string().max(256),
  dtype: z.string().min(1).max(16),
  shape: z.array(z.number().int().min(0).max(1 << 30)).max(8),
});

export const manifestSchema = z.strictObject({
  format: z.literal(MANIFEST_FORMAT),
  name: topicLevel,
  version: semver,
  created: z.iso.datetime(),
  minEngine: semver,
  keyId: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lower-case hex digits'),
  model: modelPart,
  /** A smaller model the device may switch to when throttled (stored, verified, not self-tested). */
  fallback: modelPart.optional(),
  inputs: z.array(tensorSpec).min(1).max(64),
  outputs: z.array(tensorSpec).min(1).max(64),
  labels: z.array(z.string().max(256)).min(1).max(100_000).optional(),
  /** Inputs with the exact output bytes the model must produce (base64 of raw tensor bytes). */
  selfTest: z
    .array(z.strictObject({ inputs: z.array(base64).min(1).max(64), outputs: z.array(base64).min(1).max(64) }))
    .min(1)
    .max(MAX_SELF_TEST_VECTORS),
});

export type Manifest = z.output<typeof manifestSchema>;

/** Parses the signed manifest bytes (UTF-8 JSON); a bad manifest is `bad_bundle`. */
export function parseManifest(bytes: Uint8Array): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new OtaError('bad_bundle', `the manifest is not UTF-8 JSON: ${(e as Error).message}`);
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    const first = r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new OtaError('bad_bundle', `invalid manifest: ${first.join('; ')}`);
  }
  const m = r.data;
  for (const [k, v] of m.selfTest.entries()) {
    if (v.inputs.length !== m.inputs.length || v.outputs.length !== m.outputs.length)
      throw new OtaError('bad_bundle', `invalid manifest: selfTest.${k} has ${v.inputs.length} inputs / ${v.outputs.length} outputs, the model ${m.inputs.length} / ${m.outputs.length}`);
  }
  return m;
}

/**
 * The manifest's signed bytes: keys in the schema's order, no whitespace, so the
 * same manifest always packs to the same bytes.
 */
export function canonicalManifest(m: Manifest): Buffer {
  const checked = manifestSchema.parse(m);
  return Buffer.from(JSON.stringify(checked), 'utf8');
}
