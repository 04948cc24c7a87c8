// Reads and validates a config file. Errors name the file and the bad key path
// (`models[0].queueSize: ...`) so a person can fix them without reading code.
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { z } from 'zod';
import { Config, configSchema } from './schema';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function keyPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const k of p) out += typeof k === 'number' ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out || '(top level)';
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => {
    if (i.code === 'unrecognized_keys') {
      const base = keyPath(i.path);
      return i.keys.map((k) => `${base === '(top level)' ? k : `${base}.${k}`}: unknown key`).join('\n');
    }
    return `${keyPath(i.path)}: ${i.message}`;
  });
}

/** Validates a parsed config object; `baseDir` resolves relative file paths. */
export function parseConfig(raw: unknown, baseDir: string, source = 'config'): Config {
  const r = configSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(`${source}: invalid configuration:\n  ${formatIssues(r.error.issues).join('\n  ')}`);
  const c = r.data;
  const abs = (p: string): string => path.resolve(baseDir, p);
  // a host name is one topic level once separators, wildcards and controls are replaced
  c.deviceId ??= os.hostname().replace(/[/+#\u0000-\u001F\u007F-\u009F\uFDD0-\uFDEF\uFFFE\uFFFF]/g, '_') || 'qie';
  c.models = c.models.map((m) => ({ ...m, path: abs(m.path), ...(m.fallbackPath ? { fallbackPath: abs(m.fallbackPath) } : {}) }));
  if (c.thermal) c.thermal.sysfsRoot = abs(c.thermal.sysfsRoot);
  if (c.broker.passwordFile) c.broker.passwordFile = abs(c.broker.passwordFile);
  if (c.broker.tls) {
    const t = c.broker.tls;
    c.broker.tls = { ...t, ca: t.ca && abs(t.ca), cert: t.cert && abs(t.cert), key: t.key && abs(t.key) };
  }
  if (c.ota) c.ota = { ...c.ota, stateDir: abs(c.ota.stateDir), trustedKeys: c.ota.trustedKeys.map(abs) };
  return c;
}

/** Reads, parses and validates a config file (synchronously: it runs before the thread pool starts). */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: cannot read: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return parseConfig(raw, path.dirname(path.resolve(file)), file);
}
