// `npm start`'s program: the embedded broker and the demo model answer the
// mosquitto_pub command it prints, and SIGTERM stops it with exit 0.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

test('serve-demo answers its own check and the printed mosquitto_pub command; SIGTERM exits 0', async (t) => {
  const p = spawn(process.execPath, [path.resolve('dist/firmware-tools/serve-demo.js')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, QIE_LOG_LEVEL: 'warn' } });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => p.once('exit', r));
  t.teardown(() => p.kill('SIGKILL'));
  const end = Date.now() + 60_000;
  while (!/Ctrl-C stops the daemon/.test(out)) {
    if (Date.now() > end || p.exitCode !== null) return t.fail(`no instructions printed:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  t.regex(out, /self-check: sent one "walk" window, the daemon answered walk/);
  const port = /mosquitto_pub -h 127\.0\.0\.1 -p (\d+) -t (\S+) -f (\S+)/.exec(out);
  t.truthy(port, out);
  if (port && existsSync('/usr/bin/mosquitto_sub')) {
    const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', port[1], '-t', 'qie/demo/reply/#', '-C', '1', '-W', '20'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let reply = '';
    sub.stdout.on('data', (d: Buffer) => (reply += d.toString()));
    await new Promise((r) => setTimeout(r, 300));
    const pub = spawnSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', port[1], '-t', port[2], '-f', port[3]], { encoding: 'utf8' });
    t.is(pub.status, 0, pub.stderr);
    await new Promise((r) => sub.once('exit', r));
    const doc = JSON.parse(reply);
    t.is(doc.top[0].label, 'walk');
    t.is(doc.model.name, 'motion');
  }
  p.kill('SIGTERM');
  t.is(await exited, 0);
});
