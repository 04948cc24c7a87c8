// qie-fleet status: one line per device from the retained status documents and OTA
// statuses on the broker: online or not, models, OTA state and progress.
import { parseArgs, UsageError } from './args';
import { CONSOLE_USAGE, CONSOLE_VALUED, connectConsole, consoleOptions, readFleet } from './ota-console';
import { table } from './ota-progress';

export const usage = `qie-fleet status ${CONSOLE_USAGE} [--json]
  Every device that left a retained status: online, models, OTA state and progress.`;

export async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [...CONSOLE_VALUED], ['json']);
  if (p.positional.length) throw new UsageError(`unexpected argument ${p.positional[0]}`);
  const co = consoleOptions(p);
  let client;
  try {
    client = await connectConsole(co);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    console.error(`qie-fleet status: ${(e as Error).message}`);
    return 1;
  }
  try {
    const view = await readFleet(client, co.prefix);
    const ids = [...new Set([...view.status.keys(), ...view.ota.keys()])].sort();
    const rows = ids.map((id) => {
      const s = view.status.get(id);
      const o = view.ota.get(id);
      const models = Array.isArray(s?.models) ? s.models : [];
      return {
        device: id,
        online: s?.state === 'online',
        group: s?.fleetGroup ?? null,
        models: models.map((m) => ({ name: m.name, version: m.version })),
        ota: o ? { state: o.state, name: o.name ?? null, version: o.version ?? null, activeVersion: o.activeVersion ?? null, bytes: o.bytes ?? null, total: o.total ?? null, reason: o.reason ?? null, at: o.at ?? null } : null,
      };
    });
    if (p.options.has('json')) {
      process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      return 0;
    }
    const progress = (o: (typeof rows)[number]['ota']) => (o && typeof o.bytes === 'number' && typeof o.total === 'number' && o.total > 0 ? `${Math.floor((100 * o.bytes) / o.total)}%` : '');
    process.stdout.write(
      table(
        ['device', 'online', 'model', 'version', 'ota state', 'ota version', 'progress'],
        rows.map((r) => [r.device, r.online ? 'yes' : 'no', r.models.map((m) => m.name).join(',') || '-', r.models.map((m) => m.version).join(',') || '-', r.ota?.state ?? '-', r.ota?.version ?? '', progress(r.ota)]),
      ),
    );
    return 0;
  } finally {
    await client.endAsync().catch(() => undefined);
  }
}
