// qie-fleet compare: two models of the same graph (say float and int8) run on the
// same samples; per layer SQNR of B against A, and end-to-end agreement.
import { writeFileSync } from 'node:fs';
import { compareGraphs } from '../../src/quant/compare';
import { formatLayers } from '../../src/quant/ptq';
import { readSamples } from '../../src/quant/samples';
import { parseArgs, UsageError } from './args';
import { reportJson } from './json';
import { inputElements, readModel } from './model-file';
import { progressBar } from './progress';

export const usage = `qie-fleet compare A.tflite B.tflite --calib DIR_OR_FILE [--report REPORT.json]
  Layers are matched by output tensor name (by position when no name matches).`;

export async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, ['calib', 'report']);
  if (p.positional.length !== 2) throw new UsageError('compare takes two model files');
  const calib = p.options.get('calib');
  if (!calib) throw new UsageError('--calib DIR_OR_FILE is required');
  const a = readModel(p.positional[0]).graph;
  const b = readModel(p.positional[1]).graph;
  const samples = readSamples(calib, inputElements(a));
  const bar = progressBar();
  let cmp;
  try {
    cmp = await compareGraphs(a, b, samples, (d, t) => bar.update('evaluate', d, t));
  } finally {
    bar.stop();
  }
  if (cmp.layers.length === 0) console.log('no layers matched by name or position: are these models of the same graph?');
  else console.log(formatLayers(cmp.layers));
  const e = cmp.endToEnd;
  console.log(`end to end: top-1 agreement ${(100 * e.top1Agreement).toFixed(1)}% of ${e.samples}; output max abs error ${e.maxAbsError.toPrecision(3)}, mean abs error ${e.meanAbsError.toPrecision(3)}`);
  const report = p.options.get('report');
  if (report) writeFileSync(report, reportJson({ a: p.positional[0], b: p.positional[1], ...cmp }));
  return 0;
}
