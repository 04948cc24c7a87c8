// One snapshot of everything the governor and the operator want to know: thermal
// zones, CPU frequencies, Pi throttle flags, Jetson power rails and nvpmodel mode.
// Every source is optional: what is absent is listed in `missing`, never fatal.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import * as path from 'node:path';
import { NvpModel, parseNvpmodelQuery, Rail, readHwmonRails, readIioRails, readNvpmodelFiles } from './power';
import { SysfsRoot } from './sysfs';
import { parseThrottled, ThrottleFlags } from './throttled';

export interface Zone {
  zone: string;
  type: string;
  tempC: number;
}

export interface CpuFreq {
  policy: string;
  curKHz?: number;
  maxKHz?: number;
}

export interface Readings {
  at: number;
  zones: Zone[];
  /** Hottest of the zones the governor watches. */
  maxTempC?: number;
  cpufreq: CpuFreq[];
  throttle?: ThrottleFlags & { source: 'sysfs' | 'vcgencmd' };
  rails: Rail[];
  /** Board power (W): the configured rail, else VDD_IN / POM_5V_IN, else the sum of the rails. */
  powerW?: number;
  powerRail?: string;
  nvpmodel?: NvpModel & { source: 'files' | 'nvpmodel' };
  missing: string[];
}

export interface ReaderOptions {
  sysfsRoot: string;
  /** Zone types the governor watches (empty: all). */
  zoneTypes: string[];
  /** Rail whose power is the board's (absent: VDD_IN / POM_5V_IN / the sum). */
  powerRail?: string;
  /** Run vcgencmd / nvpmodel -q when their files are absent and the tools are installed. */
  useCommands: boolean;
}

/** Plausible sensor range: anything else is a broken sensor, not a temperature. */
const MIN_C = -60;
const MAX_C = 200;
const TOTAL_RAILS = ['VDD_IN', 'POM_5V_IN'];
const GET_THROTTLED_FILES = ['/sys/devices/platform/soc/soc:firmware/get_throttled', '/sys/devices/platform/soc/soc:firmware/raspberrypi-hwmon/get_throttled'];

export function readZones(fs: SysfsRoot): Zone[] {
  const zones: Zone[] = [];
  for (const z of fs.list('/sys/class/thermal', /^thermal_zone\d+$/)) {
    const milli = fs.int(`/sys/class/thermal/${z}/temp`);
    if (milli === undefined) continue;
    const tempC = milli / 1000;
    if (tempC < MIN_C || tempC > MAX_C) continue;
    zones.push({ zone: z, type: (fs.text(`/sys/class/thermal/${z}/type`) ?? z).slice(0, 64), tempC });
  }
  return zones;
}

export function readCpuFreq(fs: SysfsRoot): CpuFreq[] {
  const base = '/sys/devices/system/cpu/cpufreq';
  return fs.list(base, /^policy\d+$/).map((p) => ({
    policy: p,
    curKHz: fs.int(`${base}/${p}/scaling_cur_freq`),
    maxKHz: fs.int(`${base}/${p}/scaling_max_freq`) ?? fs.int(`${base}/${p}/cpuinfo_max_freq`),
  }));
}

export function readThrottleFile(fs: SysfsRoot): ThrottleFlags | undefined {
  for (const f of GET_THROTTLED_FILES) {
    const t = fs.text(f);
    if (t !== undefined) return parseThrottled(t);
  }
  return undefined;
}

function installed(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const f = path.join(dir, cmd);
    try {
      accessSync(f, constants.X_OK);
      return f;
    } catch {
      // not here
    }
  }
  return undefined;
}

function run(file: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 2000, maxBuffer: 64 * 1024 }, (err, stdout) => resolve(err ? undefined : stdout));
  });
}

export function boardPower(rails: Rail[], wanted?: string): { powerW?: number; rail?: string } {
  if (!rails.length) return {};
  const named = wanted ? rails.find((r) => r.name === wanted) : rails.find((r) => TOTAL_RAILS.includes(r.name));
  if (wanted && !named) return {};
  if (named) return { powerW: named.powerMw / 1000, rail: named.name };
  return { powerW: rails.reduce((s, r) => s + r.powerMw, 0) / 1000, rail: 'sum' };
}

export class Readers {
  private readonly fs: SysfsRoot;
  private readonly vcgencmd: string | undefined;
  private readonly nvpmodelCmd: string | undefined;

  constructor(private readonly opts: ReaderOptions) {
    this.fs = new SysfsRoot(opts.sysfsRoot);
    this.vcgencmd = opts.useCommands ? installed('vcgencmd') : undefined;
    this.nvpmodelCmd = opts.useCommands ? installed('nvpmodel') : undefined;
  }

  async read(): Promise<Readings> {
    const fs = this.fs;
    const missing: string[] = [];
    const zones = readZones(fs);
    if (!zones.length) missing.push('thermal_zones');
    const watched = this.opts.zoneTypes.length ? zones.filter((z) => this.opts.zoneTypes.includes(z.type)) : zones;
    if (zones.length && !watched.length) missing.push(`thermal_zones of type ${this.opts.zoneTypes.join(', ')}`);
    const cpufreq = readCpuFreq(fs);
    if (!cpufreq.length) missing.push('cpufreq');

    let throttle: Readings['throttle'];
    const file = readThrottleFile(fs);
    if (file) throttle = { ...file, source: 'sysfs' };
    else if (this.vcgencmd) {
      const out = await run(this.vcgencmd, ['get_throttled']);
      const flags = out === undefined ? undefined : parseThrottled(out);
      if (flags) throttle = { ...flags, source: 'vcgencmd' };
    }
    if (!throttle) missing.push('get_throttled');

    let rails = readHwmonRails(fs);
    if (!rails.length) rails = readIioRails(fs);
    if (!rails.length) missing.push('ina3221');
    const power = boardPower(rails, this.opts.powerRail);
    if (rails.length && power.powerW === undefined) missing.push(`rail ${this.opts.powerRail}`);

    let nvpmodel: Readings['nvpmodel'];
    const nv = readNvpmodelFiles(fs);
    if (nv) nvpmodel = { ...nv, source: 'files' };
    else if (this.nvpmodelCmd) {
      const out = await run(this.nvpmodelCmd, ['-q']);
      const q = out === undefined ? undefined : parseNvpmodelQuery(out);
      if (q) nvpmodel = { ...q, source: 'nvpmodel' };
    }
    if (!nvpmodel) missing.push('nvpmodel');

    return {
      at: Date.now(),
      zones,
      maxTempC: watched.length ? Math.max(...watched.map((z) => z.tempC)) : undefined,
      cpufreq,
      throttle,
      rails,
      powerW: power.powerW,
      powerRail: power.rail,
      nvpmodel,
      missing,
    };
  }
}
