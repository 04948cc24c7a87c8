// A serial port that stays open: opens the device, and whenever it fails to open,
// errors or disappears (unplugged, the PTY closed), opens it again after an
// exponential backoff (reopen.minMs doubling up to reopen.maxMs). A device that is
// missing at start-up is retried the same way.
import { SerialPort } from 'serialport';
import type { SourceConfig } from '../config/sources-schema';

export type PortState = 'opening' | 'open' | 'retrying' | 'closed';

/** A port open this long counts as working again: its next loss is retried after reopen.minMs. */
const STABLE_MS = 2000;

export interface PortEvents {
  /** A chunk of bytes; `at` is performance.now() when it arrived. */
  data(chunk: Buffer, at: number): void;
  /** The port is open (again): partial frames from before are void. */
  opened(): void;
  /** The port closed or failed to open; it will be retried. `wasOpen`: it was open until now (not a failed retry). */
  lost(reason: string, wasOpen: boolean): void;
}

export class ReconnectingPort {
  state: PortState = 'closed';
  lastError: string | undefined;
  /** Successful opens after the first. */
  reopens = 0;
  private opens = 0;
  private failures = 0;
  private port: SerialPort | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(
    private readonly cfg: SourceConfig,
    private readonly events: PortEvents,
  ) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  private open(): void {
    this.timer = undefined;
    if (this.stopped) return;
    this.state = 'opening';
    const c = this.cfg;
    let port: SerialPort;
    try {
      port = new SerialPort({ path: c.path, baudRate: c.baudRate, dataBits: c.dataBits, stopBits: c.stopBits, parity: c.parity, rtscts: c.rtscts, autoOpen: false });
    } catch (e) {
      // settings the bindings refuse: report and keep retrying rather than stop the daemon
      this.lastError = (e as Error).message;
      this.events.lost(this.lastError, false);
      return this.retry();
    }
    this.port = port;
    let gone = false;
    let opened = false;
    let openedAt = 0;
    // error and close may both come for one loss: act once
    const lose = (reason: string): void => {
      if (gone) return;
      gone = true;
      port.removeAllListeners('data');
      if (port.isOpen) port.close(() => undefined);
      if (this.port === port) this.port = undefined;
      this.lastError = reason;
      if (this.stopped) return;
      // a device that opens and drops at once keeps backing off instead of spinning at minMs
      if (opened && performance.now() - openedAt >= STABLE_MS) this.failures = 0;
      this.events.lost(reason, opened);
      this.retry();
    };
    port.on('data', (chunk: Buffer) => this.events.data(chunk, performance.now()));
    port.on('error', (e: Error) => lose(e.message));
    port.on('close', (e: (Error & { disconnected?: boolean }) | null) => lose(e ? `closed: ${e.message}` : 'closed'));
    port.open((err) => {
      if (err) return lose(err.message);
      if (this.stopped) {
        gone = true;
        port.close(() => undefined);
        return;
      }
      opened = true;
      openedAt = performance.now();
      if (this.opens++ > 0) this.reopens++;
      this.state = 'open';
      this.events.opened();
    });
  }

  private retry(): void {
    this.state = 'retrying';
    const delay = Math.min(this.cfg.reopen.maxMs, this.cfg.reopen.minMs * 2 ** Math.min(this.failures, 20));
    this.failures++;
    this.timer = setTimeout(() => this.open(), delay);
  }

  /** Closes the port and stops retrying. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const port = this.port;
    this.port = undefined;
    this.state = 'closed';
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
