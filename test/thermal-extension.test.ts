// The governor inside a real daemon (in process, embedded broker) reading files the
// test writes by hand: its status section and `qie status`; overheating sheds the
// low-priority model with `throttled` replies while the high-priority one is served;
// cooling steps back to normal with each change logged with its reason; garbage in a
// sensor file is reported, not fatal. Also the scheduler hooks the governor uses.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { MqttClient } from 'mqtt';
import { workloadModel } from '../firmware-tools/thermal/workload-model';
import { configSchema } from '../src/config/schema';
import { decodeBinaryReply, encodeBinaryRequest } from '../src/daemon/binary';
import { Daemon } from '../src/daemon/daemon';
import { ReplyError } from '../src/daemon/reply-error';
import { JobResult, ModelSlot, Scheduler } from '../src/daemon/scheduler';
import { loadModel } from '../src/engine/model';
import { CLI } from './helpers/daemon-proc';
import { captureLogger } from './helpers/log-capture';
import { connectClient, nextMessage } from './helpers/mqtt-client';

const WIDTH = 256;
const input = new Uint8Array(new Float32Array(WIDTH).fill(0.5).buffer);

function put(root: string, rel: string, text: string): void {
  const f = path.join(root, rel);
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, text);
}

/** Runs the CLI without blocking this process (the broker lives in it). */
function qie(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }));
  });
}

let seq = 0;
async function ask(client: MqttClient, model: string): Promise<{ status: number; message?: string }> {
  const id = ++seq;
  const replyTo = `t/reply/${model}/${id}`;
  await client.subscribeAsync(replyTo, { qos: 1 });
  const reply = nextMessage(client, replyTo);
  await client.publishAsync(`qie/gw/infer/${model}`, encodeBinaryRequest(id, [input], { replyTo }), { qos: 1 });
  const r = decodeBinaryReply(await reply);
  return { status: r.status, message: r.message };
}

type ThermalStatus = { governor: { level: string; reason: string; shedding: boolean; threads: Record<string, number> }; readings: { maxTempC: number | null; zones: unknown[]; throttle: { softTempLimit: boolean; raw: number } | null; rails: { name: string; powerMw: number }[]; powerW: number | null; nvpmodel: unknown; missing: string[] }; counters: { throttled: number } };

