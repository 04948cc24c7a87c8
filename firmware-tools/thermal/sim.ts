// A first-order thermal model of a gateway that writes the files the daemon reads:
//   C dT/dt = P - (T - ambient) / R,   P = idle + load x duty x (clock / max clock)
// where duty is the daemon's measured inference duty. It writes a thermal zone,
// cpufreq policy0, the Pi firmware's get_throttled (PiFirmware) and an INA3221 hwmon
// rail (VDD_IN) under `root`, atomically (write + rename) so a reader never sees half
// a value. Small capacitance makes the loop settle in seconds for tests and demos.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PiFirmware } from './pi-firmware';

export interface SimOptions {
  root: string;
  ambientC: number;
  /** Thermal resistance to ambient, °C/W. */
  rCPerW: number;
  /** Thermal capacitance, J/°C. */
  cJPerC: number;
  idleW: number;
  /** Extra power at full duty and full clock. */
  loadW: number;
  /** The inference duty now, 0..1 (the daemon's measured duty). */
  duty: () => number;
  stepMs?: number;
  startC?: number;
  supplyMv?: number;
}

export interface SimSample {
  /** performance.now() ms. */
  at: number;
  tempC: number;
  powerW: number;
  duty: number;
  curKHz: number;
  throttled: number;
}

export class ThermalSim {
  tempC: number;
  ambientC: number;
  /** Set false to make the supply sag (under-voltage). */
  supplyOk = true;
  readonly firmware = new PiFirmware();
  readonly samples: SimSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private curKHz: number;
  private powerW: number;

  constructor(readonly o: SimOptions) {
    this.ambientC = o.ambientC;
    this.tempC = o.startC ?? o.ambientC + o.rCPerW * o.idleW;
    this.curKHz = this.firmware.maxKHz;
    this.powerW = o.idleW;
    this.write(0);
  }

  start(): void {
    this.last = performance.now();
    const tick = (): void => {
      const now = performance.now();
      this.step((now - this.last) / 1000);
      this.last = now;
      this.timer = setTimeout(tick, this.o.stepMs ?? 20);
    };
    this.timer = setTimeout(tick, this.o.stepMs ?? 20);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Advances the model by dtS seconds (exact for constant power) and rewrites the files. */
  step(dtS: number): void {
    const o = this.o;
    const duty = Math.min(1, Math.max(0, o.duty()));
    this.powerW = o.idleW + o.loadW * duty * (this.curKHz / this.firmware.maxKHz);
    const eq = this.ambientC + o.rCPerW * this.powerW;
    this.tempC = eq + (this.tempC - eq) * Math.exp(-dtS / (o.rCPerW * o.cJPerC));
    const fw = this.firmware.step(this.tempC, !this.supplyOk);
    this.curKHz = fw.curKHz;
    this.samples.push({ at: performance.now(), tempC: this.tempC, powerW: this.powerW, duty, curKHz: fw.curKHz, throttled: fw.throttled });
    if (this.samples.length > 100_000) this.samples.splice(0, 50_000);
    this.write(fw.throttled);
  }

  private put(rel: string, value: string | number): void {
    const f = path.join(this.o.root, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    const tmp = `${f}.tmp`;
    writeFileSync(tmp, `${value}\n`);
    renameSync(tmp, f);
  }

  private write(throttled: number): void {
    const supplyMv = this.supplyOk ? (this.o.supplyMv ?? 5100) : 4600;
    this.put('sys/class/thermal/thermal_zone0/type', 'cpu-thermal');
    this.put('sys/class/thermal/thermal_zone0/temp', Math.round(this.tempC * 1000));
    this.put('sys/devices/system/cpu/cpufreq/policy0/scaling_cur_freq', this.curKHz);
    this.put('sys/devices/system/cpu/cpufreq/policy0/scaling_max_freq', this.firmware.maxKHz);
    this.put('sys/devices/system/cpu/cpufreq/policy0/cpuinfo_max_freq', this.firmware.maxKHz);
    this.put('sys/devices/platform/soc/soc:firmware/get_throttled', throttled.toString(16));
    this.put('sys/class/hwmon/hwmon0/name', 'ina3221');
    this.put('sys/class/hwmon/hwmon0/in1_label', 'VDD_IN');
    this.put('sys/class/hwmon/hwmon0/in1_input', supplyMv);
    this.put('sys/class/hwmon/hwmon0/curr1_input', Math.round((this.powerW / supplyMv) * 1e6));
  }
}
