// Calibration data readers: .bin, .npy, CSV, JSON and directories give the same
// samples; wrong shapes, NaN/Infinity and empty data are refused with a message
// that names the file and the problem.
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { isQieError } from '../src';
import { quantizeFloatModel } from '../src/quant/ptq';
import { readSamples } from '../src/quant/samples';
import { sensitiveMlp, uniformSamples } from './helpers/quant-models';
import { makeDemoModel } from '../firmware-tools/demo/model';

function tmp(t: import('ava').ExecutionContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'qie-calib-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function npy(values: number[], shape: number[], descr = '<f4'): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const pre = Buffer.alloc(10);
  Buffer.from('\x93NUMPY', 'latin1').copy(pre);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const data = Buffer.from((descr === '<f8' ? Float64Array.from(values) : descr === '<i4' ? Int32Array.from(values) : Float32Array.from(values)).buffer);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), data]);
}

const samples = uniformSamples(6, 4, 9);
const flat = samples.flatMap((s) => Array.from(s));

test('bin, npy (f4 and f8), csv, json and a directory read the same samples', (t) => {
  const dir = tmp(t);
  const files: Record<string, Buffer | string> = {
    'a.bin': Buffer.from(Float32Array.from(flat).buffer),
    'b.npy': npy(flat, [6, 4]),
    'c.npy': npy(flat, [6, 4], '<f8'),
    'd.csv': 'x0,x1,x2,x3\n' + samples.map((s) => Array.from(s).join(',')).join('\n') + '\n',
    'e.json': JSON.stringify(samples.map((s) => Array.from(s))),
  };
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), content);
    const got = readSamples(path.join(dir, name), 4);
    t.deepEqual(got.map((s) => Array.from(s)), samples.map((s) => Array.from(s)), name);
  }
  t.is(readSamples(dir, 4).length, 30);
});

function refused(t: import('ava').ExecutionContext, fn: () => unknown, message: RegExp): void {
  const err = t.throws(fn);
  t.true(isQieError(err), String(err));
  t.regex((err as Error).message, message);
}

test('wrong shape, NaN and empty data give clear errors', (t) => {
  const dir = tmp(t);
  const put = (name: string, content: Buffer | string) => {
    writeFileSync(path.join(dir, name), content);
    return path.join(dir, name);
  };
  refused(t, () => readSamples(put('short.bin', Buffer.from(Float32Array.from([1, 2, 3, 4, 5]).buffer)), 4), /short\.bin: 5 values is not a whole number of samples of 4 values/);
  refused(t, () => readSamples(put('odd.bin', Buffer.alloc(7)), 4), /7 bytes is not a whole number of float32 values/);
  refused(t, () => readSamples(put('bad.csv', '1,2,3\n4,5,6\n'), 4), /bad\.csv line 1: 3 values, the model input needs 4/);
  refused(t, () => readSamples(put('text.csv', '1,2,3,4\n1,2,x,4\n'), 4), /text\.csv line 2: "x" is not a number/);
  refused(t, () => readSamples(put('bad.json', '[[1,2,3,4],[1,2]]'), 4), /bad\.json sample 1: 2 values, the model input needs 4/);
  refused(t, () => readSamples(put('shape.npy', npy([1, 2, 3, 4, 5, 6], [2, 3])), 4), /6 values is not a whole number of samples of 4/);
  refused(t, () => readSamples(put('nan.csv', '1,2,3,4\n1,nan,3,4\n'), 4), /nan\.csv sample 1: value 1 is NaN/);
  refused(t, () => readSamples(put('inf.bin', Buffer.from(Float32Array.from([1, 2, Infinity, 4]).buffer)), 4), /inf\.bin sample 0: value 2 is Infinity/);
  refused(t, () => readSamples(put('null.json', '[[1,2,null,4]]'), 4), /null\.json sample 0: value 2 is NaN/);
  refused(t, () => readSamples(put('empty.bin', Buffer.alloc(0)), 4), /empty\.bin: no calibration values/);
  refused(t, () => readSamples(put('empty.json', '[]'), 4), /empty\.json: no calibration samples/);
  refused(t, () => readSamples(put('empty.csv', '\n\n'), 4), /empty\.csv: no calibration samples/);
  refused(t, () => readSamples(put('garbage.npy', Buffer.from('not numpy at all')), 4), /not a \.npy file/);
  refused(t, () => readSamples(put('ints.npy', npy([1, 2, 3, 4], [4], '<i4')), 4), /dtype <i4 is not supported/);
  const empty = path.join(dir, 'nothing');
  mkdirSync(empty);
  refused(t, () => readSamples(empty, 4), /holds no \.bin\/\.npy\/\.csv\/\.json files/);
  refused(t, () => readSamples(path.join(dir, 'missing'), 4), /no such file or directory/);
});

test('the quantizer refuses samples of the wrong size, with NaN, or none', async (t) => {
  const model = sensitiveMlp();
  for (const [samples, message] of [
    [[], /no calibration samples/],
    [[new Float32Array(7)], /sample 0: 7 values, the model input needs 8/],
    [[new Float32Array(8), Float32Array.from([0, 0, 0, NaN, 0, 0, 0, 0])], /sample 1: value 3 is NaN/],
  ] as const) {
    const err = await t.throwsAsync(quantizeFloatModel(model, samples as unknown as Float32Array[]));
    t.true(isQieError(err));
    t.regex(err!.message, message);
  }
});

test('an int8 model is refused: there is nothing to quantize', async (t) => {
  const err = await t.throwsAsync(quantizeFloatModel(makeDemoModel().tflite, uniformSamples(5, 96, 1)));
  t.true(isQieError(err));
  t.regex(err!.message, /no float32 tensors to quantize \(is it already int8\?\)/);
});
