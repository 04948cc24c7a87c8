// The governor's policy step by step (no I/O, explicit clock): the order of actions
// as heat rises, hysteresis and dwell against flapping, the hard limit, the power
// budget, firmware flags, recovery, and the duty pacer's arithmetic.
import test from 'ava';
import { Governor, GovernorSettings, LEVEL } from '../src/thermal/governor';
import { DutyPacer } from '../src/thermal/pacer';

const base: GovernorSettings = { setpointC: 70, hardLimitC: 80, hysteresisC: 3, minDwellMs: 1000, kp: 0.05, ki: 0.02, dutyMin: 0.1, fallbackBelowDuty: 0.5, hasFallback: true };

/** Feeds one temperature per 100 ms; returns the levels seen (each change once). */
function drive(g: Governor, temps: number[], t0 = 0): { levels: string[]; at: number[]; last: ReturnType<Governor['step']>; t: number } {
  const levels: string[] = [];
  const at: number[] = [];
  let last = g.current;
  let t = t0;
  for (const tempC of temps) {
    t += 100;
    last = g.step({ now: t, tempC });
    if (last.changed) {
      levels.push(last.levelName);
      at.push(t);
    }
  }
  return { levels, at, last, t };
}

test('rising heat takes the actions in order of cost: threads, duty, fallback, shed', (t) => {
  const g = new Governor(base);
  const ramp = Array.from({ length: 200 }, (_, i) => 65 + i * 0.07); // 65 -> 79 °C, below the hard limit
  const { levels, last } = drive(g, ramp);
  t.deepEqual(levels, ['threads', 'duty', 'fallback', 'shed']);
  t.is(last.level, LEVEL.shed);
  t.is(last.dutyCap, base.dutyMin);
});

test('without a fallback model the fallback level is skipped, up and down', (t) => {
  const g = new Governor({ ...base, hasFallback: false });
  const up = drive(g, Array.from({ length: 200 }, (_, i) => 65 + i * 0.07));
  t.deepEqual(up.levels, ['threads', 'duty', 'shed']);
  const down = drive(g, Array.from({ length: 600 }, () => 50), up.t);
  t.deepEqual(down.levels, ['duty', 'threads', 'normal']);
});

test('the hard limit goes straight to the shed level at minimum duty', (t) => {
  const g = new Governor(base);
  drive(g, [60, 60, 60]);
  const d = g.step({ now: 1000, tempC: 80.5 });
  t.true(d.changed);
  t.is(d.levelName, 'shed');
  t.is(d.dutyCap, base.dutyMin);
  t.regex(d.reason, /hard limit 80 °C reached \(80\.5 °C\)/);
});

test('a reading hovering around a threshold does not flap (hysteresis and dwell)', (t) => {
  const g = new Governor(base);
  // ±0.6 °C noise around the setpoint for 60 s
  const temps = Array.from({ length: 600 }, (_, i) => 70 + 0.6 * Math.sin(i * 1.7));
  const { levels } = drive(g, temps);
  t.true(levels.length <= 2, `levels: ${levels.join(' ')}`);
  t.false(levels.includes('normal'), 'never back to normal while at the setpoint');
});

test('levels come down one at a time, each after the dwell time, once cool enough', (t) => {
  const g = new Governor(base);
  const hot = drive(g, Array.from({ length: 100 }, () => 82));
  t.is(hot.last.levelName, 'shed');
  // cooled to 68 °C: below the setpoint but within the hysteresis, so threads stay reduced
  const warm = drive(g, Array.from({ length: 600 }, () => 68), hot.t);
  t.deepEqual(warm.levels, ['fallback', 'duty', 'threads']);
  t.is(warm.last.dutyCap, 1);
  const steps = [hot.at.at(-1)!, ...warm.at];
  for (let i = 1; i < steps.length; i++) t.true(steps[i] - steps[i - 1] >= base.minDwellMs, `steps at ${steps.join(', ')} ms`);
  const cold = drive(g, Array.from({ length: 100 }, () => 60), warm.t);
  t.deepEqual(cold.levels, ['normal']);
  t.regex(cold.last.reason, /eased/);
});

test('steps down wait for the dwell time even when it is cold at once', (t) => {
  const g = new Governor({ ...base, minDwellMs: 5000 });
  const hot = drive(g, Array.from({ length: 10 }, () => 85));
  t.is(hot.last.levelName, 'shed');
  const cold = drive(g, Array.from({ length: 40 }, () => 40), hot.t); // 4 s
  t.deepEqual(cold.levels, []);
  const later = drive(g, Array.from({ length: 20 }, () => 40), cold.t); // 6 s in
  t.deepEqual(later.levels, ['fallback']);
});

test('the power budget throttles like heat does', (t) => {
  const g = new Governor({ ...base, powerBudgetW: 5 });
  let d = g.step({ now: 0, tempC: 50, powerW: 4 });
  t.is(d.levelName, 'normal');
  for (let i = 1; i <= 50; i++) d = g.step({ now: i * 100, tempC: 50, powerW: 6.5 });
  t.true(d.level >= LEVEL.duty, d.levelName);
  t.regex(d.reason, /6\.50 W vs budget 5 W/);
});

