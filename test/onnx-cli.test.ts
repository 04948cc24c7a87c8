// `qie run` and `qie inspect` take .onnx files; inspect shows each op's
// precision (int8 or float32) and --float-ops moves a layer to float32.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../src';
import { asBytes } from '../src/engine/tensors';
import { modelDir, modelPath, readCase, sharedDir } from './helpers/shared';

const CLI = path.resolve('dist/src/cli/qie.js');
const qie = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });

if (!sharedDir()) {
  test('onnx cli (skipped)', (t) => {
    t.log('NOTICE: ../shared is absent: ONNX CLI tests skipped');
    t.pass();
  });
} else {
  const onnxFile = modelPath('person_detect', 'model.qdq.onnx');

  test('qie inspect reads .onnx and reports precision per op', (t) => {
    const r = qie('inspect', onnxFile, '--json');
    t.is(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    t.is(report.format, 'onnx');
    t.is(report.macs, 7_157_888);
    const convs = report.ops.filter((o: { kind: string }) => o.kind.includes('CONV'));
    t.is(convs.length, 28);
    t.true(convs.every((o: { precision: string }) => o.precision === 'int8'));
    const text = qie('inspect', onnxFile);
    t.is(text.status, 0);
    t.regex(text.stdout, /format onnx/);
    t.regex(text.stdout, /precision/);
    t.regex(text.stdout, /CONV_2D\s+int8\s+qs8_conv/);
  });

  test('qie inspect --float-ops keeps the named conv in float32', (t) => {
    const r = qie('inspect', onnxFile, '--json', '--float-ops', 'Conv_21');
    t.is(r.status, 0, r.stderr);
    const ops = JSON.parse(r.stdout).ops as { name: string; precision: string; kernel: string }[];
    const conv = ops.find((o) => o.name === 'Conv_21')!;
    t.is(conv.precision, 'float32');
    t.regex(conv.kernel, /^f32_conv/);
    const bad = qie('inspect', onnxFile, '--float-ops', 'Conv_nope');
    t.is(bad.status, 1);
    t.regex(bad.stderr, /bad_option: .*Conv_nope/);
  });

  test('qie run reads .onnx and writes what the API computes', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'qie-onnx-cli-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const data = readCase('person_detect', 'person_tflm_test');
    const input = path.join(modelDir('person_detect'), 'golden', 'person_tflm_test', data.inputs[0].file);
    const r = qie('run', onnxFile, '--in', input, '--out', dir);
    t.is(r.status, 0, r.stderr);
    const model = await loadModel(onnxFile);
    t.teardown(() => model.dispose());
    const [out] = await model.run([data.inputs[0].data]);
    t.deepEqual(readFileSync(path.join(dir, 'output_0.bin')), Buffer.from(asBytes(out)));
    const json = qie('run', onnxFile, '--in', input, '--json');
    t.is(json.status, 0, json.stderr);
    t.deepEqual(JSON.parse(json.stdout).outputs[0].shape, [1, 2]);
  });
}
