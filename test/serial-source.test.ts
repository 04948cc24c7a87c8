// One SerialSource in process on a real PTY, with a real scheduler and model but no
// broker: a window the scheduler answers `busy` (its model's queue is full) is
// counted as a drop, never queued in the source; once the model runs again the
// source infers again.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_FRAMINGS, simWindows, windowFrames } from '../firmware-tools/sensor-sim';
import { parseConfig } from '../src/config/load';
import type { ExtensionContext } from '../src/daemon/extension';
import { createLogger } from '../src/daemon/logger';
import { ModelSlot, Scheduler } from '../src/daemon/scheduler';
import { topicsFor } from '../src/daemon/topics';
import { loadModel } from '../src/engine/model';
import { SerialSource } from '../src/sources/source';
import { PtyPair, socatAvailable } from './helpers/pty';
import { gestureModelBytes } from './helpers/serial-rig';

test('a busy scheduler: the window is dropped and counted; inference resumes when the model runs again', async (t) => {
  if (!socatAvailable()) {
    t.log('NOTICE: socat is absent: serial source test skipped');
    return t.pass();
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-source-'));
  const pty = await PtyPair.create(dir, 'busy');
  const model = await loadModel(await gestureModelBytes());
  const scheduler = new Scheduler(1);
  scheduler.install([new ModelSlot({ name: 'g', version: '1', topK: 1, queueSize: 1, models: [model] })]);
  const config = parseConfig(
    { deviceId: 'd', models: [{ name: 'g', path: 'g.tflite' }], sources: [{ name: 's', path: pty.dev, framing: DEFAULT_FRAMINGS.cobs, sample: { format: 'int16', channels: 3 }, window: { size: 128 }, model: 'g' }] },
    dir,
  );
  const published: string[] = [];
  let opened!: () => void;
  const open = new Promise<void>((r) => (opened = r));
  const ctx: ExtensionContext = {
    config: () => config,
    log: createLogger('silent', 'd'),
    scheduler,
    topics: () => topicsFor(config),
    deviceTopic: () => 'qie/d',
    publish: async (topic) => (published.push(topic), true),
    connected: () => true,
    publishStatus: () => opened(),
  };
  const source = new SerialSource(config.sources[0], ctx);
  t.teardown(async () => {
    await source.stop();
    await pty.close();
    scheduler.disposeAll();
    rmSync(dir, { recursive: true, force: true });
  });
  source.start();
  await open;

  // no runs start and one request fills the model's queue: the next submit is busy
  scheduler.setConcurrency(0);
  let held = false;
  scheduler.submit('g', { inputs: [new Uint8Array(384)], done: () => (held = true) });
  const windows = simWindows(2, undefined, 4);
  const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise((r) => setTimeout(r, 20));
  };
  pty.write(Buffer.concat(windowFrames(windows[0], DEFAULT_FRAMINGS.cobs, 'int16')));
  await until(() => source.status().windows === 1);
  t.like(source.status(), { windows: 1, drops: 1, windowsInferred: 0, pending: 0, inferErrors: 0 });

  scheduler.setConcurrency(1);
  await until(() => held);
  pty.write(Buffer.concat(windowFrames(windows[1], DEFAULT_FRAMINGS.cobs, 'int16')));
  await until(() => source.status().windowsInferred === 1);
  t.like(source.status(), { windows: 2, drops: 1, windowsInferred: 1, frames: 256 });
  t.deepEqual(published, ['qie/d/sources/s/result']);
});
