// Configuration: defaults in config/default.json, clear errors naming the bad key,
// every key documented in the README; `qie serve` exit codes; the systemd unit
// (systemd-analyze verify) and READY/WATCHDOG/STOPPING on a real datagram socket.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig, parseConfig } from '../src/config/load';
import { configSchema } from '../src/config/schema';
import { configErrorOf } from './helpers/config-error';
import { CLI, DaemonProc, writeConfig } from './helpers/daemon-proc';

const errorOf = configErrorOf;

test('config/default.json holds exactly the schema defaults', (t) => {
  const file = JSON.parse(readFileSync('config/default.json', 'utf8'));
  t.deepEqual(file, configSchema.parse({}));
});

test('config/example.json is valid; relative paths resolve against the config file', (t) => {
  const c = loadConfig('config/example.json');
  t.is(c.deviceId, 'gw-line3-01');
  t.is(c.fleet?.group, 'line3');
  const rel = parseConfig({ models: [{ name: 'm', path: 'models/m.tflite' }], broker: { url: 'mqtt://h', tls: { ca: 'ca.pem' } } }, '/etc/qie');
  t.is(rel.models[0].path, '/etc/qie/models/m.tflite');
  t.is(rel.broker.tls!.ca, '/etc/qie/ca.pem');
  t.is(rel.models[0].queueSize, 64);
  t.truthy(rel.deviceId, 'deviceId defaults to the host name');
});

test('errors name the file and the bad key path', (t) => {
  t.regex(errorOf({ models: [{ name: 'a', path: 'a', queueSize: 'many' }] }), /test\.json: invalid configuration:\n {2}models\[0\]\.queueSize: .*number/);
  t.regex(errorOf({ brokr: {} }), /brokr: unknown key/);
  t.regex(errorOf({ broker: { tls: { ca: 'x', crt: 'y' } } }), /broker\.tls\.crt: unknown key/);
  t.regex(errorOf({ broker: { url: 'http://x' } }), /broker\.url: must be an mqtt/);
  t.regex(errorOf({ deviceId: 'a/b' }), /deviceId: must be one topic level/);
  t.regex(errorOf({ models: [{ name: 'a', path: 'x' }, { name: 'a', path: 'y' }] }), /models\[1\]\.name: duplicate model name 'a'/);
  t.regex(errorOf({ broker: { tls: { cert: 'c' } } }), /broker\.tls: cert and key go together/);
  t.regex(errorOf({ concurrency: 0 }), /concurrency: /);
  t.regex(errorOf({ logLevel: 'loud' }), /logLevel: /);
  t.regex(errorOf([]), /\(top level\)/);
});

/** Every key path of the schema, `models[].name` style. */
function keyPaths(schema: unknown, prefix = ''): string[] {
  let s = schema as { _zod: { def: { type: string; innerType?: unknown; element?: unknown; shape?: Record<string, unknown>; in?: unknown } } };
  for (;;) {
    const d = s._zod.def;
    if (d.innerType) s = d.innerType as typeof s;
    else if (d.type === 'pipe' && d.in) s = d.in as typeof s;
    else break;
  }
  const d = s._zod.def;
  if (d.type === 'array') return keyPaths(d.element, `${prefix}[]`);
  if (d.type === 'object' && d.shape) return Object.entries(d.shape).flatMap(([k, v]) => [`${prefix ? `${prefix}.` : ''}${k}`, ...keyPaths(v, `${prefix ? `${prefix}.` : ''}${k}`)]);
  return [];
}

test('the README documents every configuration key', (t) => {
  const readme = readFileSync('README.md', 'utf8');
  const keys = keyPaths(configSchema);
  t.true(keys.length > 30, keys.join(' '));
  const missing = keys.filter((k) => !readme.includes(`\`${k}\``));
  t.deepEqual(missing, []);
});