test('status, shedding by priority, recovery, logs and qie status', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-thermal-ext-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  put(root, 'sys/class/thermal/thermal_zone0/type', 'cpu-thermal\n');
  put(root, 'sys/class/thermal/thermal_zone0/temp', '50000\n');
  put(root, 'sys/devices/system/cpu/cpufreq/policy0/scaling_cur_freq', '1800000\n');
  put(root, 'sys/devices/system/cpu/cpufreq/policy0/scaling_max_freq', '1800000\n');
  put(root, 'sys/devices/platform/soc/soc:firmware/get_throttled', '80000\n');
  put(root, 'sys/class/hwmon/hwmon3/name', 'ina3221\n');
  put(root, 'sys/class/hwmon/hwmon3/in1_label', 'VDD_IN\n');
  put(root, 'sys/class/hwmon/hwmon3/in1_input', '5000\n');
  put(root, 'sys/class/hwmon/hwmon3/curr1_input', '900\n');
  const model = path.join(dir, 'm.tflite');
  writeFileSync(model, workloadModel(4, WIDTH));
  const { log, lines } = captureLogger('info');
  const config = configSchema.parse({
    deviceId: 'gw',
    embeddedBroker: { port: 0 },
    statusIntervalS: 1,
    models: [
      { name: 'bulk', path: model, priority: 0, threads: 2 },
      { name: 'alarm', path: model, priority: 5, threads: 2 },
    ],
    thermal: { sysfsRoot: root, pollMs: 50, setpointC: 70, hardLimitC: 80, hysteresisC: 3, minDwellMs: 200, useCommands: false },
  });
  const daemon = new Daemon(config, { log });
  await daemon.start();
  const client = await connectClient(daemon.brokerUrl, { protocolVersion: 4 });
  const thermal = () => (daemon.status() as unknown as { thermal: ThermalStatus }).thermal;
  const until = async (test: () => boolean, what: string) => {
    for (let i = 0; i < 400 && !test(); i++) await new Promise((r) => setTimeout(r, 50));
    if (!test()) throw new Error(`timed out waiting for ${what}`);
  };
  try {
    // readings in the status section
    let th = thermal();
    t.is(th.governor.level, 'normal');
    t.is(th.readings.maxTempC, 50);
    t.true(th.readings.throttle!.softTempLimit === false);
    t.is(th.readings.throttle!.raw, 0x80000);
    t.deepEqual(th.readings.rails.map((r) => [r.name, r.powerMw]), [['VDD_IN', 4500]]);
    t.is(th.readings.powerW, 4.5);
    t.deepEqual(th.readings.missing, ['nvpmodel']);
    t.deepEqual(th.governor.threads, { bulk: 2, alarm: 2 });
    t.is((await ask(client, 'bulk')).status, 0);

    // overheating: straight to the shed level
    put(root, 'sys/class/thermal/thermal_zone0/temp', '85000\n');
    await until(() => thermal().governor.level === 'shed', 'the shed level');
    th = thermal();
    t.regex(th.governor.reason, /hard limit 80 °C reached \(85\.0 °C\)/);
    t.true(th.governor.shedding);
    await until(() => thermal().governor.threads.bulk === 1, 'fewer threads');
    const shed = await ask(client, 'bulk');
    t.is(shed.status, 7, 'binary status of throttled');
    t.regex(shed.message!, /shed by the thermal governor/);
    t.is((await ask(client, 'alarm')).status, 0, 'the high-priority model is still served');
    t.true(thermal().counters.throttled >= 1);
    t.is((daemon.status() as unknown as { counters: { errors: { throttled: number } } }).counters.errors.throttled, 1);

    // the retained status through the CLI, for people and for machines
    daemon.publishStatus();
    await new Promise((r) => setTimeout(r, 300));
    const human = await qie(['status', '--broker', daemon.brokerUrl, '--device', 'gw']);
    t.is(human.status, 0, human.stderr);
    t.regex(human.stdout, /thermal: level shed since .* hard limit 80 °C reached/);
    t.regex(human.stdout, /cpu-thermal \(thermal_zone0\): 85\.0 °C/);
    t.regex(human.stdout, /rail VDD_IN: 4\.50 W/);
    const json = await qie(['status', '--broker', daemon.brokerUrl, '--device', 'gw', '--json']);
    t.is(json.status, 0, json.stderr);
    t.is((JSON.parse(json.stdout) as { thermal: ThermalStatus }).thermal.governor.level, 'shed');
    const none = await qie(['status', '--broker', daemon.brokerUrl, '--device', 'nobody', '--timeout-ms', '500']);
    t.is(none.status, 1);
    t.regex(none.stderr, /no status retained on qie\/nobody\/status/);

    // garbage in the sensor file: reported, level held, daemon still serving
    put(root, 'sys/class/thermal/thermal_zone0/temp', 'garbage\n');
    await until(() => thermal().readings.missing.includes('thermal_zones'), 'the broken zone to be reported');
    t.is(thermal().governor.level, 'shed');
    t.regex(thermal().governor.reason, /no temperature or power reading: holding/);
    t.is((await ask(client, 'alarm')).status, 0);

    // cooled: one level at a time back to normal, threads restored, bulk served again
    put(root, 'sys/class/thermal/thermal_zone0/temp', '45000\n');
    await until(() => thermal().governor.level === 'normal', 'the normal level');
    await until(() => thermal().governor.threads.bulk === 2, 'threads restored');
    t.is((await ask(client, 'bulk')).status, 0);
    const changes = lines.filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('thermal: level ')).map((l) => [l.level, l.msg, typeof l.reason]);
    t.deepEqual(changes, [
      ['warn', 'thermal: level shed', 'string'],
      ['info', 'thermal: level duty', 'string'],
      ['info', 'thermal: level threads', 'string'],
      ['info', 'thermal: level normal', 'string'],
    ]);
  } finally {
    await client.endAsync();
    await daemon.stop();
  }
});

test('scheduler hooks: a pacer postpones starts, admission refuses, shedQueued answers, replace keepOld keeps models', async (t) => {
  const bytes = workloadModel(2, 16);
  const m1 = await loadModel(bytes);
  const m2 = await loadModel(bytes);
  const slot = new ModelSlot({ name: 'm', version: '1', topK: 3, queueSize: 8, models: [m1] });
  const sched = new Scheduler(1);
  sched.install([slot]);
  const results: JobResult[] = [];
  const job = () => ({ inputs: [new Uint8Array(new Float32Array(16).buffer)], done: (r: JobResult) => results.push(r) });
  // a pacer that holds everything: jobs wait in the queue
  let hold = true;
  sched.setPacer({ delayMs: () => (hold ? 20 : 0) });
  for (let i = 0; i < 3; i++) sched.submit('m', job());
  await new Promise((r) => setTimeout(r, 100));
  t.is(results.length, 0);
  t.is(slot.queue.length, 3);
  // releasing the pacer starts them (from the pacer's own timer)
  hold = false;
  await sched.idle();
  t.is(results.filter((r) => r.ok).length, 3);
  // admission refuses before the queue
  sched.setAdmission(() => new ReplyError('throttled', 'no'));
  t.throws(() => sched.submit('m', job()), { message: 'no' });
  sched.setAdmission(undefined);
  // queued jobs of a shed slot are answered, not dropped
  hold = true;
  for (let i = 0; i < 2; i++) sched.submit('m', job());
  t.is(sched.shedQueued(() => true, new ReplyError('throttled', 'shed')), 2);
  t.deepEqual(
    results.slice(3).map((r) => (r.ok ? 'ok' : r.error.code)),
    ['throttled', 'throttled'],
  );
  sched.setPacer(undefined);
  // replace with keepOld: the old slot's model still runs afterwards
  const other = new ModelSlot({ name: 'm', version: '2', topK: 3, queueSize: 8, models: [m2] });
  t.is(sched.replace(other, { keepOld: true }), slot);
  await t.notThrowsAsync(m1.run([new Float32Array(16)]));
  t.is(sched.replace(slot, { keepOld: true }), other);
  sched.submit('m', job());
  await sched.idle();
  t.true(results.at(-1)!.ok);
  sched.disposeAll();
  other.dispose();
});

