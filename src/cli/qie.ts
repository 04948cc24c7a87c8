#!/usr/bin/env node
// qie command line: run a model on raw tensor files, or inspect it.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, Model } from '../engine/model';
import { asBytes, dequantize } from '../engine/tensors';
import { QieError } from '../errors';
import { compileModel } from '../model/compile';
import { formatInspect, inspectReport } from './inspect';

const USAGE = `usage:
  qie run MODEL --in FILE [--in FILE ...] [--out DIR] [--json] [--invokes K] [--kernels FAMILY] [--threads N] [--float-ops A,B]
  qie inspect MODEL [--json] [--kernels FAMILY] [--float-ops A,B] [--profile [--runs N] [--threads N]]
  qie serve --config FILE
  qie status --broker URL --device ID [--json]

  run      reads raw little-endian tensor bytes for each model input (in order), runs the
           model and writes DIR/output_0.bin, DIR/output_1.bin, ...; --json prints the
           outputs with dequantized values instead (or as well, with --out). --invokes K
           runs K times on the same inputs (recurrent state carries over) and also writes
           DIR/output_N.inv<k>.bin for every invoke k = 1..K; --json shows invoke 1.
  inspect  prints ops (with the kernel chosen for each), tensors, quantization, the
           arena size and the multiply-accumulate count; --json for machines. --profile
           also runs the model (zero inputs, N times, default 50) and shows each op's
           median time and GMAC/s, and the time per kernel.
  serve    runs the MQTT inference daemon until SIGTERM; SIGHUP reloads the config
           (README "Gateway daemon", "Configuration", "MQTT topics").
  status   prints a daemon's retained status (with the thermal governor's readings and level).
  --float-ops  (ONNX) keeps the named quantized layers (ONNX node names) in float32.
  --kernels  auto (default, or QIE_KERNELS), ref, avx2, avx512vnni, neon, neondot
  --threads  kernel threads, 1..64 (default 1)`;

function floatOpsOption(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

async function cmdRun(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      in: { type: 'string', multiple: true },
      out: { type: 'string' },
      json: { type: 'boolean' },
      kernels: { type: 'string' },
      threads: { type: 'string' },
      invokes: { type: 'string' },
      'float-ops': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new QieError('bad_option', 'run takes exactly one MODEL');
  const invokes = values.invokes === undefined ? 1 : Number(values.invokes);
  if (!Number.isInteger(invokes) || invokes < 1 || invokes > 1000) throw new QieError('bad_option', '--invokes must be an integer in 1..1000');
  if (!values.out && !values.json) throw new QieError('bad_option', 'run needs --out DIR or --json');
  const model = await loadModel(positionals[0], {
    kernels: values.kernels,
    threads: values.threads ? Number(values.threads) : undefined,
    floatOps: floatOpsOption(values['float-ops']),
  });
  try {
    const files = values.in ?? [];
    if (files.length !== model.inputs.length)
      throw new QieError('bad_input', `the model has ${model.inputs.length} input(s); got ${files.length} --in file(s)`);
    const inputs = await Promise.all(
      files.map(async (f) => {
        try {
          return await readFile(f);
        } catch (e) {
          throw new QieError('bad_input', `cannot read ${f}: ${(e as Error).message}`);
        }
      }),
    );
    const started = process.hrtime.bigint();
    const outputs = await model.run(inputs);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (values.out) await mkdir(values.out, { recursive: true });
    const write = (outs: typeof outputs, suffix: string) =>
      Promise.all(outs.map((o, i) => writeFile(path.join(values.out!, `output_${i}${suffix}.bin`), asBytes(o))));
    if (values.out) await write(outputs, '');
    // later invokes see the state the earlier ones left (as TFLite Micro's interpreter does)
    if (values.out && invokes > 1) await write(outputs, '.inv1');
    for (let k = 2; k <= invokes; k++) {
      const again = await model.run(inputs);
      if (values.out) await write(again, `.inv${k}`);
    }
    if (values.json) {
      const report = outputs.map((o, i) => {
        const m = model.outputs[i];
        const raw = Array.from(o as ArrayLike<number>, Number);
        const quantized = m.scale !== undefined && m.dtype !== 'float32';
        return {
          name: m.name,
          dtype: m.dtype,
          shape: m.shape,
          scale: m.scale,
          zeroPoint: m.zeroPoint,
          data: raw,
          values: quantized ? Array.from(dequantize(raw, { scale: m.scale!, zeroPoint: m.zeroPoint! })) : raw,
        };
      });
      process.stdout.write(JSON.stringify({ outputs: report, latencyMs: ms }, null, 1) + '\n');
    }
  } finally {
    model.dispose();
  }
}

async function cmdInspect(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      kernels: { type: 'string' },
      'float-ops': { type: 'string' },
      profile: { type: 'boolean' },
      runs: { type: 'string' },
      threads: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new QieError('bad_option', 'inspect takes exactly one MODEL');
  if (!values.profile && (values.runs !== undefined || values.threads !== undefined))
    throw new QieError('bad_option', '--runs and --threads go with --profile');
  const bytes = await readFile(positionals[0]).catch((e: Error) => {
    throw new QieError('bad_input', `cannot read ${positionals[0]}: ${e.message}`);
  });
  const compiled = compileModel(bytes, { floatOps: floatOpsOption(values['float-ops']) });
  const model = new Model(compiled.graph, compiled.plan, compiled.format, {
    kernels: values.kernels,
    threads: values.threads !== undefined ? Number(values.threads) : undefined,
  });
  try {
    const report = inspectReport(compiled.graph, model);
    if (values.profile) {
      const runs = values.runs !== undefined ? Number(values.runs) : 50;
      report.profile = { runs, threads: model.threads, opMs: await model.profile(runs) };
    }
    process.stdout.write(values.json ? JSON.stringify(report, null, 1) + '\n' : formatInspect(report));
  } finally {
    model.dispose();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'run':
        await cmdRun(rest);
        return 0;
      case 'inspect':
        await cmdInspect(rest);
        return 0;
      case 'status':
        return await (require('./status') as typeof import('./status')).cmdStatus(rest);
      case 'serve':
        // loaded on demand: mqtt, zod and pino cost `run` and `inspect` nothing
        return await (require('../daemon/serve') as typeof import('../daemon/serve')).serve(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return cmd === undefined ? 2 : 0;
      default:
        process.stderr.write(`qie: unknown command '${cmd}'\n${USAGE}\n`);
        return 2;
    }
  } catch (e) {
    const code = e instanceof QieError ? e.code : (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 'bad_option' : 'internal';
    process.stderr.write(`qie: ${code}: ${(e as Error).message}\n`);
    return code === 'internal' ? 70 : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