test('qie serve: bad config exits 78 naming the key; missing file; missing --config', (t) => {
  const cfg = writeConfig({ models: [{ name: 'm', path: 'm.tflite', threads: 0 }] });
  t.teardown(cfg.cleanup);
  const bad = spawnSync(process.execPath, [CLI, 'serve', '--config', cfg.file], { encoding: 'utf8', timeout: 30_000 });
  t.is(bad.status, 78);
  t.regex(bad.stderr, /models\[0\]\.threads/);
  const missing = spawnSync(process.execPath, [CLI, 'serve', '--config', path.join(cfg.dir, 'nope.json')], { encoding: 'utf8', timeout: 30_000 });
  t.is(missing.status, 78);
  t.regex(missing.stderr, /cannot read/);
  writeFileSync(cfg.file, '{ "deviceId": ');
  const notJson = spawnSync(process.execPath, [CLI, 'serve', '--config', cfg.file], { encoding: 'utf8', timeout: 30_000 });
  t.is(notJson.status, 78);
  t.regex(notJson.stderr, /not valid JSON/);
  const none = spawnSync(process.execPath, [CLI, 'serve'], { encoding: 'utf8', timeout: 30_000 });
  t.is(none.status, 2);
  t.regex(none.stderr, /--config FILE is required/);
});

test('qie serve: a model that does not load stops start-up with exit 1 naming the model', async (t) => {
  const cfg = writeConfig({ embeddedBroker: { port: 0 }, models: [{ name: 'ghost', path: 'ghost.tflite' }] });
  t.teardown(cfg.cleanup);
  const d = new DaemonProc(cfg.file);
  t.is(await d.exited, 1);
  t.regex(d.stderr, /model 'ghost' \(.*ghost\.tflite\): cannot read/);
});

test('systemd-analyze verify config/qie.service', (t) => {
  if (!existsSync('/usr/bin/systemd-analyze')) {
    t.log('NOTICE: systemd-analyze is absent: unit verification skipped');
    return t.pass();
  }
  const unit = readFileSync('config/qie.service', 'utf8');
  t.regex(unit, /^Type=notify$/m);
  t.regex(unit, /^WatchdogSec=/m);
  t.regex(unit, /^Restart=on-failure$/m);
  t.regex(unit, /^NoNewPrivileges=yes$/m);
  t.regex(unit, /^ProtectSystem=strict$/m);
  t.regex(unit, /^ReadWritePaths=/m);
  t.regex(unit, /^MemoryMax=/m);
  // verify needs ExecStart's binary: use this node when it is not at /usr/bin/node
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'qie.service');
  writeFileSync(file, existsSync('/usr/bin/node') ? unit : unit.replace('ExecStart=/usr/bin/node', `ExecStart=${process.execPath}`));
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, r.stderr);
  t.notRegex(r.stderr, /qie\.service/, r.stderr);
});

test('READY=1, WATCHDOG=1 and STOPPING=1 reach a unix datagram NOTIFY_SOCKET', async (t) => {
  if (!existsSync('/usr/bin/socat')) {
    t.log('NOTICE: socat (the datagram receiver of this test) is absent: sd_notify test skipped');
    return t.pass();
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-notify-'));
  const sock = path.join(dir, 'notify.sock');
  const recv = spawn('socat', ['-u', `UNIX-RECV:${sock}`, '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let got = '';
  recv.stdout.on('data', (d: Buffer) => (got += d.toString()));
  t.teardown(() => {
    recv.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
  const cfg = writeConfig({ embeddedBroker: { port: 0 }, logLevel: 'warn' });
  t.teardown(cfg.cleanup);
  const d = new DaemonProc(cfg.file, { NOTIFY_SOCKET: sock, WATCHDOG_USEC: '100000' });
  await until(() => /READY=1/.test(got) && (got.match(/WATCHDOG=1/g) ?? []).length >= 2, 20_000);
  t.is(await d.stop('SIGTERM'), 0);
  await until(() => /STOPPING=1/.test(got), 5000);
  const order = ['READY=1', 'WATCHDOG=1', 'STOPPING=1'].map((m) => got.indexOf(m));
  t.true(order[0] < order[1] && order[1] < order[2], got);
});

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a NOTIFY_SOCKET nobody listens on is reported once and does not stop the daemon\'s notifier', async (t) => {
  const { SystemdNotifier } = await import('../src/daemon/notify');
  const warnings: string[] = [];
  const n = new SystemdNotifier({ warn: (_o, msg) => warnings.push(msg) }, { NOTIFY_SOCKET: path.join(tmpdir(), `qie-absent-${process.pid}.sock`) });
  n.ready();
  n.send('WATCHDOG=1');
  n.stopping();
  n.close();
  t.is(warnings.length, 1);
  t.regex(warnings[0], /systemd notification not sent: sendto .*: No such file or directory/);
  const bad = new SystemdNotifier({ warn: (_o, msg) => warnings.push(msg) }, { NOTIFY_SOCKET: 'relative.sock' });
  bad.ready();
  t.regex(warnings[1], /not an absolute or abstract socket path/);
});