test('a fallback that does not fit is reported and unused; a reload without the section stops the governor', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-thermal-reload-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  put(root, 'sys/class/thermal/thermal_zone0/type', 'cpu-thermal\n');
  put(root, 'sys/class/thermal/thermal_zone0/temp', '50000\n');
  const model = path.join(dir, 'm.tflite');
  const narrow = path.join(dir, 'narrow.tflite');
  writeFileSync(model, workloadModel(4, WIDTH));
  writeFileSync(narrow, workloadModel(2, 128));
  const { log, lines } = captureLogger('info');
  const raw = {
    deviceId: 'gw',
    embeddedBroker: { port: 0 },
    models: [{ name: 'bulk', path: model, priority: 0, fallbackPath: narrow }],
    thermal: { sysfsRoot: root, pollMs: 50, minDwellMs: 200, useCommands: false },
  };
  const config = configSchema.parse(raw);
  const reloaded = configSchema.parse({ ...raw, thermal: undefined });
  const daemon = new Daemon(config, { log, reloadConfig: () => reloaded });
  await daemon.start();
  const client = await connectClient(daemon.brokerUrl, { protocolVersion: 4 });
  const thermal = () => (daemon.status() as unknown as { thermal: ThermalStatus & { governor: { fallbackErrors: Record<string, string>; fallback: string[] } } }).thermal;
  try {
    t.regex(thermal().governor.fallbackErrors.bulk, /narrow\.tflite: it does not have the inputs and outputs of the model it stands in for/);
    put(root, 'sys/class/thermal/thermal_zone0/temp', '90000\n');
    for (let i = 0; i < 200 && thermal().governor.level !== 'shed'; i++) await new Promise((r) => setTimeout(r, 50));
    t.is(thermal().governor.level, 'shed');
    t.deepEqual(thermal().governor.fallback, []);
    t.is((await ask(client, 'bulk')).status, 7);
    t.true(await daemon.reload());
    t.true(lines.some((l) => l.msg === 'thermal: section removed or disabled by the reload: governor stopped'));
    // hooks gone: the same request runs although the sensor still says 90 °C
    t.is((await ask(client, 'bulk')).status, 0);
  } finally {
    await client.endAsync();
    await daemon.stop();
  }
});

test('the power budget (INA3221 rail) and the firmware under-voltage flag throttle at a cool temperature', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-thermal-power-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'root');
  put(root, 'sys/class/thermal/thermal_zone0/type', 'cpu-thermal\n');
  put(root, 'sys/class/thermal/thermal_zone0/temp', '40000\n');
  const dev = 'sys/bus/i2c/drivers/ina3221x/1-0040/iio:device0';
  put(root, `${dev}/rail_name_0`, 'POM_5V_IN\n');
  put(root, `${dev}/in_power0_input`, '3000\n');
  const model = path.join(dir, 'm.tflite');
  writeFileSync(model, workloadModel(2, WIDTH));
  const config = configSchema.parse({
    deviceId: 'gw',
    embeddedBroker: { port: 0 },
    models: [{ name: 'm', path: model }],
    thermal: { sysfsRoot: root, pollMs: 50, minDwellMs: 200, powerBudgetW: 4, kp: 0.1, ki: 0.2, useCommands: false },
  });
  const { log } = captureLogger('silent');
  const daemon = new Daemon(config, { log });
  await daemon.start();
  const thermal = () => (daemon.status() as unknown as { thermal: ThermalStatus }).thermal;
  const until = async (test: () => boolean, what: string) => {
    for (let i = 0; i < 400 && !test(); i++) await new Promise((r) => setTimeout(r, 50));
    if (!test()) throw new Error(`timed out waiting for ${what}`);
  };
  try {
    t.is(thermal().readings.powerW, 3);
    t.is(thermal().governor.level, 'normal');
    // 6 W against a 4 W budget
    put(root, `${dev}/in_power0_input`, '6000\n');
    await until(() => ['duty', 'shed'].includes(thermal().governor.level), 'a duty cap for power');
    t.regex(thermal().governor.reason, /6\.00 W vs budget 4 W/);
    // back under budget and cool: normal again
    put(root, `${dev}/in_power0_input`, '1000\n');
    await until(() => thermal().governor.level === 'normal', 'normal under budget');
    // the supply sags: the Pi firmware says under-voltage (and throttled) now
    put(root, 'sys/devices/platform/soc/soc:firmware/get_throttled', '50005\n');
    await until(() => thermal().governor.level !== 'normal', 'a level for under-voltage');
    t.regex(thermal().governor.reason, /firmware reports underVoltage, throttled/);
    t.true(thermal().readings.throttle!.raw === 0x50005);
  } finally {
    await daemon.stop();
  }
});
