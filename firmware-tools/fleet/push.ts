// qie-fleet push: sends a bundle to devices (ids, a fleet group or every online
// device), canaries first, and serves the chunks they pull; ends with a table and
// exit code 0 only when every targeted device succeeded.
import { stat } from 'node:fs/promises';
import { describeBundle } from '../../src/ota/transfer/server';
import { MAX_CHUNK_SIZE, ProtocolError, transferIdSchema } from '../../src/ota/transfer/protocol';
import { numberOption, parseArgs, UsageError } from './args';
import { CONSOLE_USAGE, CONSOLE_VALUED, connectConsole, consoleOptions, countOrPercent, readFleet } from './ota-console';
import { rolloutDisplay, table } from './ota-progress';
import { rollout, RolloutResult } from './ota-rollout';

export const usage = `qie-fleet push BUNDLE.qie ${CONSOLE_USAGE}
    (--device ID [--device ID ...] | --group G | --all) [--canary N|P%] [--max-failures N|P%]
    [--parallel N] [--timeout S] [--chunk-size BYTES] [--lock-override] [--transfer-id ID] [--json]
  Devices pull the bundle in chunks over MQTT; --canary devices go first and the rest
  only when they all succeed; no further device is ordered once failures exceed
  --max-failures (default 0). --transfer-id: the id of an interrupted push of the same
  bundle, to let its devices resume. Exit 0 only when every targeted device succeeded.`;

export async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [...CONSOLE_VALUED, 'group', 'canary', 'max-failures', 'parallel', 'timeout', 'chunk-size', 'transfer-id'], ['all', 'lock-override', 'json'], ['device']);
  // --device may repeat (or take a comma list)
  const devices = (p.lists.get('device') ?? []).flatMap((v) => v.split(','));
  if (p.positional.length !== 1) throw new UsageError('one bundle file is required');
  const co = consoleOptions(p);
  const group = p.options.get('group');
  const all = p.options.has('all');
  if ([devices.length > 0, group !== undefined, all].filter(Boolean).length !== 1) throw new UsageError('give exactly one of --device, --group, --all');
  for (const d of devices) if (!/^[^/+#\u0000]{1,128}$/.test(d)) throw new UsageError(`--device ${d}: not a device id`);
  const timeoutS = numberOption(p, 'timeout') ?? 600;
  if (timeoutS <= 0) throw new UsageError('--timeout must be positive');
  const parallel = numberOption(p, 'parallel') ?? 16;
  if (!Number.isInteger(parallel) || parallel < 1) throw new UsageError('--parallel must be a whole number >= 1');
  const chunkSize = numberOption(p, 'chunk-size') ?? MAX_CHUNK_SIZE;
  const transferId = p.options.get('transfer-id');
  if (transferId !== undefined && !transferIdSchema.safeParse(transferId).success) throw new UsageError('--transfer-id must be 8..64 characters of [A-Za-z0-9_-]');
  const file = p.positional[0];
  await stat(file).catch((e: Error) => {
    throw new UsageError(`cannot read ${file}: ${e.message}`);
  });
  let bundle;
  try {
    bundle = await describeBundle(file, chunkSize);
  } catch (e) {
    if (e instanceof ProtocolError || e instanceof RangeError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
  const manifest = bundle.manifest as { name?: string; version?: string };
  let client;
  try {
    client = await connectConsole(co);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    console.error(`qie-fleet push: ${(e as Error).message}`);
    return 1;
  }
  try {
    let targets = devices;
    if (!devices.length) {
      const view = await readFleet(client, co.prefix);
      targets = [...view.status].filter(([, s]) => s.state === 'online' && (all || s.fleetGroup === group)).map(([d]) => d).sort();
      if (!targets.length) {
        console.error(`qie-fleet push: no online device ${all ? 'on the broker' : `in group ${group}`}`);
        return 1;
      }
    }
    const canary = countOrPercent(p.options.get('canary'), targets.length, 'canary') ?? 0;
    const maxFailures = countOrPercent(p.options.get('max-failures'), targets.length, 'max-failures') ?? 0;
    if (!p.options.has('json')) console.error(`pushing ${manifest.name}@${manifest.version} (${bundle.size} bytes, ${bundle.chunkSha256.length} chunks) to ${targets.length} device(s)${canary ? `, ${canary} canary` : ''}`);
    const display = p.options.has('json') ? undefined : rolloutDisplay();
    const result = await rollout({ client, prefix: co.prefix, bundle, devices: targets, canary, maxFailures, parallel, timeoutMs: timeoutS * 1000, lockOverride: p.options.has('lock-override'), transferId, onUpdate: (d) => display?.update(d) });
    display?.stop();
    if (p.options.has('json')) process.stdout.write(JSON.stringify({ bundle: { name: manifest.name, version: manifest.version, size: bundle.size, sha256: bundle.sha256 }, ...result }, null, 2) + '\n');
    else process.stdout.write(report(result));
    return result.succeeded === targets.length ? 0 : 1;
  } finally {
    await client.endAsync().catch(() => undefined);
  }
}

export function report(r: RolloutResult): string {
  const rows = r.devices.map((d) => [
    d.deviceId,
    d.state,
    d.activeVersion ?? '',
    d.orderedAt && d.finishedAt ? `${((d.finishedAt - d.orderedAt) / 1000).toFixed(1)}` : '',
    String(d.traffic.wireBytes),
  ]);
  const summary = `${r.succeeded} succeeded, ${r.failed} failed, ${r.skipped} skipped${r.stopped ? ` — stopped: ${r.stopped}` : ''} (transfer ${r.transferId})\n`;
  return table(['device', 'result', 'active version', 'seconds', 'bytes sent'], rows) + summary;
}
