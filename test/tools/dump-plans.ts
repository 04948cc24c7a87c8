// Compiles every shared model to a plan file and writes the case list that the
// C plan runner (csrc/tools/run_plan.c) checks, so the goldens run without Node:
// under sanitizers and, for cross builds, under qemu-user.
//   node dist/test/tools/dump-plans.js OUT_DIR [MODEL ...]
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { compileModel } from '../../src/model/compile';

interface CaseTensor {
  file: string;
  dtype: string;
}
interface Manifest {
  cases: { name: string; inputs: CaseTensor[]; outputs: CaseTensor[] }[];
}

function main(): number {
  const [outDir, ...only] = process.argv.slice(2);
  if (!outDir) {
    process.stderr.write('usage: dump-plans OUT_DIR [MODEL ...]\n');
    return 2;
  }
  const models = path.resolve(process.cwd(), '..', 'shared', 'models');
  mkdirSync(outDir, { recursive: true });
  if (!existsSync(models)) {
    process.stdout.write(`NOTICE: ${models} is absent: no golden plans written\n`);
    writeFileSync(path.join(outDir, 'cases.txt'), '');
    return 0;
  }
  const lines: string[] = [];
  for (const name of readdirSync(models).sort()) {
    if (only.length && !only.includes(name)) continue;
    const dir = path.join(models, name);
    const file = path.join(dir, 'model.tflite');
    if (!existsSync(file)) continue;
    const { plan } = compileModel(readFileSync(file));
    const planFile = path.resolve(outDir, `${name}.plan`);
    writeFileSync(planFile, plan);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'golden', 'manifest.json'), 'utf8')) as Manifest;
    for (const c of manifest.cases) {
      lines.push(`case ${name}/${c.name} ${planFile}`);
      for (const i of c.inputs) lines.push(`in ${path.join(dir, 'golden', c.name, i.file)}`);
      for (const o of c.outputs) lines.push(`out ${path.join(dir, 'golden', c.name, o.file)} ${o.dtype === 'float32' ? 'f32' : 'raw'}`);
      lines.push('end');
    }
  }
  writeFileSync(path.join(outDir, 'cases.txt'), lines.join('\n') + '\n');
  process.stdout.write(`wrote ${lines.filter((l) => l.startsWith('case')).length} cases to ${outDir}/cases.txt\n`);
  return 0;
}

process.exitCode = main();
