// Structured logs: pino JSON lines on stdout, which journald keeps as they are.
import pino, { Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, deviceId: string): Logger {
  return pino({ level, base: { deviceId }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } });
}
