// A real mosquitto for the daemon tests: a free port, password file, ACL file;
// stop and restart on the same port for reconnect tests.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import * as path from 'node:path';

export const MOSQUITTO = '/usr/sbin/mosquitto';

export function mosquittoAvailable(): boolean {
  return existsSync(MOSQUITTO) && existsSync('/usr/bin/mosquitto_passwd');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`port ${port} did not open`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Users {
  [user: string]: string;
}

export class Mosquitto {
  readonly dir: string;
  private proc: ChildProcess | undefined;
  log = '';

  private constructor(
    readonly port: number,
    users: Users,
    acl: string,
    listenerLines: string[] = [],
  ) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'qie-mosq-'));
    const passwd = path.join(this.dir, 'passwd');
    Object.entries(users).forEach(([u, p], i) => execFileSync('/usr/bin/mosquitto_passwd', [...(i === 0 ? ['-c'] : []), '-b', passwd, u, p], { stdio: 'ignore' }));
    writeFileSync(path.join(this.dir, 'acl'), acl);
    writeFileSync(
      path.join(this.dir, 'mosquitto.conf'),
      [
        `listener ${port} 127.0.0.1`,
        ...listenerLines,
        'allow_anonymous false',
        `password_file ${passwd}`,
        `acl_file ${path.join(this.dir, 'acl')}`,
        'persistence false',
        'set_tcp_nodelay true',
        `user ${userInfo().username}`,
        'max_queued_messages 100000',
        'max_inflight_messages 0',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
      ].join('\n') + '\n',
    );
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** listenerLines: extra settings of the listener (TLS files, ...). */
  static async start(users: Users, acl: string, listenerLines: string[] = []): Promise<Mosquitto> {
    const m = new Mosquitto(await freePort(), users, acl, listenerLines);
    await m.restart();
    return m;
  }

  async restart(): Promise<void> {
    const p = spawn(MOSQUITTO, ['-c', path.join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.proc = p;
    await waitForPort(this.port);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The test broker's users and ACL: the daemon reads requests and writes replies and status; clients the reverse. */
export const TEST_USERS: Users = { daemon: 'daemon-secret', client: 'client-secret' };
export const TEST_ACL = `user daemon
topic read qie/+/infer/#
topic read qie/fleet/+/infer/#
topic readwrite qie/+/status
topic write qie/+/reply/#
topic write qie/fleet/+/reply/#
topic write replies/#

user client
topic write qie/+/infer/#
topic write qie/fleet/+/infer/#
topic read qie/+/status
topic read qie/+/reply/#
topic read qie/fleet/+/reply/#
topic readwrite replies/#
`;
