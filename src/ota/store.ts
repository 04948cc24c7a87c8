// The device's OTA store under ota.stateDir:
//   slots/a/<model>.qie, slots/b/<model>.qie   one verified bundle per model and slot
//   incoming/<transferId>.qie(.progress)       the download in progress
//   state.json                                 which slot serves each model, what to go back
//                                              to, the unconfirmed activation and its boot
//                                              count, the resumable transfer, the last status
//   guard.json                                 the versions rolled back here and the last rollback
//                                              order's date, a second copy of what state.json holds
//                                              of them: losing one of the two files forgets neither
// Both files are only ever replaced atomically (atomic.ts).
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

const MAX_ROLLED_BACK = 64;
const rolledBackSchema = z.object({ name: z.string(), version: z.string(), at: z.number(), by: z.string() });

/** guard.json: the part of the state that must outlive the loss of state.json. */
const guardSchema = z.object({
  format: z.literal(1),
  rolledBack: z.array(rolledBackSchema).max(MAX_ROLLED_BACK).default([]),
  rollbackSeen: z.number().optional(),
});

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
  /** Versions rolled back here (operator, health window, crash loop): refused until a signed order allows one again. */
  rolledBack: z.array(rolledBackSchema).max(MAX_ROLLED_BACK).default([]),
  /** A downgrade a signed rollback order allowed (valid until `until`, ms since the epoch). */
  allowDowngrade: z.object({ name: z.string(), version: z.string(), until: z.number() }).optional(),
  /** The last status document published (republished, retained, at start-up). */
  last: statusSchema.optional(),
  /** Transfer ids that reached a final state, newest last (a repeated order gets the same answer). */
  finished: z.array(z.object({ transferId: z.string(), status: statusSchema })).max(32).default([]),
});

export type ModelState = z.output<typeof modelStateSchema>;
export type OtaState = z.output<typeof stateSchema>;

export type RolledBack = z.output<typeof rolledBackSchema>;

const emptyState = (): OtaState => ({ format: 1, models: {}, finished: [], rolledBack: [] });

/** Adds a rolled-back version (newest last, the oldest dropped past the bound). */
export function addRolledBack(list: RolledBack[], e: RolledBack): RolledBack[] {
  return [...list.filter((x) => x.name !== e.name || x.version !== e.version), e].slice(-MAX_ROLLED_BACK);
}

function guardOf(s: OtaState): string {
  return JSON.stringify({ format: 1, rolledBack: s.rolledBack, ...(s.rollbackSeen !== undefined ? { rollbackSeen: s.rollbackSeen } : {}) }, null, 1) + '\n';
}

export class OtaStore {
  readonly slotsDir: string;
  readonly incomingDir: string;
  readonly stateFile: string;
  readonly guardFile: string;
  /** guard.json as last read or written: rewritten only when its content changes. */
  private guardText: string | undefined;
  /** Tests only: fault hooks of the atomic state write. */
  atomicHooks: AtomicHooks = {};
  /** Why state.json was not usable at load (logged by the caller). */
  loadProblem: string | undefined;

  constructor(readonly dir: string) {
    this.slotsDir = path.join(dir, 'slots');
    this.incomingDir = path.join(dir, 'incoming');
    this.stateFile = path.join(dir, 'state.json');
    this.guardFile = path.join(dir, 'guard.json');
    for (const d of [dir, this.incomingDir, path.join(this.slotsDir, 'a'), path.join(this.slotsDir, 'b')]) mkdirSync(d, { recursive: true });
    // a temp file left by a crash before its rename is the unfinished write: drop it
    rmSync(`${this.stateFile}.tmp`, { force: true });
    rmSync(`${this.guardFile}.tmp`, { force: true });
  }

  /**
   * The saved state with guard.json merged in (the union of the rolled-back versions,
   * the later rollback date); a missing state.json is a fresh device, a damaged one is
   * reported and ignored.
   */
  load(): OtaState {
    const s = this.loadState();
    const g = this.loadGuard();
    if (g) {
      for (const e of g.rolledBack) if (!s.rolledBack.some((x) => x.name === e.name && x.version === e.version)) s.rolledBack = addRolledBack(s.rolledBack, e);
      if (g.rollbackSeen !== undefined && (s.rollbackSeen ?? -Infinity) < g.rollbackSeen) s.rollbackSeen = g.rollbackSeen;
    }
    return s;
  }

  private loadGuard(): z.output<typeof guardSchema> | undefined {
    let text: string;
    try {
      text = readFileSync(this.guardFile, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const r = guardSchema.safeParse(JSON.parse(text));
      if (r.success) {
        this.guardText = text;
        return r.data;
      }
    } catch {
      // a damaged guard.json: state.json's copy serves, and the next save rewrites it
    }
    return undefined;
  }

  private loadState(): OtaState {
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

  /**
   * Replaces guard.json (when its part changed) then state.json, each atomically; a
   * full disk is `no_space`, other failures `io`.
   */
  save(s: OtaState): void {
    const guard = guardOf(s);
    if (guard !== this.guardText) {
      this.write(this.guardFile, guard);
      this.guardText = guard;
    }
    this.write(this.stateFile, JSON.stringify(s, null, 1) + '\n');
  }

  private write(file: string, text: string): void {
    try {
      writeFileAtomic(file, text, this.atomicHooks);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new OtaError('no_space', `cannot write ${file}: the disk is full`);
      if (code) throw new OtaError('io', `cannot write ${file}: ${(e as Error).message}`);
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
