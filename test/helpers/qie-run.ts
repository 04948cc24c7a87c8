// The reference the daemon's replies are compared with: `qie run` on the same input files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CLI } from './daemon-proc';

export function qieRun(model: string, inputs: Buffer[], outputs: number): Buffer[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-run-'));
  try {
    const files = inputs.map((b, i) => {
      const f = path.join(dir, `input_${i}.bin`);
      writeFileSync(f, b);
      return f;
    });
    const r = spawnSync(process.execPath, [CLI, 'run', model, ...files.flatMap((f) => ['--in', f]), '--out', path.join(dir, 'out')], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`qie run failed: ${r.stderr}`);
    return Array.from({ length: outputs }, (_, i) => readFileSync(path.join(dir, 'out', `output_${i}.bin`)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
