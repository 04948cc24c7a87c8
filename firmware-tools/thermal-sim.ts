// `npm run demo:thermal`: the thermal governor against the simulator, second by
// second. The daemon runs in process on the simulator's sysfs files under a request
// flood; the box starts cool (ambient 10 °C), gets hot (45 °C), then cools again. Prints the
// temperature, the governor's level and cap, and throughput; the daemon's own log
// lines about levels go to stderr. Options: --hot-s N, --cool-s N, --no-fallback.
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Scenario, sleep } from './thermal/scenario';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'hot-s': { type: 'string', default: '20' }, 'cool-s': { type: 'string', default: '8' }, 'no-fallback': { type: 'boolean' } } });
  const hotS = Number(values['hot-s']);
  const coolS = Number(values['cool-s']);
  if (!(hotS > 0 && hotS <= 3600 && coolS > 0 && coolS <= 3600)) throw new Error('--hot-s and --cool-s take 1..3600 seconds');
  const log = pino({ level: 'info', formatters: { level: (l) => ({ level: l }) } }, pino.destination(2));
  const s = new Scenario({
    thermal: { pollMs: 50, setpointC: 70, hardLimitC: 80, hysteresisC: 2, minDwellMs: 500, kp: 0.08, ki: 0.1, dutyMin: 0.05, fallbackBelowDuty: 0.5 },
    sim: { ambientC: 10, rCPerW: 10, cJPerC: 0.15, idleW: 0.5, loadW: 5 },
    fallbackLayers: values['no-fallback'] ? 0 : 8,
    log,
  });
  await s.start();
  const flood = await s.flood();
  console.log('   t  ambient  temp °C  power W  level     cap   fallback  ok/s  throttled/s  firmware');
  const t0 = performance.now();
  const line = () => {
    const now = performance.now();
    const th = s.thermal()!;
    const last = s.sim.samples.at(-1)!;
    const win = flood.replies.filter((r) => r.at >= now - 1000);
    console.log(
      [
        ((now - t0) / 1000).toFixed(0).padStart(4),
        s.sim.ambientC.toFixed(0).padStart(7),
        last.tempC.toFixed(1).padStart(8),
        last.powerW.toFixed(2).padStart(8),
        ' ' + th.governor.level.padEnd(9),
        th.governor.dutyCap.toFixed(2).padStart(4),
        (th.governor.fallback.length ? 'yes' : 'no').padStart(9),
        String(win.filter((r) => r.status === 'ok').length).padStart(5),
        String(win.filter((r) => r.status === 'throttled').length).padStart(12),
        '  0x' + last.throttled.toString(16),
      ].join(' '),
    );
  };
  for (const [ambient, secs] of [
    [10, coolS],
    [45, hotS],
    [10, coolS],
  ]) {
    s.sim.ambientC = ambient;
    for (let i = 0; i < secs; i++) {
      await sleep(1000);
      line();
    }
  }
  await flood.stop();
  console.log(`sent ${flood.sent}, answered ${flood.replies.length} (${JSON.stringify(flood.counts())}), unanswered ${flood.unanswered}`);
  await s.stop();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
