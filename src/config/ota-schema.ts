// The `ota` section (README "Over-the-air updates"): where the device keeps its
// slots and state, which keys it trusts, and the activation and health policy.
import { z } from 'zod';

export const otaSchema = z.strictObject({
  /** Directory for slots/{a,b}, incoming downloads and state.json (writable by the daemon). */
  stateDir: z.string().min(1),
  /** Public keys (SPKI PEM files from `qie-fleet keygen`) whose bundles and rollback orders are accepted. */
  trustedKeys: z.array(z.string().min(1)).min(1).max(64),
  /** After a switch, the new model must stay under maxErrorRate for this long. */
  healthWindowS: z.number().int().min(1).max(86_400).default(60),
  /** Failed runs / finished runs of the new model above which it is rolled back. */
  maxErrorRate: z.number().min(0).max(1).default(0.05),
  /** Runs to see before the error rate can roll back early (the window's end decides otherwise). */
  healthMinRuns: z.number().int().min(1).max(1_000_000).default(20),
  /** Start-ups during one unconfirmed activation after which the device rolls back (crash loop). */
  crashLoopStarts: z.number().int().min(1).max(100).default(3),
  /** Longest an update lock may defer an activation. */
  maxDeferralS: z.number().int().min(0).max(7 * 86_400).default(600),
  /** Quota for everything under stateDir (a stand-in for a small partition); none: free space only. */
  maxStorageBytes: z.number().int().min(1).max(2 ** 50).optional(),
  /** Chunks the device keeps requested at once. */
  chunkWindow: z.number().int().min(1).max(64).default(8),
  /** A requested chunk not received after this long is requested again. */
  chunkTimeoutMs: z.number().int().min(100).max(600_000).default(5000),
  /** No chunk at all for this long fails the transfer `transfer_timeout`. */
  transferIdleS: z.number().int().min(1).max(86_400).default(120),
  /** A signed rollback order older (or further in the future) than this is refused. */
  rollbackMaxAgeS: z.number().int().min(1).max(30 * 86_400).default(3600),
  /** How far in the future a signed rollback order may be dated (the console's clock may run ahead). */
  clockSkewS: z.number().int().min(0).max(3600).default(60),
});

export type OtaConfig = z.output<typeof otaSchema>;
