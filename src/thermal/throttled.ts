// Raspberry Pi firmware throttle flags: the firmware's get_throttled value, from the
// sysfs file the raspberrypi firmware driver exposes (hex digits, e.g. `50005`) or
// from `vcgencmd get_throttled` (`throttled=0x50005`). Bits 0-3 say what is true now,
// bits 16-19 what has happened since boot (sticky).
export interface ThrottleFlags {
  raw: number;
  underVoltage: boolean;
  frequencyCapped: boolean;
  throttled: boolean;
  softTempLimit: boolean;
  occurred: { underVoltage: boolean; frequencyCapped: boolean; throttled: boolean; softTempLimit: boolean };
}

export const THROTTLE_BITS = { underVoltage: 0, frequencyCapped: 1, throttled: 2, softTempLimit: 3 } as const;
export const OCCURRED_SHIFT = 16;

/** Parses either form; undefined when the text is not a get_throttled value. */
export function parseThrottled(text: string): ThrottleFlags | undefined {
  const m = /^(?:throttled=)?(?:0x)?([0-9a-f]{1,8})$/i.exec(text.trim());
  if (!m) return undefined;
  return decodeThrottled(parseInt(m[1], 16));
}

export function decodeThrottled(raw: number): ThrottleFlags {
  const bit = (b: number) => ((raw >>> b) & 1) === 1;
  const b = THROTTLE_BITS;
  return {
    raw,
    underVoltage: bit(b.underVoltage),
    frequencyCapped: bit(b.frequencyCapped),
    throttled: bit(b.throttled),
    softTempLimit: bit(b.softTempLimit),
    occurred: {
      underVoltage: bit(b.underVoltage + OCCURRED_SHIFT),
      frequencyCapped: bit(b.frequencyCapped + OCCURRED_SHIFT),
      throttled: bit(b.throttled + OCCURRED_SHIFT),
      softTempLimit: bit(b.softTempLimit + OCCURRED_SHIFT),
    },
  };
}

/** The value a firmware would report for these "now" flags plus the sticky history. */
export function encodeThrottled(now: { underVoltage?: boolean; frequencyCapped?: boolean; throttled?: boolean; softTempLimit?: boolean }, occurredBefore = 0): number {
  let bits = 0;
  for (const [k, b] of Object.entries(THROTTLE_BITS)) if (now[k as keyof typeof now]) bits |= 1 << b;
  return (bits | (bits << OCCURRED_SHIFT) | (occurredBefore & (0xf << OCCURRED_SHIFT))) >>> 0;
}
