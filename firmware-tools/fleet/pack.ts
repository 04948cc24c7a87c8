// qie-fleet pack: a signed .qie bundle from a model; self-test outputs are computed
// by running the model with qie.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { isOtaError } from '../../src/ota/errors';
import { loadPrivateKey } from '../../src/ota/keys';
import { makeBundle } from '../../src/ota/make-bundle';
import { numberOption, parseArgs, UsageError } from './args';

export const usage = `qie-fleet pack --model F --name N --version V --key PRIV.pem --out B.qie
    [--fallback F2] [--labels FILE] [--self-test-inputs DIR | --self-test N] [--min-engine V]
  Self-test vectors: each file of DIR is one vector's raw input bytes (single-input models),
  or N random inputs (default 2). --labels: one label a line, or a JSON array.`;

function readFile(f: string, what: string): Buffer {
  try {
    return readFileSync(f);
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${f}: ${(e as Error).message}`);
  }
}

function readLabels(f: string): string[] {
  const text = readFile(f, 'labels').toString('utf8');
  if (text.trimStart().startsWith('[')) {
    const v = JSON.parse(text) as unknown;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new UsageError(`${f}: a JSON labels file is an array of strings`);
    return v as string[];
  }
  return text.split(/\r?\n/).filter((l) => l.length > 0);
}

export async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, ['model', 'name', 'version', 'key', 'out', 'fallback', 'labels', 'self-test-inputs', 'self-test', 'min-engine']);
  if (p.positional.length) throw new UsageError(`unexpected argument ${p.positional[0]}`);
  const need = (k: string): string => {
    const v = p.options.get(k);
    if (!v) throw new UsageError(`--${k} is required`);
    return v;
  };
  const modelFile = need('model');
  const out = need('out');
  const dir = p.options.get('self-test-inputs');
  const count = numberOption(p, 'self-test');
  if (dir && count !== undefined) throw new UsageError('--self-test-inputs and --self-test exclude each other');
  if (count !== undefined && (!Number.isInteger(count) || count < 1 || count > 64)) throw new UsageError('--self-test takes 1..64');
  try {
    const selfTestInputs = dir
      ? readdirSync(dir)
          .sort()
          .filter((f) => statSync(path.join(dir, f)).isFile())
          .map((f) => [readFile(path.join(dir, f), 'self-test input')])
      : undefined;
    const fallback = p.options.get('fallback');
    const labels = p.options.get('labels');
    const { bundle, manifest } = await makeBundle({
      model: readFile(modelFile, 'model'),
      name: need('name'),
      version: need('version'),
      key: loadPrivateKey(need('key')),
      fallback: fallback ? readFile(fallback, 'fallback model') : undefined,
      labels: labels ? readLabels(labels) : undefined,
      selfTestInputs,
      randomVectors: count,
      minEngine: p.options.get('min-engine'),
    });
    writeFileSync(out, bundle);
    console.log(`${out}: ${manifest.name} ${manifest.version}, ${bundle.length} bytes, model sha256 ${manifest.model.sha256}, ${manifest.selfTest.length} self-test vector(s), key ${manifest.keyId}`);
    return 0;
  } catch (e) {
    if (!isOtaError(e)) throw e;
    console.error(`qie-fleet pack: ${e.message}`);
    return 1;
  }
}