test('firmware flags (under-voltage) count as being over the setpoint', (t) => {
  const g = new Governor(base);
  let d = g.step({ now: 0, tempC: 50 });
  for (let i = 1; i <= 30; i++) d = g.step({ now: i * 100, tempC: 50, firmwareFlags: ['underVoltage'] });
  t.true(d.level >= LEVEL.threads);
  t.regex(d.reason, /firmware reports underVoltage/);
});

test('no reading: the level is held, not dropped', (t) => {
  const g = new Governor(base);
  const hot = drive(g, Array.from({ length: 20 }, () => 85));
  const d = g.step({ now: hot.t + 60_000 });
  t.is(d.levelName, 'shed');
  t.regex(d.reason, /no temperature or power reading/);
});

test('the cap is pulled down to the measured duty at once (no slow wind-down through a dead zone)', (t) => {
  const g = new Governor({ ...base, hasFallback: false });
  let d = g.step({ now: 0, tempC: 70, duty: 0.3 });
  for (let i = 1; i <= 20; i++) d = g.step({ now: i * 100, tempC: 74, duty: 0.3 });
  t.is(d.levelName, 'duty');
  t.true(d.dutyCap <= 0.3 + 0.1 + 1e-9, `cap ${d.dutyCap}`);
});

test('the duty pacer lets runs take at most cap of the time', (t) => {
  const p = new DutyPacer(() => 1);
  p.reset(0);
  p.setCap(0.25, 0);
  // a run may start at once (empty bucket refills from here), takes 10 ms
  let now = 1;
  t.is(p.delayMs(now), 0);
  p.ran(10);
  // 10 ms of run time at 25% needs 40 ms of wall time before the next start
  const wait = p.delayMs(now);
  t.true(wait > 35 && wait <= 40, String(wait));
  now += wait;
  t.is(p.delayMs(now + 0.1), 0);
  // over a long stretch of back-to-back starts the busy share is the cap
  let busy = 0;
  for (let i = 0; i < 1000; i++) {
    const w = p.delayMs(now);
    now += w;
    p.ran(5);
    busy += 5;
    now += 5;
  }
  t.true(Math.abs(busy / now - 0.25) < 0.02, `${busy / now}`);
});

/** A first-order plant under full demand: tau dT/dt = ambient + R * (idle + load * cap) - T. */
function plant(g: Governor, ambientAt: (now: number) => number, steps: number, onStep: (now: number, T: number, d: ReturnType<Governor['step']>) => void, noise = 0): ReturnType<Governor['step']> {
  const R = 10;
  const tau = 20;
  let T = 50;
  let d = g.current;
  for (let step = 0; step < steps; step++) {
    const now = step * 100;
    // the sensor reads with a little noise (deterministic)
    d = g.step({ now, tempC: T + noise * Math.sin(step * 2.3), duty: d.dutyCap });
    onStep(now, T, d);
    const P = 0.5 + 4 * d.dutyCap;
    T += ((ambientAt(now) + R * P - T) / tau) * 0.1;
  }
  return d;
}

test('an equilibrium right at the threads/duty boundary does not flap between them', (t) => {
  // full demand would settle at 25.4 + 10 x 4.5 = 70.4 °C: holding 70 °C takes a cap of
  // 0.99, u just over the 0.1 where the duty level starts; the sensor is noisy
  const g = new Governor({ ...base, kp: 0.08, ki: 0.01 });
  const late: string[] = [];
  const last = plant(
    g,
    () => 25.4,
    12_000,
    (now, _T, d) => {
      if (d.changed && now > 300_000) late.push(`${now}: ${d.levelName}`);
    },
    0.4,
  );
  t.deepEqual(late, [], 'no level change once settled');
  t.true(last.level >= 1, last.levelName);
});

test('closed loop on a first-order plant: settles at the setpoint without oscillating, recovers when it cools', (t) => {
  // plant: tau dT/dt = ambient + R * (idle + load * duty) - T, demand always full
  const g = new Governor({ ...base, kp: 0.08, ki: 0.01 });
  const R = 10;
  const tau = 20;
  let ambient = 45;
  let T = 50;
  let d = g.current;
  const changesAfter: number[] = [];
  let maxT = 0;
  for (let step = 0; step < 6000; step++) {
    const now = step * 100;
    if (now === 400_000) ambient = 10;
    d = g.step({ now, tempC: T, duty: d.dutyCap });
    if (d.changed && now > 120_000 && now < 400_000) changesAfter.push(now);
    const P = 0.5 + 4 * d.dutyCap;
    T += ((ambient + R * P - T) / tau) * 0.1;
    if (now > 120_000 && now < 400_000) {
      maxT = Math.max(maxT, T);
      t.true(Math.abs(T - base.setpointC) < 1, `T ${T.toFixed(2)} at ${now} ms`);
    }
    t.true(T < base.hardLimitC);
  }
  t.deepEqual(changesAfter, [], 'no level change once settled');
  t.is(d.levelName, 'normal');
  t.is(d.dutyCap, 1);
});
