// The model fuzzer's worker: mutant i of the seeded sequence is the same in every
// process, so a parent can hand out index ranges, and a crash names the mutant
// that caused it (rerun it alone with FROM = i, TO = i + 1).
//   node dist/test/tools/fuzz-child.js run SEED FROM TO FAMILY[,FAMILY...]
//     loads and runs each mutant through loadModel on every family (odd mutants
//     with 2 threads, so the work splits are fuzzed too); prints
//     "begin I" before and "done I SOURCE KIND OUTCOMES" after each, where
//     OUTCOMES is, per family, "ran:<hash of the outputs>" or "refused:<code>";
//     "error I FAMILY MESSAGE" for a failure that is not a QieError.
//   node dist/test/tools/fuzz-child.js dump SEED FROM TO FILE
//     compiles each mutant and writes the plans the TypeScript side accepts into
//     FILE (u32 count, then u32 size + plan bytes each), for the C plan runner
//     under sanitizers (qie-run-plan --plans FILE).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { QieError } from '../../src';
import { compileModel } from '../../src/model/compile';
import { seededRandom } from '../../src/util/random';
import { tryOnFamily } from '../helpers/families';
import { drawSource, fuzzSources } from '../helpers/fuzz-sources';
import { mutateModel } from '../helpers/model-mutator';

const sources = fuzzSources();
// the plan bundle keeps its size down: person_detect's plans are 300 KB each
const bundleSources = sources.map((s) => (s.bytes.length > 100_000 ? { ...s, weight: 1 } : s));

/** Mutant i of the sequence `seed` (drawn as for the plan bundle with `forBundle`). */
export function mutant(seed: number, i: number, forBundle = false) {
  const r = seededRandom((Math.imul(seed, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0);
  const source = drawSource(forBundle ? bundleSources : sources, r);
  return { source, ...mutateModel(source.bytes, source.format, r) };
}

async function run(seed: number, from: number, to: number, families: string[]): Promise<void> {
  for (let i = from; i < to; i++) {
    process.stdout.write(`begin ${i}\n`);
    const m = mutant(seed, i);
    const outcomes: string[] = [];
    for (const family of families) {
      try {
        const o = await tryOnFamily(m.bytes, family, i, 1 + (i % 2));
        outcomes.push('ran' in o ? `ran:${createHash('sha1').update(o.ran.join('/')).digest('hex').slice(0, 12)}` : `refused:${o.refused}`);
      } catch (e) {
        process.stdout.write(`error ${i} ${family} ${String(e instanceof Error ? e.stack : e).replace(/\s+/g, ' ').slice(0, 400)}\n`);
        outcomes.push('error');
      }
    }
    process.stdout.write(`done ${i} ${m.source.name} ${m.kind} ${outcomes.join(' ')}\n`);
  }
}

function dump(seed: number, from: number, to: number, file: string): void {
  const plans: Uint8Array[] = [];
  for (let i = from; i < to; i++) {
    try {
      plans.push(compileModel(mutant(seed, i, true).bytes).plan);
    } catch (e) {
      if (!(e instanceof QieError)) throw e;
    }
  }
  const total = 4 + plans.reduce((s, p) => s + 4 + p.length, 0);
  const out = Buffer.alloc(total);
  out.writeUInt32LE(plans.length, 0);
  let at = 4;
  for (const p of plans) {
    out.writeUInt32LE(p.length, at);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  writeFileSync(file, out);
  process.stdout.write(`${to - from} mutated models: ${plans.length} compiled to plans in ${file}\n`);
}

async function main(): Promise<void> {
  const [mode, seed, from, to, last] = process.argv.slice(2);
  if (mode === 'run') await run(Number(seed), Number(from), Number(to), last.split(','));
  else if (mode === 'dump') dump(Number(seed), Number(from), Number(to), last);
  else throw new Error('usage: fuzz-child run|dump SEED FROM TO FAMILIES|FILE');
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`fuzz-child: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  });
}
