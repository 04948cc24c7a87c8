// Crash-safe file replacement: write a temp file, fsync it, rename it over the
// target, fsync the directory. A crash at any point leaves the old or the new
// content, never a mix.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import * as path from 'node:path';

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface AtomicHooks {
  /** Tests: called after the temp file is durable, before the rename (throw to simulate a crash). */
  beforeRename?(tmp: string): void;
}

export function writeFileAtomic(file: string, data: string | Uint8Array, hooks: AtomicHooks = {}): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  hooks.beforeRename?.(tmp);
  renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/** Moves a durable file into place (same filesystem) and makes the move durable. */
export function moveDurably(from: string, to: string): void {
  renameSync(from, to);
  fsyncDir(path.dirname(to));
  if (path.dirname(from) !== path.dirname(to)) fsyncDir(path.dirname(from));
}
