// qie-fleet quantize: float model + calibration data -> full-integer .tflite,
// with a per-layer accuracy report and optional mixed precision.
import { writeFileSync } from 'node:fs';
import { formatReport, quantizeFloatModel } from '../../src/quant/ptq';
import { CALIB_METHODS, CalibMethod } from '../../src/quant/ranges';
import { readSamples } from '../../src/quant/samples';
import { numberOption, parseArgs, UsageError } from './args';
import { reportJson } from './json';
import { inputElements, readModel } from './model-file';
import { progressBar } from './progress';

export const usage = `qie-fleet quantize MODEL.tflite --calib DIR_OR_FILE --out OUT.tflite
    [--report REPORT.json] [--min-sqnr DB] [--io int8|float] [--calib-method minmax|percentile|mse]
  Calibration data: raw float32 .bin files, .npy, CSV (one sample a line) or JSON (array of samples);
  a directory means every such file in it. Every 5th sample is held back for the accuracy report.`;

export async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, ['calib', 'out', 'report', 'min-sqnr', 'io', 'calib-method']);
  if (p.positional.length !== 1) throw new UsageError('quantize takes one model file');
  const calib = p.options.get('calib');
  const out = p.options.get('out');
  if (!calib) throw new UsageError('--calib DIR_OR_FILE is required');
  if (!out) throw new UsageError('--out OUT.tflite is required');
  const io = p.options.get('io') ?? 'int8';
  if (io !== 'int8' && io !== 'float') throw new UsageError(`--io must be int8 or float, got ${io}`);
  const method = (p.options.get('calib-method') ?? 'minmax') as CalibMethod;
  if (!CALIB_METHODS.includes(method)) throw new UsageError(`--calib-method must be one of ${CALIB_METHODS.join(', ')}, got ${method}`);
  const minSqnr = numberOption(p, 'min-sqnr');

  const { graph } = readModel(p.positional[0]);
  const samples = readSamples(calib, inputElements(graph));
  const bar = progressBar();
  let result;
  try {
    result = await quantizeFloatModel(graph, samples, { io, method, minSqnr, onProgress: bar.update });
  } finally {
    bar.stop();
  }
  writeFileSync(out, result.tflite);
  const report = p.options.get('report');
  if (report) writeFileSync(report, reportJson({ model: p.positional[0], output: out, ...result.report }));
  console.log(`${p.positional[0]} -> ${out} (${result.tflite.length} bytes)`);
  console.log(formatReport(result.report));
  return 0;
}
