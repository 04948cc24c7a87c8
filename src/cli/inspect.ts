// The inspect report: one structure, printed as a table or as JSON.
import type { Model, OpReport, TensorMeta } from '../engine/model';
import type { Graph } from '../model/ir';

export interface InspectReport {
  format: string;
  arenaBytes: number;
  persistentBytes: number;
  planBytes: number;
  macs: number;
  /** The kernel family chosen for this CPU (or asked for). */
  kernels: string;
  inputs: TensorMeta[];
  outputs: TensorMeta[];
  ops: OpReport[];
  /** With --profile: each op's median time over `runs` runs at `threads` threads. */
  profile?: { runs: number; threads: number; opMs: number[] };
  tensors: { index: number; name: string; dtype: string; shape: number[]; constant: boolean; quant?: { scales: number[]; zeroPoints: number[]; axis: number } }[];
}

export function inspectReport(g: Graph, m: Model): InspectReport {
  return {
    format: m.format,
    arenaBytes: m.arenaBytes,
    persistentBytes: m.persistentBytes,
    planBytes: m.planBytes,
    macs: m.macs,
    kernels: m.kernelFamily,
    inputs: m.inputs,
    outputs: m.outputs,
    ops: m.ops,
    tensors: g.tensors.map((t, index) => ({
      index,
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      constant: !!t.data,
      quant: t.quant ? { scales: t.quant.scales, zeroPoints: t.quant.zeroPoints, axis: t.quant.axis } : undefined,
    })),
  };
}

const gmacs = (macs: number, ms: number) => (ms > 0 ? (macs / ms / 1e6).toFixed(1) : '-');

export interface KernelTime {
  kernel: string;
  ops: number;
  ms: number;
  macs: number;
}

/** A profiled report's op times summed per kernel, largest first. */
export function profileByKernel(r: Pick<InspectReport, 'ops' | 'profile'>): KernelTime[] {
  const by = new Map<string, KernelTime>();
  for (const op of r.ops) {
    const k = by.get(op.kernel) ?? { kernel: op.kernel, ops: 0, ms: 0, macs: 0 };
    k.ops += 1;
    k.ms += r.profile?.opMs[op.index] ?? 0;
    k.macs += op.macs ?? 0;
    by.set(op.kernel, k);
  }
  return [...by.values()].sort((a, b) => b.ms - a.ms);
}

function quantText(scales?: number[], zps?: number[]): string {
  if (!scales || !zps) return '';
  if (scales.length === 1) return `scale ${scales[0].toPrecision(6)} zp ${zps[0]}`;
  return `per-channel x${scales.length}`;
}

export function formatInspect(r: InspectReport): string {
  const lines: string[] = [];
  lines.push(`format ${r.format}   arena ${r.arenaBytes} bytes   prepared ${r.persistentBytes} bytes   MACs ${r.macs.toLocaleString('en-US')}   kernels ${r.kernels}`);
  const io = (label: string, ts: TensorMeta[]) =>
    ts.forEach((t, i) => lines.push(`${label} ${i}: ${t.name} ${t.dtype} [${t.shape}] ${quantText(t.scales, t.zeroPoints)}`));
  io('input ', r.inputs);
  io('output', r.outputs);
  lines.push('');
  const p = r.profile;
  const timeHead = p ? `${'ms'.padStart(8)} ${'GMAC/s'.padStart(7)}` : '';
  lines.push(`  #  ${'op'.padEnd(26)} ${'precision'.padEnd(9)} ${'kernel'.padEnd(40)} ${'out'.padEnd(20)} ${'MACs'.padStart(11)} ${timeHead}`.trimEnd());
  for (const op of r.ops) {
    const out = r.tensors[op.outputs[0]];
    const ms = p?.opMs[op.index];
    const time = ms === undefined ? '' : `${ms.toFixed(4).padStart(8)} ${op.macs ? gmacs(op.macs, ms).padStart(7) : ''}`;
    lines.push(
      `${String(op.index).padStart(3)}  ${op.kind.padEnd(26)} ${op.precision.padEnd(9)} ${op.kernel.padEnd(40)} ${(out.dtype + '[' + out.shape + ']').padEnd(20)} ${(op.macs ? op.macs.toLocaleString('en-US') : '').padStart(11)} ${time}`.trimEnd(),
    );
  }
  if (p) {
    lines.push('');
    lines.push(`profile: ${p.runs} runs at ${p.threads} thread(s), zero inputs; the median of each op, then summed per kernel`);
    const total = p.opMs.reduce((a, b) => a + b, 0);
    for (const k of profileByKernel(r)) {
      const share = ((100 * k.ms) / total).toFixed(1).padStart(5);
      lines.push(`  ${k.kernel.padEnd(40)} ${String(k.ops).padStart(3)} ops ${k.ms.toFixed(3).padStart(8)} ms ${share}%  ${k.macs ? gmacs(k.macs, k.ms) + ' GMAC/s' : ''}`.trimEnd());
    }
    lines.push(`  ${'total'.padEnd(40)} ${String(r.ops.length).padStart(3)} ops ${total.toFixed(3).padStart(8)} ms`);
  }
  lines.push('');
  lines.push('tensors:');
  for (const t of r.tensors)
    lines.push(`${String(t.index).padStart(4)}  ${t.constant ? 'const' : 'act  '} ${t.dtype.padEnd(7)} [${t.shape}] ${quantText(t.quant?.scales, t.quant?.zeroPoints)}  ${t.name}`);
  return lines.join('\n') + '\n';
}
