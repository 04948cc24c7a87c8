// The sensor readers on sample files of each real format, written into a temp root:
// thermal zones, cpufreq policies, the Pi firmware's get_throttled (sysfs hex and
// vcgencmd's `throttled=0x...`, the latter through a stand-in vcgencmd on PATH),
// INA3221 rails through hwmon and through the L4T iio driver, nvpmodel files and
// `nvpmodel -q` text; garbage and absent sources are reported, never thrown.
import test from 'ava';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseNvpmodelConf, parseNvpmodelQuery, parseNvpmodelStatus, readHwmonRails, readIioRails } from '../src/thermal/power';
import { boardPower, Readers } from '../src/thermal/readers';
import { SysfsRoot } from '../src/thermal/sysfs';
import { decodeThrottled, encodeThrottled, parseThrottled } from '../src/thermal/throttled';

function tree(files: Record<string, string>): { root: string; cleanup(): void } {
  const root = mkdtempSync(path.join(tmpdir(), 'qie-sysfs-'));
  for (const [rel, text] of Object.entries(files)) {
    const f = path.join(root, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, text);
  }
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

const opts = (root: string) => ({ sysfsRoot: root, zoneTypes: [], useCommands: false });

test('get_throttled: both forms, every bit, and refusal of garbage', (t) => {
  const sysfs = parseThrottled('50005\n')!; // the firmware driver's sysfs file: hex digits
  const cmd = parseThrottled('throttled=0x50005')!; // vcgencmd get_throttled
  t.deepEqual(sysfs, cmd);
  t.is(sysfs.raw, 0x50005);
  t.true(sysfs.underVoltage);
  t.false(sysfs.frequencyCapped);
  t.true(sysfs.throttled);
  t.false(sysfs.softTempLimit);
  t.deepEqual(sysfs.occurred, { underVoltage: true, frequencyCapped: false, throttled: true, softTempLimit: false });
  const soft = parseThrottled('throttled=0x80008')!;
  t.true(soft.softTempLimit);
  t.true(soft.occurred.softTempLimit);
  t.false(soft.underVoltage);
  t.is(parseThrottled('0x0')!.raw, 0);
  const past = decodeThrottled(0xf0000);
  t.false(past.throttled);
  t.deepEqual(past.occurred, { underVoltage: true, frequencyCapped: true, throttled: true, softTempLimit: true });
  for (const bad of ['', 'throttled=', 'hot', '0x123456789', 'throttled=0xZZ', '-1']) t.is(parseThrottled(bad), undefined, bad);
  t.is(encodeThrottled({ frequencyCapped: true, softTempLimit: true }), 0xa000a);
  t.is(encodeThrottled({}, 0x20000), 0x20000, 'sticky bits stay');
});

test('thermal zones, cpufreq and the sysfs get_throttled file', async (t) => {
  const s = tree({
    'sys/class/thermal/thermal_zone0/type': 'cpu-thermal\n',
    'sys/class/thermal/thermal_zone0/temp': '61300\n',
    'sys/class/thermal/thermal_zone1/type': 'gpu-thermal\n',
    'sys/class/thermal/thermal_zone1/temp': '58000\n',
    'sys/class/thermal/thermal_zone2/type': 'broken\n',
    'sys/class/thermal/thermal_zone2/temp': 'ENODATA\n',
    'sys/class/thermal/thermal_zone3/type': 'absurd\n',
    'sys/class/thermal/thermal_zone3/temp': '999000\n',
    'sys/class/thermal/thermal_zone10/type': 'soc-thermal\n',
    'sys/class/thermal/thermal_zone10/temp': '-5000\n',
    'sys/devices/system/cpu/cpufreq/policy0/scaling_cur_freq': '1500000\n',
    'sys/devices/system/cpu/cpufreq/policy0/scaling_max_freq': '1800000\n',
    'sys/devices/system/cpu/cpufreq/policy4/scaling_cur_freq': '600000\n',
    'sys/devices/system/cpu/cpufreq/policy4/cpuinfo_max_freq': '2400000\n',
    'sys/devices/platform/soc/soc:firmware/get_throttled': '80008\n',
  });
  t.teardown(s.cleanup);
  const r = await new Readers(opts(s.root)).read();
  t.deepEqual(
    r.zones.map((z) => [z.zone, z.type, z.tempC]),
    [
      ['thermal_zone0', 'cpu-thermal', 61.3],
      ['thermal_zone1', 'gpu-thermal', 58],
      ['thermal_zone10', 'soc-thermal', -5],
    ],
  );
  t.is(r.maxTempC, 61.3);
  t.deepEqual(r.cpufreq, [
    { policy: 'policy0', curKHz: 1500000, maxKHz: 1800000 },
    { policy: 'policy4', curKHz: 600000, maxKHz: 2400000 },
  ]);
  t.is(r.throttle?.source, 'sysfs');
  t.true(r.throttle?.softTempLimit);
  t.deepEqual(r.missing, ['ina3221', 'nvpmodel']);
  const gpuOnly = await new Readers({ ...opts(s.root), zoneTypes: ['gpu-thermal'] }).read();
  t.is(gpuOnly.maxTempC, 58);
  const none = await new Readers({ ...opts(s.root), zoneTypes: ['nope'] }).read();
  t.is(none.maxTempC, undefined);
  t.true(none.missing.includes('thermal_zones of type nope'));
});

test('INA3221 through hwmon: labelled rails in mW, disabled and unpaired channels skipped', (t) => {
  const s = tree({
    'sys/class/hwmon/hwmon0/name': 'cpu_thermal\n',
    'sys/class/hwmon/hwmon1/name': 'ina3221\n',
    'sys/class/hwmon/hwmon1/in1_label': 'VDD_IN\n',
    'sys/class/hwmon/hwmon1/in1_input': '5080\n',
    'sys/class/hwmon/hwmon1/curr1_input': '1210\n',
    'sys/class/hwmon/hwmon1/in2_label': 'VDD_CPU_GPU_CV\n',
    'sys/class/hwmon/hwmon1/in2_input': '5072\n',
    'sys/class/hwmon/hwmon1/curr2_input': '400\n',
    'sys/class/hwmon/hwmon1/in3_label': 'VDD_SOC\n',
    'sys/class/hwmon/hwmon1/in3_input': '5070\n',
    'sys/class/hwmon/hwmon1/curr3_input': '300\n',
    'sys/class/hwmon/hwmon1/in3_enable': '0\n',
    'sys/class/hwmon/hwmon1/in7_label': 'sum of shunt voltages\n',
    'sys/class/hwmon/hwmon1/in7_input': '880\n',
  });
  t.teardown(s.cleanup);
  const rails = readHwmonRails(new SysfsRoot(s.root));
  t.deepEqual(
    rails.map((r) => [r.name, Math.round(r.powerMw), r.voltageMv, r.currentMa, r.source]),
    [
      ['VDD_IN', 6147, 5080, 1210, 'hwmon'],
      ['VDD_CPU_GPU_CV', 2029, 5072, 400, 'hwmon'],
    ],
  );
  t.deepEqual(boardPower(rails), { powerW: 6.1468, rail: 'VDD_IN' });
  t.deepEqual(boardPower(rails, 'VDD_CPU_GPU_CV'), { powerW: 2.02880, rail: 'VDD_CPU_GPU_CV' });
  t.deepEqual(boardPower(rails, 'NOPE'), {});
  t.deepEqual(boardPower([rails[1]]), { powerW: 2.0288, rail: 'sum' });
});

test('INA3221 through the L4T iio driver, and nvpmodel files', async (t) => {
  const dev = 'sys/bus/i2c/drivers/ina3221x/1-0040/iio:device0';
  const s = tree({
    [`${dev}/rail_name_0`]: 'POM_5V_IN\n',
    [`${dev}/in_power0_input`]: '3912\n',
    [`${dev}/in_voltage0_input`]: '5016\n',
    [`${dev}/in_current0_input`]: '780\n',
    [`${dev}/rail_name_1`]: 'POM_5V_GPU\n',
    [`${dev}/in_power1_input`]: '161\n',
    [`${dev}/rail_name_2`]: 'POM_5V_CPU\n',
    [`${dev}/in_power2_input`]: 'garbage\n',
    'etc/nvpmodel.conf': '< PARAM TYPE=FILE NAME=CPU_ONLINE >\nCORE_0 /sys/devices/system/cpu/cpu0/online\n\n< POWER_MODEL ID=0 NAME=MAXN >\nCPU_ONLINE CORE_0 1\n< POWER_MODEL ID=1 NAME=5W >\nCPU_ONLINE CORE_0 1\n< PM_CONFIG DEFAULT=0 >\n',
    'var/lib/nvpmodel/status': 'pmode:0001 fmode:quiet\n',
  });
  t.teardown(s.cleanup);
  const rails = readIioRails(new SysfsRoot(s.root));
  t.deepEqual(
    rails.map((r) => [r.name, r.powerMw, r.voltageMv, r.currentMa, r.source]),
    [
      ['POM_5V_IN', 3912, 5016, 780, 'iio'],
      ['POM_5V_GPU', 161, undefined, undefined, 'iio'],
    ],
  );
  const r = await new Readers(opts(s.root)).read();
  t.is(r.powerW, 3.912);
  t.is(r.powerRail, 'POM_5V_IN');
  t.deepEqual(r.nvpmodel, { id: 1, name: '5W', source: 'files' });
  t.deepEqual(r.missing, ['thermal_zones', 'cpufreq', 'get_throttled']);
});

test('nvpmodel text formats', (t) => {
  t.deepEqual([...parseNvpmodelConf('< POWER_MODEL ID=0 NAME=MAXN >\n< POWER_MODEL ID=2 NAME=15W >\n#< POWER_MODEL ID=9 NAME=X >\n')], [
    [0, 'MAXN'],
    [2, '15W'],
  ]);
  t.is(parseNvpmodelStatus('pmode:0002 fmode:cool'), 2);
  t.is(parseNvpmodelStatus('nothing here'), undefined);
  t.deepEqual(parseNvpmodelQuery('NV Power Mode: MAXN\n0\n'), { id: 0, name: 'MAXN' });
  t.is(parseNvpmodelQuery('NVPM ERROR: failed'), undefined);
});

test('vcgencmd and nvpmodel -q are used when installed and the files are absent', async (t) => {
  const s = tree({});
  t.teardown(s.cleanup);
  const bin = path.join(s.root, 'bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'vcgencmd'), '#!/bin/sh\n[ "$1" = get_throttled ] && echo "throttled=0x50005"\n');
  writeFileSync(path.join(bin, 'nvpmodel'), '#!/bin/sh\n[ "$1" = -q ] && printf "NV Power Mode: 15W\\n2\\n"\n');
  chmodSync(path.join(bin, 'vcgencmd'), 0o755);
  chmodSync(path.join(bin, 'nvpmodel'), 0o755);
  const saved = process.env.PATH;
  process.env.PATH = `${bin}${path.delimiter}${saved}`;
  let readers: Readers;
  try {
    readers = new Readers({ ...opts(s.root), useCommands: true });
  } finally {
    process.env.PATH = saved;
  }
  const r = await readers.read();
  t.is(r.throttle?.source, 'vcgencmd');
  t.is(r.throttle?.raw, 0x50005);
  t.true(r.throttle?.underVoltage);
  t.deepEqual(r.nvpmodel, { id: 2, name: '15W', source: 'nvpmodel' });
  t.false(r.missing.includes('get_throttled'));
});

test('an empty root: every source reported missing, nothing thrown', async (t) => {
  const s = tree({});
  t.teardown(s.cleanup);
  const r = await new Readers(opts(s.root)).read();
  t.deepEqual(r.missing, ['thermal_zones', 'cpufreq', 'get_throttled', 'ina3221', 'nvpmodel']);
  t.is(r.maxTempC, undefined);
  t.is(r.powerW, undefined);
  // an oversized "attribute" is cut, not read whole
  writeFileSync(path.join(s.root, 'big'), 'x'.repeat(100_000));
  t.is(new SysfsRoot(s.root).text('/big')!.length, 4096);
});
