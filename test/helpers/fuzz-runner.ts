// Runs the model fuzzer's mutants in child processes (test/tools/fuzz-child.ts),
// a few at a time, and tallies what each family did with each. A child that dies
// (a signal, an exit other than 0) or goes quiet for `hangMs` is a crash or a hang
// of the mutant it last began: recorded with its seed and index, and a new child
// carries on from the next mutant.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { mutant } from '../tools/fuzz-child';

const CHILD = path.resolve('dist/test/tools/fuzz-child.js');

export interface FuzzFailure {
  index: number;
  what: string;
  source: string;
  kind: string;
  rerun: string;
}

export interface FuzzReport {
  models: number;
  byFormat: Record<string, number>;
  byKind: Record<string, number>;
  perFamily: Record<string, { ran: number; refused: number }>;
  refusedCodes: Record<string, number>;
  sources: number;
  crashes: FuzzFailure[];
  hangs: FuzzFailure[];
  errors: string[];
  disagreements: string[];
  ms: number;
}

const bump = (o: Record<string, number>, k: string) => (o[k] = (o[k] ?? 0) + 1);

export async function fuzzModels(opts: { seed: number; count: number; families: string[]; workers: number; hangMs: number }): Promise<FuzzReport> {
  const { seed, count, families, workers, hangMs } = opts;
  const started = Date.now();
  const report: FuzzReport = {
    models: 0,
    byFormat: {},
    byKind: {},
    perFamily: Object.fromEntries(families.map((f) => [f, { ran: 0, refused: 0 }])),
    refusedCodes: {},
    sources: 0,
    crashes: [],
    hangs: [],
    errors: [],
    disagreements: [],
    ms: 0,
  };
  const sources = new Set<string>();
  const failure = (index: number, what: string): FuzzFailure => {
    const m = mutant(seed, index);
    return { index, what, source: m.source.name, kind: m.kind, rerun: `node ${path.relative(process.cwd(), CHILD)} run ${seed} ${index} ${index + 1} ${families.join(',')}` };
  };

  /** Runs mutants [from, to) in one child; resolves with the index to resume at. */
  const runChild = (from: number, to: number) =>
    new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [CHILD, 'run', String(seed), String(from), String(to), families.join(',')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let current = -1;
      let last = from - 1;
      let stderr = '';
      let hung = false;
      let timer = setTimeout(onQuiet, hangMs);
      function onQuiet() {
        hung = true;
        child.kill('SIGKILL');
      }
      child.stderr.on('data', (d) => (stderr = (stderr + String(d)).slice(-2000)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        clearTimeout(timer);
        timer = setTimeout(onQuiet, hangMs);
        const [tag, idx, ...rest] = line.split(' ');
        const i = Number(idx);
        if (tag === 'begin') current = i;
        else if (tag === 'error') report.errors.push(`mutant ${i}: ${rest.join(' ')}`);
        else if (tag === 'done') {
          last = i;
          current = -1;
          const [source, kind, ...outcomes] = rest;
          const m = mutant(seed, i);
          report.models++;
          sources.add(source);
          bump(report.byFormat, m.source.format);
          bump(report.byKind, kind);
          outcomes.forEach((o, k) => {
            const f = report.perFamily[families[k]];
            if (o.startsWith('ran:')) f.ran++;
            else if (o.startsWith('refused:')) {
              f.refused++;
              bump(report.refusedCodes, o.slice(8));
            }
          });
          if (new Set(outcomes).size > 1) report.disagreements.push(`mutant ${i} (${source}, ${kind}): ${families.map((f, k) => `${f} ${outcomes[k]}`).join(', ')}`);
        }
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const at = current >= 0 ? current : last + 1;
        if (hung) {
          report.hangs.push(failure(at, `no progress for ${hangMs} ms`));
          return resolve(at + 1);
        }
        if (code !== 0 || signal) {
          report.crashes.push(failure(at, `child exited with ${signal ?? `code ${code}`}${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`));
          return resolve(at + 1);
        }
        resolve(to);
      });
    });

  const worker = async (from: number, to: number) => {
    let at = from;
    while (at < to) at = await runChild(at, to);
  };
  const per = Math.ceil(count / workers);
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w * per, Math.min(count, (w + 1) * per))));
  report.sources = sources.size;
  report.ms = Date.now() - started;
  return report;
}

/** The figures to quote, one line each. */
export function describe(r: FuzzReport): string[] {
  return [
    `${r.models} mutated models from ${r.sources} sources in ${(r.ms / 1000).toFixed(1)} s: ${Object.entries(r.byFormat).map(([k, v]) => `${v} ${k}`).join(', ')}; mutations: ${Object.entries(r.byKind).map(([k, v]) => `${v} ${k}`).join(', ')}`,
    ...Object.entries(r.perFamily).map(([f, c]) => `  ${f}: ${c.ran} ran, ${c.refused} refused`),
    `  refusals by code (all families): ${Object.entries(r.refusedCodes).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  crashes ${r.crashes.length}, hangs ${r.hangs.length}, non-QieError failures ${r.errors.length}, families disagreeing ${r.disagreements.length}`,
  ];
}
