// The `sources` configuration: the example validates, defaults fill in, bad
// sources are refused naming the key, and a source whose windows do not fit its
// model stops start-up with exit 1 naming both.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadConfig, parseConfig } from '../src/config/load';
import { configErrorOf } from './helpers/config-error';
import { DaemonProc, writeConfig } from './helpers/daemon-proc';
import { gestureModelBytes } from './helpers/serial-rig';

const errorOf = configErrorOf;

const model = { name: 'g', path: 'g.tflite' };
const source = { name: 's', path: '/dev/ttyACM0', framing: { kind: 'cobs' }, sample: { format: 'int16', channels: 3 }, window: { size: 128 }, model: 'g' };
const withSource = (s: Record<string, unknown>) => ({ models: [model], sources: [{ ...source, ...s }] });

test('config/example-serial.json is valid and the defaults fill in', (t) => {
  const c = loadConfig('config/example-serial.json');
  const s = c.sources[0];
  t.is(s.name, 'wand');
  t.is(s.model, 'gesture');
  t.deepEqual(s.window, { size: 128, hop: 32 });
  const d = parseConfig(withSource({}), '/etc/qie').sources[0];
  t.is(d.baudRate, 115200);
  t.is(d.dataBits, 8);
  t.is(d.parity, 'none');
  t.deepEqual(d.framing, { kind: 'cobs', maxFrameBytes: 1024 });
  t.deepEqual(d.normalize, { scale: 1, offset: 0 });
  t.is(d.maxPendingWindows, 2);
  t.deepEqual(d.reopen, { minMs: 100, maxMs: 5000 });
  t.is(d.window.hop, undefined);
  t.deepEqual(parseConfig(withSource({ framing: { kind: 'fixed', payloadBytes: 6 } }), '/').sources[0].framing, { kind: 'fixed', sync: [0xa5, 0x5a], payloadBytes: 6, crc: true });
  t.deepEqual(parseConfig({}, '/').sources, []);
});

test('bad sources are refused naming the key', (t) => {
  t.regex(errorOf(withSource({ model: 'nope' })), /sources\[0\]\.model: no model named 'nope' is configured/);
  t.regex(errorOf({ models: [model], sources: [source, source] }), /sources\[1\]\.name: duplicate source name 's'/);
  t.regex(errorOf({ models: [model], sources: [source, { ...source, name: 't' }] }), /sources\[1\]\.path: '\/dev\/ttyACM0' is already read/);
  t.regex(errorOf(withSource({ window: { size: 8, hop: 9 } })), /sources\[0\]\.window\.hop: must not exceed window\.size/);
  t.regex(errorOf(withSource({ window: { size: 0 } })), /sources\[0\]\.window\.size/);
  t.regex(errorOf(withSource({ normalize: { scale: [1, 2] } })), /sources\[0\]\.normalize\.scale: has 2 values for 3 channel/);
  t.regex(errorOf(withSource({ framing: { kind: 'fixed', payloadBytes: 7 } })), /sources\[0\]\.framing\.payloadBytes: must be a multiple of 6/);
  t.regex(errorOf(withSource({ framing: { kind: 'morse' } })), /sources\[0\]\.framing/);
  t.regex(errorOf(withSource({ framing: { kind: 'cobs', crc: false } })), /sources\[0\]\.framing\.crc: unknown key/);
  t.regex(errorOf(withSource({ path: 'ttyACM0' })), /sources\[0\]\.path: must be an absolute device path/);
  t.regex(errorOf(withSource({ name: 'a/b' })), /sources\[0\]\.name: must be one topic level/);
  t.regex(errorOf(withSource({ outputTopic: 'x/#' })), /sources\[0\]\.outputTopic: must be a topic name/);
  t.regex(errorOf(withSource({ baudRate: 0 })), /sources\[0\]\.baudRate/);
  t.regex(errorOf(withSource({ eventThreshold: 2 })), /sources\[0\]\.eventThreshold/);
  t.regex(errorOf(withSource({ reopen: { minMs: 500, maxMs: 100 } })), /sources\[0\]\.reopen\.maxMs: must be at least reopen\.minMs/);
  t.regex(errorOf(withSource({ baud: 9600 })), /sources\[0\]\.baud: unknown key/);
});

test('qie serve: a source whose windows do not fit its model stops start-up with exit 1 naming both', async (t) => {
  const cfg = writeConfig({});
  t.teardown(cfg.cleanup);
  const modelFile = path.join(cfg.dir, 'gesture.tflite');
  writeFileSync(modelFile, await gestureModelBytes());
  writeFileSync(cfg.file, JSON.stringify({ embeddedBroker: { port: 0 }, models: [{ name: 'g', path: modelFile }], sources: [{ ...source, path: path.join(cfg.dir, 'tty'), window: { size: 64 } }] }));
  const d = new DaemonProc(cfg.file);
  t.is(await d.exited, 1);
  t.regex(d.stderr, /sources 's': model 'g' takes 384 values \(\[1,128,3,1\]\) but source 's' makes windows of 64 x 3 = 192/);
});
