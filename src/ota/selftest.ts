// Self-test: every loaded instance must reproduce the bundle's expected output
// bytes exactly for every vector, and match the manifest's input/output specs.
import type { Model } from '../engine/model';
import { OtaError } from './errors';
import type { Manifest } from './manifest';

function sameSpec(kind: string, got: { name: string; dtype: string; shape: number[] }[], want: Manifest['inputs']): void {
  if (got.length !== want.length) throw new OtaError('self_test_failed', `the model has ${got.length} ${kind}s, the manifest ${want.length}`);
  got.forEach((g, i) => {
    const w = want[i];
    if (g.dtype !== w.dtype || g.shape.join(',') !== w.shape.join(','))
      throw new OtaError('self_test_failed', `${kind} ${i} is ${g.dtype}[${g.shape}], the manifest says ${w.dtype}[${w.shape}]`);
  });
}

export async function runSelfTest(models: Model[], m: Manifest): Promise<void> {
  for (const [k, model] of models.entries()) {
    sameSpec('input', model.inputs, m.inputs);
    sameSpec('output', model.outputs, m.outputs);
    for (const [v, vec] of m.selfTest.entries()) {
      const inputs = vec.inputs.map((b64) => Buffer.from(b64, 'base64'));
      inputs.forEach((b, i) => {
        if (b.length !== model.inputs[i].bytes) throw new OtaError('self_test_failed', `selfTest ${v} input ${i} has ${b.length} bytes, the model takes ${model.inputs[i].bytes}`);
      });
      let outputs;
      try {
        outputs = await model.run(inputs);
      } catch (e) {
        throw new OtaError('self_test_failed', `selfTest ${v} failed to run on instance ${k}: ${(e as Error).message}`);
      }
      outputs.forEach((o, i) => {
        const got = Buffer.from(o.buffer, o.byteOffset, o.byteLength);
        const want = Buffer.from(vec.outputs[i], 'base64');
        if (!got.equals(want)) {
          let at = 0;
          while (at < Math.min(got.length, want.length) && got[at] === want[at]) at++;
          throw new OtaError('self_test_failed', `selfTest ${v} output ${i} differs from the expected bytes at byte ${at} (instance ${k})`);
        }
      });
    }
  }
}
