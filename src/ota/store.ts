// The device's OTA store under ota.stateDir:
//   slots/a/<model>.qie, slots/b/<model>.qie   one verified bundle per model and slot
//   incoming/<transferId>.qie(.progress)       the download in progress
//   state.json                                 which slot serves each model, what to go back
//                                              to, the unconfirmed activation and its boot
//                                              count, the resumable transfer, the last status
// state.json is only ever replaced atomically (atomic.ts).
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, statfsSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { AtomicHooks, moveDurably, writeFileAtomic } from './atomic';
import { OtaError } from './errors';

export type SlotName = 'a' | 'b';
const slotName = z.enum(['a', 'b']);

const modelStateSchema = z.object({
  /** The slot serving this model. */
  active: slotName,
  activeVersion: z.string(),
  /** Where a rollback goes: the other slot, or the model file of the configuration. */
  previous: z.union([slotName, z.literal('config')]).optional(),
  previousVersion: z.string().optional(),
  /** An activation not yet confirmed by a passed health window. */
  pending: z.object({ transferId: z.string(), since: z.number(), boots: z.number().int().min(0) }).optional(),
});

const statusSchema = z.record(z.string(), z.unknown());

const stateSchema = z.object({
  format: z.literal(1),
  models: z.record(z.string(), modelStateSchema),
  /** The update being downloaded or installed: resumed at start-up. */
  transfer: z
    .object({
      transferId: z.string(),
      order: z.record(z.string(), z.unknown()),
      file: z.string(),
      /** download: `file` is (partly) downloaded; installed: the bundle is in `slot`, not yet active. */
      phase: z.enum(['download', 'installed']),
      slot: slotName.optional(),
      /** The model, once the bundle is installed. */
      name: z.string().optional(),
      /** Start-ups that resumed this installed bundle (a shadow load that kills the daemon must not loop). */
      resumes: z.number().int().min(0).optional(),
    })
    .optional(),
  /** issuedAt (ms) of the last rollback order carried out: older ones are replays. */
  rollbackSeen: z.number().optional(),
  /** A downgrade a signed rollback order allowed (valid until `until`, ms since the epoch). */
  allowDowngrade: z.object({ name: z.string(), version: z.string(), until: z.number() }).optional(),
  /** The last status document published (republished, retained, at start-up). */
  last: statusSchema.optional(),
  /** Transfer ids that reached a final state, newest last (a repeated order gets the same answer). */
  finished: z.array(z.object({ transferId: z.string(), status: statusSchema })).max(32).default([]),
});

export type ModelState = z.output<typeof modelStateSchema>;
export type OtaState = z.output<typeof stateSchema>;

const emptyState = (): OtaState => ({ format: 1, models: {}, finished: [] });

export class OtaStore {
  readonly slotsDir: string;
  readonly incomingDir: string;
  readonly stateFile: string;
  /** Tests only: fault hooks of the atomic state write. */
  atomicHooks: AtomicHooks = {};
  /** Why state.json was not usable at load (logged by the caller). */
  loadProblem: string | undefined;

  constructor(readonly dir: string) {
    this.slotsDir = path.join(dir, 'slots');
    this.incomingDir = path.join(dir, 'incoming');
    this.stateFile = path.join(dir, 'state.json');
    for (const d of [dir, this.incomingDir, path.join(this.slotsDir, 'a'), path.join(this.slotsDir, 'b')]) mkdirSync(d, { recursive: true });
    // a temp file left by a crash before its rename is the unfinished write: drop it
    rmSync(`${this.stateFile}.tmp`, { force: true });
  }

  /** The saved state; a missing file is a fresh device, a damaged one is reported and ignored. */
  load(): OtaState {
    this.loadProblem = undefined;
    let text: string;
    try {
      text = readFileSync(this.stateFile, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.loadProblem = `cannot read ${this.stateFile}: ${(e as Error).message}`;
      return emptyState();
    }
    try {
      const r = stateSchema.safeParse(JSON.parse(text));
      if (r.success) return r.data;
      this.loadProblem = `${this.stateFile} is not a valid OTA state: ${r.error.issues[0]?.message}`;
    } catch (e) {
      this.loadProblem = `${this.stateFile} is not JSON: ${(e as Error).message}`;
    }
    return emptyState();
  }

  /** Replaces state.json atomically; a full disk is `no_space`, other failures `io`. */
  save(s: OtaState): void {
    try {
      writeFileAtomic(this.stateFile, JSON.stringify(s, null, 1) + '\n', this.atomicHooks);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new OtaError('no_space', `cannot write ${this.stateFile}: the disk is full`);
      if (code) throw new OtaError('io', `cannot write ${this.stateFile}: ${(e as Error).message}`);
      throw e;
    }
  }

  bundlePath(slot: SlotName, model: string): string {
    return path.join(this.slotsDir, slot, `${model}.qie`);
  }

  incomingPath(transferId: string): string {
    return path.join(this.incomingDir, `${transferId}.qie`);
  }

  /** The slot a new version of `model` goes into: the one not serving. */
  inactiveSlot(s: OtaState, model: string): SlotName {
    return s.models[model]?.active === 'a' ? 'b' : 'a';
  }

  /** Moves a verified download into a slot (atomic rename, directory fsynced). */
  install(file: string, slot: SlotName, model: string): string {
    const to = this.bundlePath(slot, model);
    try {
      moveDurably(file, to);
    } catch (e) {
      throw new OtaError('io', `cannot install ${file} into slot ${slot}: ${(e as Error).message}`);
    }
    return to;
  }

  /** Bytes used by every file under stateDir. */
  usedBytes(): number {
    const walk = (d: string): number => {
      let n = 0;
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) n += walk(p);
        else if (e.isFile()) n += statSync(p).size;
      }
      return n;
    };
    try {
      return walk(this.dir);
    } catch {
      return 0;
    }
  }

  /**
   * Refuses a download of `bytes` that the filesystem or the quota cannot hold;
   * `already` bytes of it may be on disk from an earlier attempt.
   */
  checkSpace(bytes: number, maxStorageBytes: number | undefined, already = 0): void {
    const need = bytes - already;
    try {
      const s = statfsSync(this.dir);
      const free = Number(s.bavail) * Number(s.bsize);
      // keep a little headroom for state.json and the progress file
      if (need + 1024 * 1024 > free) throw new OtaError('no_space', `the bundle needs ${need} more bytes; ${free} are free in ${this.dir}`);
    } catch (e) {
      if (e instanceof OtaError) throw e;
      // statfs unsupported: the writes will tell
    }
    if (maxStorageBytes !== undefined) {
      const used = this.usedBytes();
      if (used + need > maxStorageBytes) throw new OtaError('no_space', `the bundle needs ${need} more bytes; ${used} of ota.maxStorageBytes ${maxStorageBytes} are in use`);
    }
  }
}
