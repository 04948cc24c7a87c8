// What the packing kernels assume of an op's weights and bias is checked when the
// op is bound, the same way on every family: weights or a bias that are not
// constants of the model (a graph input, another op's output, recurrent state)
// cannot be packed at load, so every family runs the reference kernel, which reads
// them at each run, and gives its bytes; what no kernel can run is refused alike.
// Each model runs in a child process, so a crash shows as a failed test.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BINDING_MODELS } from './helpers/binding-models';
import { availableFamilies } from './helpers/families';
import { buildTflite } from './helpers/tflite-builder';

const PROBE = path.resolve('dist/test/tools/probe-families.js');
const families = availableFamilies();
const dir = mkdtempSync(path.join(tmpdir(), 'qie-binding-'));

interface Probe {
  family: string;
  ran?: string[];
  refused?: string;
}

test('the families found here', (t) => {
  t.log(`families: ${families.join(', ')}`);
  t.is(families[0], 'ref');
});

for (const [name, m] of Object.entries(BINDING_MODELS)) {
  const title = m.expect === 'ref_bytes' ? 'runs with the reference bytes' : `is ${m.expect}`;
  test(`${m.what} ${title} on every family`, (t) => {
    const file = path.join(dir, `${name}.tflite`);
    writeFileSync(file, buildTflite(m.spec()));
    const r = spawnSync(process.execPath, [PROBE, file, families.join(',')], { encoding: 'utf8', timeout: 60_000 });
    t.is(r.signal, null, `${name}: the engine died (${r.signal}); stderr: ${r.stderr}`);
    t.is(r.status, 0, `${name}: ${r.stderr}`);
    const got = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Probe);
    t.deepEqual(got.map((p) => p.family), families, 'every family reported');
    if (m.expect !== 'ref_bytes') {
      for (const p of got) t.deepEqual(p, { family: p.family, refused: m.expect });
      return;
    }
    const [ref, ...others] = got;
    t.truthy(ref?.ran, `runs on ref (${ref?.refused})`);
    for (const p of others) t.deepEqual(p, { ...ref, family: p.family }, `${p.family} gives the reference's bytes`);
  });
}
