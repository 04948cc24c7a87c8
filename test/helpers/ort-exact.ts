// Whether ONNX Runtime's integer convolutions are exact on this CPU. On x86-64
// without VNNI, its int8 GEMM multiplies u8 x s8 pairs with a 16-bit saturating
// add (vpmaddubsw), so large activations times large weights clip: its bytes then
// differ from the exact arithmetic (by up to tens of units on mobilenet_v2), and
// only tests on VNNI hosts can hold qie to ORT's bytes. qie itself is exact on
// every CPU (its AVX2 kernels widen to 16 bits first).
import { readFileSync } from 'node:fs';

export interface OrtExactness {
  exact: boolean;
  reason: string;
}

export function ortIntegerConvExact(): OrtExactness {
  if (process.arch !== 'x64') return { exact: true, reason: `${process.arch}: no saturating u8 x s8 path` };
  let flags = '';
  try {
    flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
  } catch {
    return { exact: false, reason: 'cannot read /proc/cpuinfo' };
  }
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  if (has('avx512_vnni') || has('avx_vnni')) return { exact: true, reason: 'x86-64 with VNNI' };
  return { exact: false, reason: 'x86-64 without VNNI: ONNX Runtime int8 convolutions saturate (vpmaddubsw)' };
}
