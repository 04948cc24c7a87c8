// qie-fleet verify: checks a bundle as a device would (signature by a trusted key,
// manifest, hashes, exact length) and prints its manifest summary.
import { isOtaError } from '../../src/ota/errors';
import { KeyRing } from '../../src/ota/keys';
import { verifyBundleFile } from '../../src/ota/bundle';
import { parseArgs, UsageError } from './args';

export const usage = `qie-fleet verify B.qie --key PUB.pem [--key PUB2.pem ...]
  Exit 0 and a summary when the bundle verifies with one of the keys, 1 with the reason otherwise.`;

export async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [], [], ['key']);
  const files = p.positional;
  const keys = p.lists.get('key') ?? [];
  if (files.length !== 1) throw new UsageError('verify takes one bundle file');
  if (!keys.length) throw new UsageError('at least one --key PUB.pem is required');
  try {
    const { header } = verifyBundleFile(files[0], KeyRing.fromFiles(keys));
    const m = header.manifest;
    const io = (t: typeof m.inputs) => t.map((x) => `${x.dtype}[${x.shape}]`).join(', ');
    console.log(
      [
        `${files[0]}: OK`,
        `  name       ${m.name}`,
        `  version    ${m.version}`,
        `  created    ${m.created}`,
        `  minEngine  ${m.minEngine}`,
        `  key        ${m.keyId}`,
        `  model      ${m.model.format}, ${m.model.size} bytes, sha256 ${m.model.sha256}`,
        ...(m.fallback ? [`  fallback   ${m.fallback.format}, ${m.fallback.size} bytes, sha256 ${m.fallback.sha256}`] : []),
        `  inputs     ${io(m.inputs)}`,
        `  outputs    ${io(m.outputs)}`,
        `  labels     ${m.labels ? m.labels.length : 'none'}`,
        `  self-test  ${m.selfTest.length} vector(s)`,
        `  bundle     ${header.totalBytes} bytes`,
      ].join('\n'),
    );
    return 0;
  } catch (e) {
    if (!isOtaError(e)) throw e;
    console.error(`qie-fleet verify: ${files[0]}: ${e.code}: ${e.message}`);
    return 1;
  }
}
