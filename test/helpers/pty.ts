// Pseudo-terminal pairs from socat for the serial tests: `dev` is the end the
// daemon opens as its serial port, `sim` the sensor's end. close() kills socat
// (the daemon's port goes away as when a USB adapter is unplugged); open() again
// recreates the pair at the same paths.
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, writeSync } from 'node:fs';
import * as path from 'node:path';

export const SOCAT = '/usr/bin/socat';

export function socatAvailable(): boolean {
  return existsSync(SOCAT);
}

export class PtyPair {
  private proc: ChildProcess | undefined;
  private simFd: number | undefined;
  readonly dev: string;
  readonly sim: string;

  constructor(readonly dir: string, name = 'tty') {
    this.dev = path.join(dir, `${name}-dev`);
    this.sim = path.join(dir, `${name}-sim`);
  }

  static async create(dir: string, name?: string): Promise<PtyPair> {
    const p = new PtyPair(dir, name);
    await p.open();
    return p;
  }

  /** Starts socat and resolves once both links exist and it is copying data. */
  async open(): Promise<void> {
    const proc = spawn(SOCAT, ['-d', '-d', `pty,raw,echo=0,link=${this.dev}`, `pty,raw,echo=0,link=${this.sim}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`socat did not start in 10 s: ${log}`)), 10_000);
      proc.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        if (/starting data transfer loop/.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`socat exited (${code}): ${log}`));
      });
    });
    // the sensor end stays open: a pty whose last writer closes reads EOF in socat
    this.simFd = openSync(this.sim, 'r+');
  }

  /** Writes bytes into the sensor end (they come out of `dev`). */
  write(bytes: Uint8Array): void {
    if (this.simFd === undefined) throw new Error('pty is closed');
    let off = 0;
    while (off < bytes.length) off += writeSync(this.simFd, bytes, off, bytes.length - off);
  }

  /** Kills socat: both ends disappear. */
  async close(): Promise<void> {
    if (this.simFd !== undefined) closeSync(this.simFd);
    this.simFd = undefined;
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }
}
