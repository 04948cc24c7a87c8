// The one error type of the public API: a stable `code` callers (and MQTT error
// replies) can switch on, and a message meant for a person.

export type QieErrorCode =
  | 'model_invalid' // the model file is malformed or inconsistent
  | 'unsupported_op' // a valid model uses an op or type qie does not run
  | 'bad_input' // the caller passed wrong inputs (count, dtype, size)
  | 'bad_option' // an option passed to loadModel or the CLI is wrong
  | 'disposed' // the model was disposed
  | 'internal'; // a bug: please report

export class QieError extends Error {
  readonly code: QieErrorCode;
  constructor(code: QieErrorCode, message: string) {
    super(message);
    this.name = 'QieError';
    this.code = code;
  }
}

export function isQieError(e: unknown): e is QieError {
  return e instanceof QieError;
}
