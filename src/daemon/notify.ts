// sd_notify for Type=notify units: READY=1, WATCHDOG=1, STOPPING=1 to $NOTIFY_SOCKET.
//
// The socket is a unix datagram socket and Node's dgram cannot send to those, and the
// addon is kept free of daemon concerns. So one long-lived `socat` child relays lines
// from a pipe to the socket. Why not `systemd-notify` per message: systemd attributes a
// notification to a unit by the sender's PID, and a short-lived sender may be gone
// before that lookup (the barrier systemd-notify uses against that waits up to 5 s on
// receivers that keep the passed fd). A relay that lives as long as the daemon is
// always found in the unit's cgroup (the unit sets NotifyAccess=all). Messages end in a
// newline: sd_notify allows several newline-separated assignments in one datagram, so
// writes that coalesce in the pipe still parse. Without socat, it falls back to
// `systemd-notify --no-block` per message.
import { ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import * as path from 'node:path';

/** Looks a command up on PATH now: a failed spawn is only reported later, after a write was lost. */
function onPath(cmd: string, envPath: string | undefined): boolean {
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

export interface NotifyLog {
  warn(obj: object, msg: string): void;
}

export class SystemdNotifier {
  private readonly socket: string | undefined;
  private relay: ChildProcess | undefined;
  private useFallback = false;
  private watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: NotifyLog,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.socket = env.NOTIFY_SOCKET || undefined;
    if (this.socket && !onPath('socat', env.PATH)) {
      this.useFallback = true;
      this.log.warn({ socket: this.socket }, 'socat not found: sending systemd notifications with systemd-notify');
    }
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
    if (!this.useFallback && !this.relay) this.startRelay();
    if (this.relay?.stdin?.writable) {
      this.relay.stdin.write(state + '\n');
      return;
    }
    this.sendWithSystemdNotify(state);
  }

  private startRelay(): void {
    const address = this.socket!.startsWith('@') ? `ABSTRACT-SENDTO:${this.socket!.slice(1)}` : `UNIX-SENDTO:${this.socket}`;
    const relay = spawn('socat', ['-u', 'STDIN', address], { stdio: ['pipe', 'ignore', 'pipe'], env: this.env });
    let stderr = '';
    relay.stderr?.on('data', (d: Buffer) => (stderr += d.toString()).slice(-2000));
    relay.stdin?.on('error', () => undefined); // reported through 'exit'
    relay.on('error', (e: NodeJS.ErrnoException) => {
      this.log.warn({ err: e.message }, 'systemd notification relay failed');
      this.relay = undefined;
    });
    relay.on('exit', (code) => {
      if (this.relay === relay) this.relay = undefined;
      if (code) this.log.warn({ code, stderr: stderr.trim() }, 'systemd notification relay exited');
    });
    relay.unref();
    (relay.stdin as unknown as { unref?: () => void })?.unref?.();
    (relay.stderr as unknown as { unref?: () => void })?.unref?.();
    this.relay = relay;
  }

  private sendWithSystemdNotify(state: string): void {
    const args = ['--no-block', ...state.split('\n')];
    const p = spawn('systemd-notify', args, { stdio: 'ignore', env: this.env });
    p.on('error', (e) => this.log.warn({ err: e.message }, 'cannot send a systemd notification'));
    p.unref();
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

  /** Closes the relay's pipe: socat sends what it holds, then exits. */
  close(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.relay?.stdin?.end();
  }
}
