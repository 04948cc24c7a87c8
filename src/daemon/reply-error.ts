// The error codes of MQTT replies (documented in README "MQTT topics"). Their
// numbers are the status byte of binary replies, so they never change meaning:
// new codes go at the end.
export const REPLY_ERROR_CODES = ['bad_request', 'unknown_model', 'busy', 'deadline_exceeded', 'shutting_down', 'internal', 'throttled'] as const;
export type ReplyErrorCode = (typeof REPLY_ERROR_CODES)[number];

/** Status byte of a binary reply: 0 is success, then 1 + the code's index. */
export function statusByte(code: ReplyErrorCode): number {
  return REPLY_ERROR_CODES.indexOf(code) + 1;
}

export class ReplyError extends Error {
  constructor(
    readonly code: ReplyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ReplyError';
  }
}
