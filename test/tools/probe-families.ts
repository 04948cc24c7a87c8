// Tries one model file on kernel families and prints one JSON line per family
// ({"family", "ran": [output hex...]} or {"family", "refused": code}). Run as a
// child process by tests, so a model that crashes the engine kills only this.
//   node dist/test/tools/probe-families.js MODEL FAMILY[,FAMILY...]
import { readFileSync } from 'node:fs';
import { tryOnFamily } from '../helpers/families';

async function main(): Promise<void> {
  const [file, families] = process.argv.slice(2);
  const bytes = readFileSync(file);
  for (const family of families.split(',')) {
    process.stdout.write(JSON.stringify({ family, ...(await tryOnFamily(bytes, family)) }) + '\n');
  }
}

main().catch((e) => {
  process.stderr.write(`probe-families: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
