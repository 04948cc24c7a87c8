// Jetson power: INA3221 rails and the nvpmodel power mode.
// Rails come from the mainline hwmon driver (`/sys/class/hwmon/hwmon*/name` = ina3221;
// per channel N: `inN_label`, bus voltage `inN_input` in mV, current `currN_input` in mA)
// or from the L4T iio driver (`/sys/bus/i2c/drivers/ina3221x/*/iio:device*/rail_name_N`
// with `in_power N_input` in mW). The nvpmodel mode comes from `/var/lib/nvpmodel/status`
// (`pmode:0002 ...`) named through `/etc/nvpmodel.conf` (`< POWER_MODEL ID=2 NAME=15W >`),
// or from the text `nvpmodel -q` prints (`NV Power Mode: 15W` then the id).
import type { SysfsRoot } from './sysfs';

export interface Rail {
  /** Label of the rail (e.g. VDD_IN), or `<chip>:<channel>` when unlabelled. */
  name: string;
  /** Milliwatts. */
  powerMw: number;
  voltageMv?: number;
  currentMa?: number;
  source: 'hwmon' | 'iio';
}

/** A reading that cannot be a real rail (garbage, overflow) is dropped rather than summed. */
const MAX_RAIL_MW = 1_000_000;

function railOk(mw: number): boolean {
  return Number.isFinite(mw) && mw >= 0 && mw <= MAX_RAIL_MW;
}

export function readHwmonRails(fs: SysfsRoot): Rail[] {
  const rails: Rail[] = [];
  for (const dev of fs.list('/sys/class/hwmon', /^hwmon\d+$/)) {
    const base = `/sys/class/hwmon/${dev}`;
    if (fs.text(`${base}/name`) !== 'ina3221') continue;
    // channels 1-3 carry rails; in4-7 are shunt voltages / sums without a current pair
    for (let ch = 1; ch <= 3; ch++) {
      const mv = fs.int(`${base}/in${ch}_input`);
      const ma = fs.int(`${base}/curr${ch}_input`);
      if (mv === undefined || ma === undefined) continue;
      if (fs.text(`${base}/in${ch}_enable`) === '0') continue;
      const powerMw = (mv * ma) / 1000;
      if (!railOk(powerMw)) continue;
      rails.push({ name: fs.text(`${base}/in${ch}_label`) || `${dev}:${ch}`, powerMw, voltageMv: mv, currentMa: ma, source: 'hwmon' });
    }
  }
  return rails;
}

export function readIioRails(fs: SysfsRoot): Rail[] {
  const rails: Rail[] = [];
  const drv = '/sys/bus/i2c/drivers/ina3221x';
  for (const addr of fs.list(drv, /^\d+-[0-9a-f]{4}$/i)) {
    for (const iio of fs.list(`${drv}/${addr}`, /^iio:device\d+$/)) {
      const base = `${drv}/${addr}/${iio}`;
      for (const f of fs.list(base, /^rail_name_\d+$/)) {
        const n = f.slice('rail_name_'.length);
        const mw = fs.int(`${base}/in_power${n}_input`);
        if (mw === undefined || !railOk(mw)) continue;
        rails.push({
          name: fs.text(`${base}/${f}`) || `${addr}:${n}`,
          powerMw: mw,
          voltageMv: fs.int(`${base}/in_voltage${n}_input`),
          currentMa: fs.int(`${base}/in_current${n}_input`),
          source: 'iio',
        });
      }
    }
  }
  return rails;
}

export interface NvpModel {
  id: number;
  name?: string;
}

/** `< POWER_MODEL ID=2 NAME=15W >` lines of /etc/nvpmodel.conf: id -> name. */
export function parseNvpmodelConf(text: string): Map<number, string> {
  const modes = new Map<number, string>();
  for (const m of text.matchAll(/^<\s*POWER_MODEL\s+ID=(\d{1,4})\s+NAME=([^\s>]{1,64})\s*>/gm)) modes.set(Number(m[1]), m[2]);
  return modes;
}

/** `pmode:0002 fmode:...` in /var/lib/nvpmodel/status. */
export function parseNvpmodelStatus(text: string): number | undefined {
  const m = /(?:^|\s)pmode:(\d{1,4})(?:\s|$)/.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** `nvpmodel -q`: `NV Power Mode: 15W` and the id on the next line. */
export function parseNvpmodelQuery(text: string): NvpModel | undefined {
  const name = /NV Power Mode:\s*(\S{1,64})/.exec(text)?.[1];
  const id = /^\s*(\d{1,4})\s*$/m.exec(text)?.[1];
  if (id === undefined) return undefined;
  return { id: Number(id), name };
}

export function readNvpmodelFiles(fs: SysfsRoot): NvpModel | undefined {
  const status = fs.text('/var/lib/nvpmodel/status');
  const id = status === undefined ? undefined : parseNvpmodelStatus(status);
  if (id === undefined) return undefined;
  const conf = fs.text('/etc/nvpmodel.conf', 256 * 1024);
  return { id, name: conf ? parseNvpmodelConf(conf).get(id) : undefined };
}
