// A small argument reader for the qie-fleet subcommands: positionals, --flag value
// and --flag=value (options that may repeat collect every value), with clear errors
// for unknown or incomplete options.
export class UsageError extends Error {}

export interface Parsed {
  positional: string[];
  options: Map<string, string>;
  /** Every value of each repeatable option, in order. */
  lists: Map<string, string[]>;
}

export function parseArgs(argv: string[], valued: readonly string[], flags: readonly string[] = [], repeatable: readonly string[] = []): Parsed {
  const positional: string[] = [];
  const options = new Map<string, string>();
  const lists = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (flags.includes(name)) {
      options.set(name, 'true');
      continue;
    }
    if (!valued.includes(name) && !repeatable.includes(name)) throw new UsageError(`unknown option --${name}`);
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (repeatable.includes(name)) lists.set(name, [...(lists.get(name) ?? []), value]);
    else options.set(name, value);
  }
  return { positional, options, lists };
}

export function numberOption(p: Parsed, name: string): number | undefined {
  const v = p.options.get(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got ${v}`);
  return n;
}
