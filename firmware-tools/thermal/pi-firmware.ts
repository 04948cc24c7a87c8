// What a Raspberry Pi's firmware does as the SoC heats: at 80 °C it flags the soft
// temperature limit and caps the ARM clock, at 85 °C it throttles harder; every flag
// also sets its sticky "has occurred" bit. Under-voltage comes from the supply.
import { encodeThrottled } from '../../src/thermal/throttled';

export const SOFT_LIMIT_C = 80;
export const THROTTLE_C = 85;

export interface FirmwareState {
  /** get_throttled value. */
  throttled: number;
  /** The clock the firmware allows (kHz). */
  curKHz: number;
}

export class PiFirmware {
  private sticky = 0;

  constructor(
    readonly maxKHz = 1_800_000,
    readonly cappedKHz = 1_200_000,
    readonly minKHz = 600_000,
  ) {}

  step(tempC: number, underVoltage: boolean): FirmwareState {
    const soft = tempC >= SOFT_LIMIT_C;
    const hard = tempC >= THROTTLE_C;
    const throttled = encodeThrottled({ underVoltage, frequencyCapped: soft, throttled: hard || underVoltage, softTempLimit: soft }, this.sticky);
    this.sticky = throttled;
    return { throttled, curKHz: hard || underVoltage ? this.minKHz : soft ? this.cappedKHz : this.maxKHz };
  }
}
