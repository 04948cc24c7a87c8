// A signed rollback order: the console's permission to go back to an older version
// (`{deviceId, name, toVersion, issuedAt, keyId}` as JSON, Ed25519-signed by a
// trusted key). It must name this device, be fresh, dated no further in the future
// than the allowed clock skew, and newer than the last one.
import { z } from 'zod';
import { OtaError } from './errors';
import type { KeyRing } from './keys';
import { isSemver } from './semver';

const orderBody = z.strictObject({
  deviceId: z.string().min(1).max(128),
  name: z.string().min(1).max(128),
  toVersion: z.string().refine(isSemver, 'must be a semantic version'),
  issuedAt: z.union([z.iso.datetime(), z.number().int().min(0)]),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
});

export type RollbackOrderBody = z.output<typeof orderBody> & { issuedAtMs: number };

export function verifyRollbackOrder(orderB64: string, signatureB64: string, keys: KeyRing, deviceId: string, maxAgeS: number, maxSkewS: number, now = Date.now()): RollbackOrderBody {
  const bytes = Buffer.from(orderB64, 'base64');
  const sig = Buffer.from(signatureB64, 'base64');
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new OtaError('bad_order', 'the rollback order is not JSON');
  }
  const r = orderBody.safeParse(raw);
  if (!r.success) throw new OtaError('bad_order', `invalid rollback order: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`);
  keys.verify(r.data.keyId, bytes, sig);
  if (r.data.deviceId !== deviceId) throw new OtaError('bad_order', `the rollback order is for device ${r.data.deviceId}`);
  const at = typeof r.data.issuedAt === 'number' ? r.data.issuedAt : Date.parse(r.data.issuedAt);
  // a date far ahead would also outrank every correctly dated order after it (replay check)
  if (at - now > maxSkewS * 1000) throw new OtaError('bad_order', `the rollback order is dated ${new Date(at).toISOString()}, more than ota.clockSkewS ${maxSkewS} s in the future`);
  if (now - at > maxAgeS * 1000) throw new OtaError('bad_order', `the rollback order was issued at ${new Date(at).toISOString()}: older than ${maxAgeS} s`);
  return { ...r.data, issuedAtMs: at };
}
