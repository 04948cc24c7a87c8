// The one error type of the OTA path. `code` is stable: it is the <reason> in
// `failed:<reason>` / `rolled_back:<reason>` statuses, so consoles can switch on it.

export type OtaErrorCode =
  | 'bad_bundle' // structurally malformed bundle (magic, version, manifest JSON/schema)
  | 'bad_signature' // signature does not verify with the named key
  | 'untrusted_key' // manifest's keyId is not among the trusted keys
  | 'hash_mismatch' // model, bundle or chunk sha256 differs from what was signed/offered
  | 'downgrade' // version <= active (or <= a version held verified in a slot) and no signed rollback order
  | 'rolled_back' // this version was rolled back here before; only a signed rollback order naming it allows it again
  | 'truncated' // fewer bytes than the header/manifest announce
  | 'oversize' // more bytes than announced, or a bound exceeded
  | 'no_space' // free space or maxStorageBytes too small
  | 'self_test_failed' // the shadow instance did not reproduce the expected outputs
  | 'load_failed' // the model did not load in the shadow instance
  | 'engine_too_old' // manifest.minEngine is newer than this engine
  | 'transfer_timeout' // chunks stopped arriving
  | 'chunk_corrupt' // a chunk failed its own sha256
  | 'bad_order' // malformed or unverifiable order message
  | 'busy' // another update is running on this device
  | 'unknown_model' // the bundle's model name is not configured on this device
  | 'health_check' // the new model exceeded the error rate in its health window
  | 'crash_loop' // the daemon kept restarting after the switch
  | 'operator' // rolled back by a signed rollback order
  | 'state_lost' // state.json was missing or unusable at start-up while slots held bundles: the configured file serves
  | 'slot_damaged' // the active slot no longer verified at start-up: an older verified model serves
  | 'aborted' // the transfer was aborted (e.g. daemon shutting down)
  | 'io' // a filesystem error while storing
  | 'internal'; // a bug

export class OtaError extends Error {
  readonly code: OtaErrorCode;
  constructor(code: OtaErrorCode, message: string) {
    super(message);
    this.name = 'OtaError';
    this.code = code;
  }
}

export function isOtaError(e: unknown): e is OtaError {
  return e instanceof OtaError;
}

/** The reason code for any error: OtaError keeps its code, anything else is `internal`. */
export function otaCode(e: unknown): OtaErrorCode {
  return isOtaError(e) ? e.code : 'internal';
}
