// sd_notify for Type=notify units: READY=1, WATCHDOG=1, STOPPING=1 to $NOTIFY_SOCKET.
// The socket is a unix datagram socket, which Node's dgram cannot address, so the
// datagram is sent by the addon (csrc/platform/sd_notify.c) from the daemon's own
// process: systemd attributes it to the unit's main PID, and the unit keeps
// NotifyAccess=main.
import { native } from '../engine/native';

export interface NotifyLog {
  warn(obj: object, msg: string): void;
}

export class SystemdNotifier {
  private readonly socket: string | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private warned = false;

  constructor(
    private readonly log: NotifyLog,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.socket = env.NOTIFY_SOCKET || undefined;
  }

  get enabled(): boolean {
    return this.socket !== undefined;
  }

  /** Interval for WATCHDOG=1 pings (half of WatchdogSec), or undefined when systemd wants none. */
  watchdogIntervalMs(): number | undefined {
    const usec = Number(this.env.WATCHDOG_USEC);
    const pid = this.env.WATCHDOG_PID;
    if (!this.enabled || !(usec > 0) || (pid && Number(pid) !== process.pid)) return undefined;
    return Math.max(1, Math.floor(usec / 2000));
  }

  send(state: string): void {
    if (!this.socket) return;
    const failed = native.sdNotify(this.socket, state);
    // one warning per failure streak: a missing socket would otherwise log every ping
    if (failed && !this.warned) this.log.warn({ socket: this.socket, state }, `systemd notification not sent: ${failed}`);
    this.warned = failed !== undefined;
  }

  ready(status?: string): void {
    this.send(status ? `READY=1\nSTATUS=${status}` : 'READY=1');
    const every = this.watchdogIntervalMs();
    if (every !== undefined && !this.watchdog) {
      this.watchdog = setInterval(() => this.send('WATCHDOG=1'), every);
      this.watchdog.unref();
    }
  }

  stopping(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    this.send('STOPPING=1');
  }

  reloading(): void {
    this.send('RELOADING=1');
  }

  close(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }
}
