// Small, bounded reads of sysfs-style files under a root directory (`/` on a gateway,
// a temp directory in tests and the simulator). A missing or unreadable file is an
// `undefined`, never a throw: sources come and go (unplugged sensors, other boards).
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import * as path from 'node:path';

/** sysfs attributes are one short line; anything longer than this is not one. */
const MAX_BYTES = 4096;

export class SysfsRoot {
  constructor(readonly root: string) {}

  /** The absolute path of `rel` (an absolute-looking path such as /sys/...) under the root. */
  resolve(rel: string): string {
    return path.join(this.root, rel);
  }

  /** The file's text (at most MAX_BYTES, trimmed), or undefined when it cannot be read. */
  text(rel: string, maxBytes = MAX_BYTES): string | undefined {
    let fd: number | undefined;
    try {
      fd = openSync(this.resolve(rel), 'r');
      const buf = Buffer.alloc(maxBytes);
      let n = 0;
      for (;;) {
        const k = readSync(fd, buf, n, maxBytes - n, null);
        if (k <= 0) break;
        n += k;
        if (n >= maxBytes) break;
      }
      return buf.subarray(0, n).toString('utf8').trim();
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** A decimal integer attribute, or undefined when absent or not an integer. */
  int(rel: string): number | undefined {
    const t = this.text(rel);
    if (t === undefined || !/^-?\d{1,15}$/.test(t)) return undefined;
    return Number(t);
  }

  /** Names in a directory matching `re` (sorted naturally), or [] when it cannot be listed. */
  list(rel: string, re: RegExp): string[] {
    try {
      return readdirSync(this.resolve(rel))
        .filter((n) => re.test(n))
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    } catch {
      return [];
    }
  }
}
