// The qie command line: `run` writes the golden bytes for every shared case,
// `inspect` reports ops, kernels, arena and MACs; bad use gives a clear error.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { checkAcceptance, judgedByAcceptance } from './helpers/acceptance';
import { compareOutput } from './helpers/compare';
import { listModels, loadManifest, modelDir, readCase, sharedDir } from './helpers/shared';

const casePath = (model: string, caseName: string, file: string) => path.join(modelDir(model), 'golden', caseName, file);

const CLI = path.resolve('dist/src/cli/qie.js');
const qie = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
const shared = sharedDir();

test('usage and unknown commands', (t) => {
  const help = qie('--help');
  t.is(help.status, 0);
  t.regex(help.stdout, /qie run MODEL/);
  const bad = qie('frobnicate');
  t.is(bad.status, 2);
  t.regex(bad.stderr, /unknown command/);
});

test('run refuses a missing model and a garbage file with a clear error', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const missing = qie('run', path.join(dir, 'nope.tflite'), '--in', 'x', '--out', dir);
  t.is(missing.status, 1);
  t.regex(missing.stderr, /bad_input: cannot read model/);
  writeFileSync(path.join(dir, 'junk.tflite'), Buffer.from('this is not a model at all'));
  const junk = qie('inspect', path.join(dir, 'junk.tflite'));
  t.is(junk.status, 1);
  t.regex(junk.stderr, /model_invalid/);
});

if (!shared) {
  test('cli goldens (skipped)', (t) => {
    t.log('NOTICE: ../shared is absent: CLI golden tests skipped');
    t.pass();
  });
} else {
  for (const name of listModels()) {
    test(`qie run matches the goldens: ${name}`, (t) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'qie-cli-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const manifest = loadManifest(name);
      const accept = judgedByAcceptance(manifest);
      for (const c of manifest.cases) {
        const data = readCase(name, c.name);
        const out = path.join(dir, c.name);
        // a stateful case: every invoke of one process, state carried over
        const invokes = data.invokes.length > 1 ? ['--invokes', String(data.invokes.length)] : [];
        const r = qie('run', `${shared}/models/${name}/model.tflite`, ...data.inputs.flatMap((i) => ['--in', casePath(name, c.name, i.file)]), ...invokes, '--out', out);
        t.is(r.status, 0, r.stderr);
        data.invokes.forEach((expected, n) => {
          expected.forEach((o, k) => {
            const got = readFileSync(path.join(out, invokes.length ? `output_${k}.inv${n + 1}.bin` : `output_${k}.bin`));
            const what = `${name}/${c.name} invoke ${n + 1} output ${k}`;
            const problem = accept ? checkAcceptance(got, o.data, data.expectedTop1, (s) => t.log(`${what}: ${s}`)) : compareOutput(got, o.data, o.dtype);
            t.is(problem, undefined, what);
          });
        });
        if (invokes.length) t.deepEqual(readFileSync(path.join(out, 'output_0.bin')), readFileSync(path.join(out, 'output_0.inv1.bin')), 'output_0.bin is invoke 1');
      }
    });
  }

  test('qie run --invokes refuses a count outside 1..1000', (t) => {
    const data = readCase('hello_world_int8', loadManifest('hello_world_int8').cases[0].name);
    const r = qie('run', `${shared}/models/hello_world_int8/model.tflite`, '--in', casePath('hello_world_int8', data.name, data.inputs[0].file), '--invokes', '0', '--json');
    t.is(r.status, 1);
    t.regex(r.stderr, /bad_option: --invokes must be an integer in 1\.\.1000/);
  });

  test('qie run --json prints dequantized outputs', (t) => {
    const data = readCase('person_detect', 'person_tflm_test');
    const r = qie('run', `${shared}/models/person_detect/model.tflite`, '--in', casePath('person_detect', 'person_tflm_test', data.inputs[0].file), '--json');
    t.is(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    t.deepEqual(report.outputs[0].data, [-113, 113]);
    t.true(Math.abs(report.outputs[0].values[1] - 0.94140625) < 1e-6);
  });

  test('qie run refuses the wrong input size', (t) => {
    const data = readCase('micro_speech', 'yes_1000ms');
    const r = qie('run', `${shared}/models/person_detect/model.tflite`, '--in', casePath('micro_speech', 'yes_1000ms', data.inputs[0].file), '--json');
    t.is(r.status, 1);
    t.regex(r.stderr, /bad_input: input 0 .* must hold 9216 bytes/);
  });

  test('qie inspect reports kernels, arena and MACs', (t) => {
    const r = qie('inspect', `${shared}/models/person_detect/model.tflite`, '--json', '--kernels', 'ref');
    t.is(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    t.is(report.macs, 7_157_888);
    t.is(report.kernels, 'ref');
    t.true(report.arenaBytes > 0 && report.arenaBytes <= loadManifest('person_detect').arena_used_bytes!);
    t.is(report.ops.length, 31);
    t.true(report.ops.every((o: { kernel: string }) => /__ref$|^[A-Z_]+$/.test(o.kernel)));
    t.is(report.ops.find((o: { kind: string }) => o.kind === 'CONV_2D').kernel, 'qs8_conv_nhwc__ref');
    const text = qie('inspect', `${shared}/models/person_detect/model.tflite`);
    t.is(text.status, 0);
    t.regex(text.stdout, /arena \d+ bytes/);
    t.regex(text.stdout, /DEPTHWISE_CONV_2D/);
  });

  test('qie inspect --profile adds the time of each op and per kernel', (t) => {
    const model = `${shared}/models/person_detect/model.tflite`;
    const r = qie('inspect', model, '--json', '--profile', '--runs', '3', '--threads', '2');
    t.is(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    t.is(report.profile.runs, 3);
    t.is(report.profile.threads, 2);
    t.is(report.profile.opMs.length, report.ops.length);
    t.true(report.profile.opMs.every((ms: number) => Number.isFinite(ms) && ms >= 0));
    const text = qie('inspect', model, '--profile', '--runs', '2');
    t.is(text.status, 0, text.stderr);
    t.regex(text.stdout, /GMAC\/s/);
    t.regex(text.stdout, /profile: 2 runs at 1 thread\(s\)/);
    t.regex(text.stdout, /\n {2}total +31 ops +\d+\.\d+ ms/);
    const bad = qie('inspect', model, '--runs', '2');
    t.not(bad.status, 0);
    t.regex(bad.stderr, /bad_option: --runs and --threads go with --profile/);
    const zero = qie('inspect', model, '--profile', '--runs', '0');
    t.not(zero.status, 0);
    t.regex(zero.stderr, /bad_option: profile runs must be an integer/);
  });

  test('qie inspect counts mobilenet_v2 MACs', (t) => {
    const r = qie('inspect', `${shared}/models/mobilenet_v2/model.tflite`, '--json');
    t.is(r.status, 0, r.stderr);
    t.is(JSON.parse(r.stdout).macs, 300_774_272);
  });
}
