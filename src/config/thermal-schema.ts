// The `thermal` section: where the sensors are and how the governor behaves
// (README "Thermal and power governor"). Absent: no governor, the daemon runs as before.
import { z } from 'zod';

export const thermalSchema = z
  .strictObject({
    /** false keeps the section but runs no governor. */
    enabled: z.boolean().default(true),
    /** Root under which /sys, /etc and /var/lib are read (a simulator's directory in tests). */
    sysfsRoot: z.string().min(1).default('/'),
    /** How often the sensors are read and the governor steps. */
    pollMs: z.number().int().min(20).max(60_000).default(1000),
    /** Thermal zone types the governor watches (empty: every zone). */
    zones: z.array(z.string().min(1).max(64)).max(64).default([]),
    /** Run `vcgencmd get_throttled` / `nvpmodel -q` when their files are absent. */
    useCommands: z.boolean().default(true),
    /** Temperature the governor holds under load (°C). */
    setpointC: z.number().min(20).max(150).default(70),
    /** At or above it: minimum duty at once and low-priority requests shed (°C). */
    hardLimitC: z.number().min(21).max(160).default(80),
    /** How far below a threshold a reading must fall before a level is left (°C). */
    hysteresisC: z.number().min(0).max(30).default(3),
    /** A level is held at least this long before stepping down one. */
    minDwellMs: z.number().int().min(0).max(3_600_000).default(10_000),
    /** Proportional gain: throttle per °C over the setpoint (1 = full throttle). */
    kp: z.number().min(0).max(10).default(0.05),
    /** Integral gain: throttle per °C·s over the setpoint. */
    ki: z.number().min(0).max(10).default(0.005),
    /** Board power the governor keeps under (W); absent: no power budget. */
    powerBudgetW: z.number().positive().max(10_000).optional(),
    /** INA3221 rail whose power is the board's (absent: VDD_IN / POM_5V_IN, else the sum of the rails). */
    powerRail: z.string().min(1).max(64).optional(),
    /** Kernel threads per model once the governor acts (capped at each model's `threads`). */
    threadsMin: z.number().int().min(1).max(64).default(1),
    /** The lowest inference duty cycle the governor goes to (fraction of full rate). */
    dutyMin: z.number().min(0.01).max(1).default(0.1),
    /** Models with a `fallbackPath` switch to it when the duty cap falls below this. */
    fallbackBelowDuty: z.number().min(0).max(1).default(0.5),
    /** At the shed level, models whose `priority` is below this get `throttled` replies. */
    shedBelowPriority: z.number().int().min(0).max(100).default(1),
  })
  .superRefine((t, ctx) => {
    if (t.hardLimitC <= t.setpointC) ctx.addIssue({ code: 'custom', path: ['hardLimitC'], message: 'must be above setpointC' });
  });

export type ThermalConfig = z.output<typeof thermalSchema>;
