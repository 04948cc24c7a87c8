#!/usr/bin/env node
// qie-fleet: tools for preparing and shipping models to a gateway fleet. This file
// only dispatches; each subcommand lives in fleet/<name>.ts and exports usage + run.
import { isQieError } from '../src/errors';
import { UsageError } from './fleet/args';

interface Subcommand {
  usage: string;
  run(argv: string[]): Promise<number>;
}

const SUBCOMMANDS: Record<string, () => Subcommand> = {
  quantize: () => require('./fleet/quantize') as Subcommand,
  compare: () => require('./fleet/compare') as Subcommand,
  keygen: () => require('./fleet/keygen') as Subcommand,
  pack: () => require('./fleet/pack') as Subcommand,
  verify: () => require('./fleet/verify') as Subcommand,
  push: () => require('./fleet/push') as Subcommand,
  status: () => require('./fleet/status') as Subcommand,
};

function usage(): string {
  return ['usage: qie-fleet <command> ...', '', ...Object.values(SUBCOMMANDS).map((s) => s().usage + '\n')].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    console.error(usage());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  const load = SUBCOMMANDS[name];
  if (!load) {
    console.error(`qie-fleet: unknown command ${name}\n\n${usage()}`);
    return 2;
  }
  const cmd = load();
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`qie-fleet ${name}: ${e.message}\n\n${cmd.usage}`);
      return 2;
    }
    if (isQieError(e)) {
      console.error(`qie-fleet ${name}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      console.error(`qie-fleet: ${(e as Error).stack ?? e}`);
      process.exitCode = 1;
    },
  );
}
