// `qie status --broker URL --device ID [--prefix P] [--json]`: reads a daemon's
// retained status document and prints it, for people (a summary, with the thermal
// governor's readings and level when it runs) or machines (--json, the document as is).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { QieError } from '../errors';

type Doc = Record<string, unknown>;

export const STATUS_USAGE = `qie status --broker URL --device ID [--prefix qie] [--json] [--timeout-ms 5000]
            [--username U] [--password-file F]`;

const n = (x: unknown, d = 1): string => (typeof x === 'number' ? x.toFixed(d) : '-');

/** The human summary of a status document. */
export function formatStatus(doc: Doc): string {
  const out: string[] = [];
  out.push(`device ${String(doc.deviceId)}: ${String(doc.state)}${doc.state === 'offline' ? ` (${String(doc.reason)})` : `, up ${String(doc.uptimeS)} s, qie ${String(doc.qieVersion)}`}`);
  for (const m of (doc.models as Doc[] | undefined) ?? [])
    out.push(`  model ${String(m.name)}@${String(m.version)}: queue ${String(m.queueDepth)}/${String(m.queueSize)}, running ${String(m.running)}, completed ${String(m.completed)}`);
  const th = doc.thermal as Doc | undefined;
  if (th) {
    const g = (th.governor ?? {}) as Doc;
    const r = (th.readings ?? {}) as Doc;
    const c = (th.counters ?? {}) as Doc;
    out.push(`thermal: level ${String(g.level)} since ${String(g.since)} — ${String(g.reason)}`);
    out.push(`  last action: ${String(g.lastAction)}`);
    out.push(`  duty cap ${n(g.dutyCap, 2)}, measured ${n(g.dutyMeasured, 2)}, threads ${JSON.stringify(g.threads)}, fallback [${((g.fallback as string[]) ?? []).join(', ')}], shedding ${String(g.shedding)}`);
    out.push(`  setpoint ${String(g.setpointC)} °C, hard limit ${String(g.hardLimitC)} °C${g.powerBudgetW !== null && g.powerBudgetW !== undefined ? `, power budget ${String(g.powerBudgetW)} W` : ''}`);
    for (const z of (r.zones as Doc[] | undefined) ?? []) out.push(`  ${String(z.type)} (${String(z.zone)}): ${n(z.tempC)} °C`);
    for (const f of (r.cpufreq as Doc[] | undefined) ?? []) out.push(`  cpufreq ${String(f.policy)}: ${n(Number(f.curKHz) / 1000, 0)} / ${n(Number(f.maxKHz) / 1000, 0)} MHz`);
    const t = r.throttle as Doc | null | undefined;
    if (t) {
      const now = ['underVoltage', 'frequencyCapped', 'throttled', 'softTempLimit'].filter((k) => t[k]);
      const occ = Object.entries((t.occurred ?? {}) as Doc)
        .filter(([, v]) => v)
        .map(([k]) => k);
      out.push(`  firmware throttle 0x${Number(t.raw).toString(16)}: now [${now.join(', ')}], since boot [${occ.join(', ')}]`);
    }
    for (const rail of (r.rails as Doc[] | undefined) ?? []) out.push(`  rail ${String(rail.name)}: ${n(Number(rail.powerMw) / 1000, 2)} W`);
    if (r.powerW !== null && r.powerW !== undefined) out.push(`  board power ${n(r.powerW, 2)} W (${String(r.powerRail)})`);
    const nv = r.nvpmodel as Doc | null | undefined;
    if (nv) out.push(`  nvpmodel ${String(nv.id)}${nv.name ? ` (${String(nv.name)})` : ''}`);
    if (((r.missing as string[]) ?? []).length) out.push(`  not found: ${(r.missing as string[]).join(', ')}`);
    out.push(`  throttled replies ${String(c.throttled)}, level changes ${String(c.levelChanges)}, model swaps ${String(c.swaps)}`);
  }
  return out.join('\n') + '\n';
}

export async function cmdStatus(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      broker: { type: 'string' },
      device: { type: 'string' },
      prefix: { type: 'string', default: 'qie' },
      json: { type: 'boolean' },
      'timeout-ms': { type: 'string', default: '5000' },
      username: { type: 'string' },
      'password-file': { type: 'string' },
    },
  });
  if (!values.broker || !values.device) throw new QieError('bad_option', `status needs --broker and --device\n  ${STATUS_USAGE}`);
  const timeoutMs = Number(values['timeout-ms']);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) throw new QieError('bad_option', '--timeout-ms must be an integer in 1..600000');
  const topic = `${values.prefix}/${values.device}/status`;
  // loaded on demand, as for serve
  const mqtt = (await import('mqtt')).default;
  const password = values['password-file'] ? readFileSync(values['password-file'], 'utf8').trim() : undefined;
  let client: import('mqtt').MqttClient;
  try {
    client = await mqtt.connectAsync(values.broker, { protocolVersion: 4, username: values.username, password, reconnectPeriod: 0, connectTimeout: timeoutMs });
  } catch (e) {
    process.stderr.write(`qie status: cannot connect to ${values.broker}: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    const payload = await new Promise<Buffer | undefined>((resolve, reject) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      client.on('message', (t, p) => {
        if (t !== topic) return;
        clearTimeout(timer);
        resolve(p);
      });
      client.subscribe(topic, { qos: 1 }, (err) => {
        if (err) {
          clearTimeout(timer);
          reject(err);
        }
      });
    });
    if (!payload) {
      process.stderr.write(`qie status: no status retained on ${topic} within ${timeoutMs} ms\n`);
      return 1;
    }
    let doc: Doc;
    try {
      doc = JSON.parse(payload.toString('utf8')) as Doc;
    } catch {
      process.stderr.write(`qie status: the message on ${topic} is not JSON\n`);
      return 1;
    }
    process.stdout.write(values.json ? JSON.stringify(doc, null, 1) + '\n' : formatStatus(doc));
    return 0;
  } finally {
    await client.endAsync().catch(() => undefined);
  }
}
