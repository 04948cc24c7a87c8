// `npm run bench`: qie against ONNX Runtime on the same models (not a test: it
// measures, it does not judge). For person_detect and mobilenet_v2 at 1 and 2
// threads: median warm latency of each engine, their ratio, qie's GMAC/s, load
// time, arena bytes and process RSS. Prints a table, writes bench-results/bench.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadModel, Model } from '../src';

// onnxruntime-node is a devDependency with no types of its own worth pulling in here
// eslint-disable-next-line @typescript-eslint/no-var-requires
const ort = require('onnxruntime-node');

const ROOT = path.resolve(__dirname, '..', '..');
const SHARED = path.resolve(ROOT, '..', 'shared', 'models');
const MODELS = [
  { name: 'person_detect', macs: 7_157_888, goldenCase: 'person_tflm_test', runs: 400 },
  { name: 'mobilenet_v2', macs: 300_774_272, goldenCase: 'random_0', runs: 60 },
];
const THREADS = [1, 2];
const ROUNDS = 4; // the engines alternate in rounds, so machine noise hits both alike

interface Row {
  model: string;
  threads: number;
  qieMedianMs: number;
  /** qie's engine time alone (Model.lastRunMs), without the worker-thread hand-off */
  qieEngineMs: number;
  ortMedianMs: number;
  ratio: number;
  engineRatio: number;
  qieGmacPerS: number;
  qieLoadMs: number;
  ortLoadMs: number;
  arenaBytes: number;
  rssMiB: number;
  kernels: string;
  runsEach: number;
  qieMatchesGolden: boolean;
  ortBytesDifferingFromGolden: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const now = () => Number(process.hrtime.bigint()) / 1e6;

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

async function timeRuns(n: number, once: () => Promise<unknown>, into: number[]): Promise<void> {
  for (let i = 0; i < n; ++i) {
    const t0 = now();
    await once();
    into.push(now() - t0);
  }
}

async function benchOne(spec: (typeof MODELS)[number], threads: number): Promise<Row> {
  const dir = path.join(SHARED, spec.name);
  const input = readFileSync(path.join(dir, 'golden', spec.goldenCase, 'input_0.bin'));
  const golden = readFileSync(path.join(dir, 'golden', spec.goldenCase, 'output_0.bin'));

  let t0 = now();
  const model: Model = await loadModel(path.join(dir, 'model.tflite'), { threads });
  const qieLoadMs = now() - t0;
  const qieInput = new Int8Array(input.buffer, input.byteOffset, input.byteLength);

  t0 = now();
  const session = await ort.InferenceSession.create(path.join(dir, 'model.qdq.onnx'), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const ortLoadMs = now() - t0;
  const feeds = { [session.inputNames[0]]: new ort.Tensor('int8', qieInput, session.inputMetadata[0].shape) };

  const [first] = await model.run([qieInput]);
  const qieMatchesGolden = Buffer.compare(Buffer.from(first.buffer, first.byteOffset, first.byteLength), golden) === 0;
  const ortOut = (await session.run(feeds))[session.outputNames[0]].data as Int8Array;
  let ortBytesDifferingFromGolden = 0;
  for (let i = 0; i < golden.length; ++i) if ((ortOut[i] & 0xff) !== golden[i]) ++ortBytesDifferingFromGolden;

  const qieTimes: number[] = [];
  const engineTimes: number[] = [];
  const ortTimes: number[] = [];
  const warm = Math.max(5, spec.runs / 10);
  await timeRuns(warm, () => model.run([qieInput]), []);
  await timeRuns(warm, () => session.run(feeds), []);
  const perRound = Math.ceil(spec.runs / ROUNDS);
  for (let r = 0; r < ROUNDS; ++r) {
    // ORT's idle workers spin for a while after a run; a pause lets them sleep
    // before qie's timed runs, so neither engine is timed against the other's threads
    await settle();
    await timeRuns(perRound, () => model.run([qieInput]).then(() => engineTimes.push(model.lastRunMs)), qieTimes);
    await settle();
    await timeRuns(perRound, () => session.run(feeds), ortTimes);
  }
  const qieMedianMs = median(qieTimes);
  const qieEngineMs = median(engineTimes);
  const ortMedianMs = median(ortTimes);
  const row: Row = {
    model: spec.name,
    threads,
    qieMedianMs,
    qieEngineMs,
    ortMedianMs,
    ratio: qieMedianMs / ortMedianMs,
    engineRatio: qieEngineMs / ortMedianMs,
    qieGmacPerS: spec.macs / (qieMedianMs / 1e3) / 1e9,
    qieLoadMs,
    ortLoadMs,
    arenaBytes: model.arenaBytes,
    rssMiB: process.memoryUsage().rss / (1 << 20),
    kernels: model.kernelFamily,
    runsEach: qieTimes.length,
    qieMatchesGolden,
    ortBytesDifferingFromGolden,
  };
  model.dispose();
  await session.release?.();
  return row;
}

function table(rows: Row[]): string {
  const head = ['model', 'thr', 'qie ms', 'ORT ms', 'qie/ORT', 'engine ms', 'engine/ORT', 'qie GMAC/s', 'qie load ms', 'ORT load ms', 'arena B', 'RSS MiB', 'kernels'];
  const cells = rows.map((r) => [
    r.model,
    String(r.threads),
    r.qieMedianMs.toFixed(3),
    r.ortMedianMs.toFixed(3),
    r.ratio.toFixed(2),
    r.qieEngineMs.toFixed(3),
    r.engineRatio.toFixed(2),
    r.qieGmacPerS.toFixed(1),
    r.qieLoadMs.toFixed(1),
    r.ortLoadMs.toFixed(1),
    String(r.arenaBytes),
    r.rssMiB.toFixed(0),
    r.kernels,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i < 1 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const spec of MODELS) for (const threads of THREADS) rows.push(await benchOne(spec, threads));
  const out = {
    date: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, onnxruntime: require('onnxruntime-node/package.json').version, loadAverage: os.loadavg() },
    method: `median of ${ROUNDS} alternating rounds per engine after warm-up; qie: Model.run, ORT: InferenceSession.run (intraOpNumThreads = threads, interOpNumThreads 1, graph optimization all), both awaited one at a time. ORT's Node binding runs the session on the event loop's own thread (in setImmediate); qie runs off the loop on a worker thread, so 'qie ms' includes that hand-off and 'engine ms' is qie_model_run alone (Model.lastRunMs); RSS is the whole process's`,
    rows,
  };
  console.log(table(rows));
  for (const r of rows) {
    if (!r.qieMatchesGolden) console.log(`WARNING: qie output of ${r.model} differs from the golden`);
  }
  const dir = path.join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'bench.json'), JSON.stringify(out, null, 1) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), path.join(dir, 'bench.json'))} (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
