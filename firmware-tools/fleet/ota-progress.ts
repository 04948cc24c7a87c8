// Per-device progress of a rollout on stderr: one bar per device on a terminal,
// otherwise one plain line per state change (and per quarter of the download).
import { MultiBar, SingleBar } from 'cli-progress';
import type { DeviceProgress } from './ota-rollout';

export interface RolloutDisplay {
  update(d: DeviceProgress): void;
  stop(): void;
}

export function rolloutDisplay(stream: NodeJS.WriteStream = process.stderr): RolloutDisplay {
  if (stream.isTTY) return barDisplay(stream);
  const last = new Map<string, string>();
  return {
    update(d) {
      const quarter = d.total ? Math.floor((4 * d.bytes) / d.total) : 0;
      const key = `${d.state}|${quarter}`;
      if (last.get(d.deviceId) === key) return;
      last.set(d.deviceId, key);
      stream.write(`${d.deviceId}: ${d.state}${d.state === 'downloading' ? ` ${percent(d)}` : ''}${d.reason && !d.state.endsWith(d.reason) ? ` (${d.reason})` : ''}\n`);
    },
    stop: () => undefined,
  };
}

function barDisplay(stream: NodeJS.WriteStream): RolloutDisplay {
  const multi = new MultiBar({ format: '{device} [{bar}] {percentage}% {state}', stream, hideCursor: true, clearOnComplete: false, autopadding: true });
  const bars = new Map<string, SingleBar>();
  const width = { n: 8 };
  return {
    update(d) {
      width.n = Math.max(width.n, d.deviceId.length);
      let bar = bars.get(d.deviceId);
      if (!bar) bars.set(d.deviceId, (bar = multi.create(d.total, 0, { device: d.deviceId.padEnd(width.n), state: d.state })));
      bar.update(Math.min(d.bytes, d.total), { device: d.deviceId.padEnd(width.n), state: d.state });
    },
    stop: () => multi.stop(),
  };
}

function percent(d: DeviceProgress): string {
  return d.total ? `${Math.floor((100 * d.bytes) / d.total)}%` : '';
}

/** Plain text table: columns padded to their widest cell. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (c ?? '').padEnd(w[i])).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n') + '\n';
}
