// A pino logger whose JSON lines are kept in memory, for asserting what the daemon logs.
import pino, { Logger } from 'pino';
import { Writable } from 'node:stream';

export function captureLogger(level = 'info'): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: pino({ level, formatters: { level: (label) => ({ level: label }) } }, sink), lines };
}
