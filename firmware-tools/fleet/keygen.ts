// qie-fleet keygen: an Ed25519 key pair for signing OTA bundles. The private key
// (PKCS8 PEM, mode 0600) stays with the console; the public key (SPKI PEM) goes
// into every device's ota.trustedKeys.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { generateKeys } from '../../src/ota/keys';
import { parseArgs, UsageError } from './args';

export const usage = `qie-fleet keygen --out DIR [--name NAME]
  Writes DIR/NAME.key (private, 0600) and DIR/NAME.pub (public); NAME defaults to qie-ota.`;

export async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, ['out', 'name']);
  if (p.positional.length) throw new UsageError(`unexpected argument ${p.positional[0]}`);
  const out = p.options.get('out');
  if (!out) throw new UsageError('--out DIR is required');
  const name = p.options.get('name') ?? 'qie-ota';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new UsageError('--name must be 1..64 characters of [A-Za-z0-9._-]');
  const priv = path.join(out, `${name}.key`);
  const pub = path.join(out, `${name}.pub`);
  for (const f of [priv, pub]) if (existsSync(f)) {
    console.error(`qie-fleet keygen: ${f} exists; not overwriting a key`);
    return 1;
  }
  mkdirSync(out, { recursive: true });
  const k = generateKeys();
  writeFileSync(priv, k.privatePem, { mode: 0o600, flag: 'wx' });
  writeFileSync(pub, k.publicPem, { flag: 'wx' });
  console.log(`key id ${k.keyId}\nprivate ${priv}\npublic  ${pub}`);
  return 0;
}
