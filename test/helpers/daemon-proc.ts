// Spawns `qie serve` as a child process, as systemd would, and reads its JSON logs.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export const CLI = path.resolve('dist/src/cli/qie.js');

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export class DaemonProc {
  readonly proc: ChildProcess;
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(
    readonly configFile: string,
    env: NodeJS.ProcessEnv = {},
  ) {
    this.proc = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let buf = '';
    this.proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let line: LogLine;
        try {
          line = JSON.parse(text) as LogLine;
        } catch {
          line = { level: 'raw', msg: text };
        }
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
      }
    });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first log line (past or future) whose msg matches. */
  waitFor(msg: string | RegExp, timeoutMs = 20_000): Promise<LogLine> {
    const test = (l: LogLine) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg));
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`daemon did not log '${msg}' in ${timeoutMs} ms; stderr: ${this.stderr}; last logs: ${JSON.stringify(this.lines.slice(-5))}`)), timeoutMs);
      const w = { test, resolve: (l: LogLine) => (clearTimeout(timer), resolve(l)) };
      this.waiters.push(w);
      this.exited.then(() => {
        if (this.waiters.includes(w)) reject(new Error(`daemon exited before logging '${msg}'; stderr: ${this.stderr}; last logs: ${JSON.stringify(this.lines.slice(-5))}`));
      });
    });
  }

  count(msg: string): number {
    return this.lines.filter((l) => l.msg === msg).length;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }
}

/** A temp dir holding a config file; returns its path. */
export function writeConfig(config: object, dir = mkdtempSync(path.join(tmpdir(), 'qie-daemon-'))): { dir: string; file: string; cleanup(): void } {
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { dir, file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startDaemon(config: object, env: NodeJS.ProcessEnv = {}): Promise<{ daemon: DaemonProc; dir: string; file: string; cleanup(): void }> {
  const cfg = writeConfig(config);
  const daemon = new DaemonProc(cfg.file, env);
  await daemon.waitFor('serving');
  return { daemon, ...cfg };
}

/** `qie serve` on cfg for one test, serving when this resolves; at the test's end it is killed and the broker and config removed. */
export async function serveForTest(t: { teardown(fn: () => unknown): void }, cfg: { file: string; cleanup(): void }, broker: { dispose(): Promise<void> }): Promise<DaemonProc> {
  const daemon = new DaemonProc(cfg.file);
  t.teardown(async () => {
    await daemon.stop('SIGKILL');
    await broker.dispose();
    cfg.cleanup();
  });
  await daemon.waitFor('serving');
  return daemon;
}
