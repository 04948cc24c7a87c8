// Follows the broker connection's life: how long each connection lasted, why it
// ended, and how long to wait before the next attempt. A connection that ends
// soon after it began doubles the wait (from broker.reconnectMs up to
// broker.reconnectMaxMs); one that lasted reconnectMaxMs resets it. So two
// clients fighting over one client id (two gateways with the same deviceId, or a
// hostile neighbour) slow down instead of taking turns at full speed.
// Time comes from `now` so that tests can simulate it.
import { MQTT_REASON, reasonName } from './mqtt-reasons';

/** Short connections in a row after which a 3.1.1 session is taken to be taken over (3.1.1 has no DISCONNECT from the broker). */
export const SUSPECT_AFTER_SHORT = 3;

export interface CloseVerdict {
  /** Wait before the next connection attempt. */
  delayMs: number;
  /** How long the connection lasted; undefined when the attempt never connected. */
  lastedMs?: number;
  /** 'reported': the broker said so (MQTT 5 0x8E); 'suspected': short connections in a row without a reason. */
  takeover?: 'reported' | 'suspected';
  /** Why it ended, as far as is known. */
  reason?: string;
}

export interface ConnectionState {
  takeovers: number;
  lastDisconnectReason: string | null;
  lastDisconnectAt: string | null;
  shortConnectionsInARow: number;
  reconnectDelayMs: number;
}

export class ConnectionWatch {
  private connectedAt: number | undefined;
  private disconnectCode: number | undefined;
  private shortInARow = 0;
  private delay: number;
  private takeovers = 0;
  private lastReason: string | null = null;
  private lastAt: number | null = null;

  constructor(
    private baseMs: number,
    private capMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.delay = baseMs;
  }

  /** A reload may change the periods; the streak stays. */
  configure(baseMs: number, capMs: number): void {
    this.baseMs = baseMs;
    this.capMs = capMs;
    this.delay = Math.min(capMs, Math.max(baseMs, this.delay));
  }

  connected(): void {
    this.connectedAt = this.now();
    this.disconnectCode = undefined;
  }

  /** The broker's DISCONNECT (MQTT 5) with its reason code, before the connection closes. */
  disconnectPacket(code: number | undefined): void {
    this.disconnectCode = code ?? 0;
  }

  closed(): CloseVerdict {
    if (this.connectedAt === undefined) return { delayMs: this.delay }; // an attempt that failed: same wait
    const lastedMs = this.now() - this.connectedAt;
    const code = this.disconnectCode;
    this.connectedAt = undefined;
    this.disconnectCode = undefined;
    if (lastedMs >= this.capMs) this.shortInARow = 0;
    else this.shortInARow++;
    this.delay = this.shortInARow ? Math.min(this.capMs, this.baseMs * 2 ** (this.shortInARow - 1)) : this.baseMs;
    let takeover: CloseVerdict['takeover'];
    let reason: string;
    if (code === MQTT_REASON.sessionTakenOver) {
      takeover = 'reported';
      reason = reasonName(code);
    } else if (code !== undefined) {
      reason = reasonName(code);
    } else if (this.shortInARow >= SUSPECT_AFTER_SHORT) {
      takeover = 'suspected';
      reason = `closed by the broker ${this.shortInARow} times in a row, each within ${this.capMs} ms of connecting (session taken over?)`;
    } else reason = `connection closed after ${lastedMs} ms`;
    if (takeover) this.takeovers++;
    this.lastReason = reason;
    this.lastAt = this.now();
    return { delayMs: this.delay, lastedMs, takeover, reason };
  }

  state(): ConnectionState {
    return {
      takeovers: this.takeovers,
      lastDisconnectReason: this.lastReason,
      lastDisconnectAt: this.lastAt === null ? null : new Date(this.lastAt).toISOString(),
      shortConnectionsInARow: this.shortInARow,
      reconnectDelayMs: this.delay,
    };
  }
}
