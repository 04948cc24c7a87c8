// The OTA status document, retained on `<p>/<d>/ota/status`. Each transfer ends in
// `succeeded`, `failed:<reason>` or `rolled_back:<reason>`; <reason> is an OtaError code.
export const OTA_STATES = ['offered', 'downloading', 'verifying', 'installing', 'self_testing', 'deferred', 'activating', 'health_check', 'succeeded'] as const;
export type OtaProgressState = (typeof OTA_STATES)[number];
export type OtaState = OtaProgressState | `failed:${string}` | `rolled_back:${string}`;

export interface OtaStatus {
  state: OtaState;
  transferId: string;
  name: string | null;
  version: string | null;
  bytes: number;
  total: number;
  reason?: string;
  activeVersion: string | null;
  previousVersion?: string;
  at: string;
}

export function isFinal(state: string): boolean {
  return state === 'succeeded' || state.startsWith('failed:') || state.startsWith('rolled_back:');
}
