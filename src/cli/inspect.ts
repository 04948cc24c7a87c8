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
  lines.push(`  #  ${'op'.padEnd(26)} ${'precision'.padEnd(9)} ${'kernel'.padEnd(40)} ${'out'.padEnd(20)} MACs`);
  for (const op of r.ops) {
    const out = r.tensors[op.outputs[0]];
    lines.push(
      `${String(op.index).padStart(3)}  ${op.kind.padEnd(26)} ${op.precision.padEnd(9)} ${op.kernel.padEnd(40)} ${(out.dtype + '[' + out.shape + ']').padEnd(20)} ${op.macs ? op.macs.toLocaleString('en-US') : ''}`,
    );
  }
  lines.push('');
  lines.push('tensors:');
  for (const t of r.tensors)
    lines.push(`${String(t.index).padStart(4)}  ${t.constant ? 'const' : 'act  '} ${t.dtype.padEnd(7)} [${t.shape}] ${quantText(t.quant?.scales, t.quant?.zeroPoints)}  ${t.name}`);
  return lines.join('\n') + '\n';
}
