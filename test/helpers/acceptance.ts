// Goldens that are not bit-exact references (mobilenet_v2_uint8's come from Arm NN,
// which requantizes in float): the manifest's `acceptance` asks for the expected
// top-1 class and at least 99% of output bytes within +-1 of the golden.
import { argmax } from '../../src';
import type { Manifest } from './shared';

/** Share of outputs that must be within 1 of the golden (the manifests say ">= 99%"). */
export const NEAR_SHARE = 0.99;

export function judgedByAcceptance(m: Manifest): boolean {
  return typeof m.acceptance === 'string';
}

/** Share of uint8/int8 elements within 1 of the golden. */
export function nearShare(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let near = 0;
  for (let i = 0; i < want.length; i++) if (Math.abs(got[i] - want[i]) <= 1) near++;
  return want.length ? near / want.length : 1;
}

/** undefined when the output meets the acceptance, else why not; `report` gets the measures. */
export function checkAcceptance(got: ArrayLike<number>, want: ArrayLike<number>, top1: number | undefined, report: (s: string) => void): string | undefined {
  if (got.length !== want.length) return `${got.length} elements, expected ${want.length}`;
  const share = nearShare(got, want);
  const best = argmax(got);
  report(`top-1 ${best} (expected ${top1}), ${(100 * share).toFixed(2)}% of bytes within +-1`);
  if (top1 !== undefined && best !== top1) return `top-1 is ${best}, expected ${top1}`;
  if (share < NEAR_SHARE) return `${(100 * share).toFixed(2)}% of bytes within +-1, need ${100 * NEAR_SHARE}%`;
  return undefined;
}
