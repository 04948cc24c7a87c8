// A closed loop for tests, the demo and the benchmark: the daemon in process (embedded
// broker on a free port), a ThermalSim writing a temp sysfs tree that the daemon's
// thermal governor reads, the sim's power taken from the daemon's measured inference
// duty (scheduler.onFinish), and a request flood over MQTT.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import mqtt, { MqttClient } from 'mqtt';
import { configSchema } from '../../src/config/schema';
import { Daemon } from '../../src/daemon/daemon';
import type { Extension } from '../../src/daemon/extension';
import { createLogger, Logger } from '../../src/daemon/logger';
import { DutyMeter } from '../../src/thermal/duty';
import { Flood } from './flood';
import { SimOptions, ThermalSim } from './sim';
import { workloadModel } from './workload-model';

export interface ScenarioOptions {
  /** The `thermal` config section (sysfsRoot is filled in); undefined: no governor. */
  thermal?: Record<string, unknown>;
  sim: Omit<SimOptions, 'root' | 'duty'>;
  /** Heavy model depth and its fallback's (0: no fallback). */
  layers?: number;
  fallbackLayers?: number;
  /** Extra models: name -> priority (same heavy model, no fallback). */
  extraModels?: Record<string, number>;
  priority?: number;
  inFlight?: number;
  log?: Logger;
  /** Extensions instead of the configured ones (the benchmark's naive throttle). */
  extensions?: (daemon: () => Daemon) => Extension[];
}

export const WIDTH = 256;

export class Scenario {
  readonly dir: string;
  readonly sysfsRoot: string;
  daemon!: Daemon;
  sim!: ThermalSim;
  client!: MqttClient;
  readonly floods: Flood[] = [];
  /** Every finished run: when (performance.now() ms) and how long (ms). */
  readonly runs: { at: number; ms: number }[] = [];
  private duty!: DutyMeter;

  constructor(readonly o: ScenarioOptions) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'qie-thermal-'));
    this.sysfsRoot = path.join(this.dir, 'root');
  }

  async start(): Promise<void> {
    const o = this.o;
    const heavy = path.join(this.dir, 'heavy.tflite');
    writeFileSync(heavy, workloadModel(o.layers ?? 32, WIDTH));
    const light = path.join(this.dir, 'light.tflite');
    if (o.fallbackLayers) writeFileSync(light, workloadModel(o.fallbackLayers, WIDTH, 8));
    const models = [
      { name: 'main', path: heavy, priority: o.priority ?? 1, queueSize: 256, ...(o.fallbackLayers ? { fallbackPath: light } : {}) },
      ...Object.entries(o.extraModels ?? {}).map(([name, priority]) => ({ name, path: heavy, priority, queueSize: 256 })),
    ];
    const config = configSchema.parse({
      deviceId: 'sim',
      embeddedBroker: { port: 0 },
      concurrency: 1,
      logLevel: 'silent',
      models,
      ...(o.thermal ? { thermal: { ...o.thermal, sysfsRoot: this.sysfsRoot, useCommands: false } } : {}),
    });
    // the sim heats from what the daemon really runs: busy time over a short window
    this.duty = new DutyMeter(250, () => 1);
    this.sim = new ThermalSim({ ...o.sim, root: this.sysfsRoot, duty: () => this.duty.duty(performance.now()) });
    const log = o.log ?? createLogger('silent', 'sim');
    this.daemon = new Daemon(config, { log, ...(o.extensions ? { extensions: o.extensions(() => this.daemon) } : {}) });
    this.daemon.scheduler.onFinish((_s, _r, ms) => {
      const at = performance.now();
      this.duty.add(at, ms);
      if (this.runs.length < 1_000_000) this.runs.push({ at, ms });
    });
    this.sim.start();
    await this.daemon.start();
    this.client = await mqtt.connectAsync(this.daemon.brokerUrl, { protocolVersion: 4, clientId: `flood-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, reconnectPeriod: 200 });
  }

  /** Starts a flood on `model` (default main). */
  async flood(model = 'main', inFlight = this.o.inFlight ?? 32): Promise<Flood> {
    const input = new Uint8Array(new Float32Array(WIDTH).fill(0.25).buffer);
    const f = new Flood(this.client, `qie/sim/infer/${model}`, input, inFlight);
    await f.start();
    this.floods.push(f);
    return f;
  }

  /** The governor's status section (undefined without a governor). */
  thermal(): { governor: { level: string; dutyCap: number; fallback: string[]; threads: Record<string, number>; reason: string; shedding: boolean }; counters: Record<string, number>; readings: Record<string, unknown> } | undefined {
    return (this.daemon.status() as unknown as { thermal?: ReturnType<Scenario['thermal']> }).thermal;
  }

  /** Resolves when `test` holds, polling every 50 ms; rejects after timeoutMs. */
  async until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (!test()) {
      if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    for (const f of this.floods) await f.stop(30_000).catch(() => undefined);
    await this.client?.endAsync().catch(() => undefined);
    await this.daemon?.stop().catch(() => undefined);
    this.sim?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
