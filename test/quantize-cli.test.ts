// qie-fleet quantize and compare from the command line, on a project-built model:
// the output loads in qie, the JSON report carries the figures, mixed precision
// says what it kept in float, and bad calibration data exits 1 with a clear error.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadModel } from '../src';
import { sensitiveMlp, uniformSamples } from './helpers/quant-models';

const CLI = path.resolve('dist/firmware-tools/qie-fleet.js');
const fleet = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

function workdir(t: import('ava').ExecutionContext): { dir: string; model: string; calib: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-fleet-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const model = path.join(dir, 'float.tflite');
  writeFileSync(model, sensitiveMlp());
  const calib = path.join(dir, 'calib.json');
  writeFileSync(calib, JSON.stringify(uniformSamples(100, 8, 3).map((s) => Array.from(s))));
  return { dir, model, calib };
}

test('usage, unknown commands and missing options', (t) => {
  const help = fleet('--help');
  t.is(help.status, 0);
  t.regex(help.stdout, /qie-fleet quantize MODEL/);
  t.regex(help.stdout, /qie-fleet compare A/);
  t.is(fleet('frobnicate').status, 2);
  const none = fleet();
  t.is(none.status, 2);
  t.regex(none.stderr, /usage: qie-fleet <command>/);
  const missing = fleet('quantize', 'm.tflite', '--out', 'x.tflite');
  t.is(missing.status, 2);
  t.regex(missing.stderr, /--calib DIR_OR_FILE is required/);
  const bad = fleet('quantize', 'm.tflite', '--calib', 'c', '--out', 'o', '--io', 'int4');
  t.is(bad.status, 2);
  t.regex(bad.stderr, /--io must be int8 or float/);
});

test('quantize writes an int8 model and a JSON report; compare reads both models', async (t) => {
  const { dir, model, calib } = workdir(t);
  const out = path.join(dir, 'int8.tflite');
  const report = path.join(dir, 'report.json');
  const r = fleet('quantize', model, '--calib', calib, '--out', out, '--report', report, '--calib-method', 'mse');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /SQNR dB/);
  t.regex(r.stdout, /end to end: top-1 agreement/);
  const json = JSON.parse(readFileSync(report, 'utf8'));
  t.is(json.method, 'mse');
  t.is(json.calibrationSamples, 80);
  t.is(json.evaluationSamples, 20);
  t.true(json.heldBack);
  t.is(json.layers.length, 3);
  t.true(json.layers.every((l: { precision: string; sqnrDb: number }) => l.precision === 'int8' && typeof l.sqnrDb === 'number'));
  t.is(typeof json.endToEnd.top1Agreement, 'number');
  const m = await loadModel(out);
  t.is(m.inputs[0].dtype, 'int8');
  m.dispose();

  const c = fleet('compare', model, out, '--calib', calib, '--report', path.join(dir, 'cmp.json'));
  t.is(c.status, 0, c.stderr);
  t.regex(c.stdout, /wide\/out\s+int8/);
  const cmp = JSON.parse(readFileSync(path.join(dir, 'cmp.json'), 'utf8'));
  t.is(cmp.endToEnd.samples, 100);
  t.is(cmp.layers.length, 3);
});

test('--min-sqnr and --io float: float islands named with the reason, float model edges', async (t) => {
  const { dir, model, calib } = workdir(t);
  const out = path.join(dir, 'mixed.tflite');
  const r = fleet('quantize', model, '--calib', calib, '--out', out, '--min-sqnr', '30', '--io', 'float');
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /kept in float:\n {2}FULLY_CONNECTED #1: SQNR [\d.]+ dB < --min-sqnr 30 dB in int8/);
  const m = await loadModel(out);
  t.teardown(() => m.dispose());
  t.is(m.inputs[0].dtype, 'float32');
  t.is(m.outputs[0].dtype, 'float32');
  t.deepEqual(m.ops.map((o) => o.kind), ['QUANTIZE', 'FULLY_CONNECTED', 'DEQUANTIZE', 'FULLY_CONNECTED', 'FULLY_CONNECTED']);
});

test('bad calibration data and models exit 1 with a clear error', (t) => {
  const { dir, model } = workdir(t);
  const out = path.join(dir, 'o.tflite');
  const put = (name: string, content: string) => {
    writeFileSync(path.join(dir, name), content);
    return path.join(dir, name);
  };
  const cases: [string, RegExp][] = [
    [put('shape.json', '[[1,2,3]]'), /shape\.json sample 0: 3 values, the model input needs 8/],
    [put('nan.csv', '1,2,3,4,5,6,7,nan\n'), /nan\.csv sample 0: value 7 is NaN/],
    [put('empty.json', '[]'), /empty\.json: no calibration samples/],
  ];
  for (const [calib, message] of cases) {
    const r = fleet('quantize', model, '--calib', calib, '--out', out);
    t.is(r.status, 1, calib);
    t.regex(r.stderr, message);
  }
  const onnx = fleet('quantize', put('m.onnx', 'x'), '--calib', cases[0][0], '--out', out);
  t.is(onnx.status, 1);
  t.regex(onnx.stderr, /ONNX/);
});
