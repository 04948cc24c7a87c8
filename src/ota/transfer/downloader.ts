// Device side of the OTA transfer: pulls a bundle's chunks over MQTT with a window of
// outstanding requests, checks each chunk's sha256, writes it at its offset in a
// partial file and keeps a chunk bitmap beside it (`<file>.progress`, replaced
// atomically) so a restarted daemon resumes where it stopped. Resolves once the file
// holds every byte, is fsynced and matches the whole-bundle sha256.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { OtaError } from '../errors';
import { chunkCount, chunkLength, decodeChunk, encodePull, MAX_PULL_CHUNKS, offerSchema, otaTopics, ProtocolError, transferIdSchema } from './protocol';

export interface DownloadOffer {
  transferId: string;
  size: number;
  sha256: string;
  chunkSize: number;
  chunkSha256: string[];
  /**
   * Bytes the device already holds from the start of the bundle (the header the order
   * carried): chunks lying wholly inside it that match their hash are written from it,
   * not pulled.
   */
  knownPrefix?: Uint8Array;
}

export interface DownloaderDeps {
  publish(topic: string, payload: string | Buffer, opts?: { qos?: 0 | 1 | 2 }): Promise<boolean>;
  topicPrefix: string;
  deviceId: string;
  log: Logger;
  /** Chunks requested and not yet received, at most (default 6). */
  window?: number;
  /** A requested chunk not received after this long is asked for again (default 5000). */
  chunkTimeoutMs?: number;
  /** No chunk at all for this long fails the transfer `transfer_timeout` (default 120000). */
  maxIdleMs?: number;
  /** Copies of one requested chunk that may fail their sha256 before the transfer fails `chunk_corrupt` (default 3). */
  maxBadCopies?: number;
}

/** Counters of what arrived, for status and tests. */
export interface DownloadStats {
  received: number;
  duplicates: number;
  corrupt: number;
  garbage: number;
  /** Bad copies of chunks not requested at the time: ignored, they count toward no limit. */
  unsolicited: number;
  repulls: number;
  resumedChunks: number;
  /** Chunks taken from `knownPrefix` instead of pulled. */
  fromPrefix: number;
}

interface ProgressFile {
  transferId: string;
  size: number;
  sha256: string;
  chunkSize: number;
  /** base64 bitmap: bit i set = chunk i is written. */
  have: string;
}

const PROGRESS_EVERY_MS = 250;
const PROGRESS_EVERY_CHUNKS = 16;

export class ChunkDownloader extends EventEmitter {
  readonly stats: DownloadStats = { received: 0, duplicates: 0, corrupt: 0, garbage: 0, unsolicited: 0, repulls: 0, resumedChunks: 0, fromPrefix: 0 };
  private readonly count: number;
  private readonly have: Uint8Array;
  private haveCount = 0;
  private received = 0;
  /** index -> when it was last asked for */
  private readonly outstanding = new Map<number, number>();
  private readonly writing = new Set<number>();
  private readonly badCopies = new Map<number, number>();
  private nextMissing = 0;
  private fh: fsp.FileHandle | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastChunkAt = Date.now();
  private progressDirty = 0;
  private progressAt = 0;
  private progressWrite: Promise<void> = Promise.resolve();
  private settled = false;
  private finishing = false;
  private resolveStart!: () => void;
  private rejectStart!: (e: Error) => void;
  private readonly window: number;
  private readonly chunkTimeoutMs: number;
  private readonly maxIdleMs: number;
  private readonly maxBadCopies: number;
  private readonly chunkTopic: string;
  private readonly progressPath: string;

  constructor(
    private readonly deps: DownloaderDeps,
    private readonly offer: DownloadOffer,
    private readonly filePath: string,
  ) {
    super();
    transferIdSchema.parse(offer.transferId);
    offerSchema.parse({ size: offer.size, sha256: offer.sha256, chunkSize: offer.chunkSize, chunkSha256: offer.chunkSha256 });
    this.count = chunkCount(offer.size, offer.chunkSize);
    this.have = new Uint8Array(Math.ceil(this.count / 8));
    this.window = Math.max(1, Math.min(deps.window ?? 6, MAX_PULL_CHUNKS));
    this.chunkTimeoutMs = deps.chunkTimeoutMs ?? 5000;
    this.maxIdleMs = deps.maxIdleMs ?? 120_000;
    this.maxBadCopies = deps.maxBadCopies ?? 3;
    this.chunkTopic = otaTopics.chunk(deps.topicPrefix, deps.deviceId, offer.transferId);
    this.progressPath = progressPathOf(filePath);
  }

  /** Bytes of the bundle written so far (resumed chunks included). */
  get bytes(): number {
    return this.received;
  }

  get total(): number {
    return this.offer.size;
  }

  subscriptions(): string[] {
    return [otaTopics.chunkFilter(this.deps.topicPrefix, this.deps.deviceId)];
  }

  private started: Promise<void> | undefined;

  /** Starts (or resumes) the download; calling it again returns the same promise. */
  start(): Promise<void> {
    if (this.started) return this.started;
    const done = new Promise<void>((resolve, reject) => {
      this.resolveStart = resolve;
      this.rejectStart = reject;
    });
    this.open().then(
      () => {
        if (this.settled) {
          // aborted while opening
          void this.fh?.close().catch(() => undefined);
          this.fh = undefined;
          return;
        }
        this.lastChunkAt = Date.now();
        this.timer = setInterval(() => this.tick(), Math.max(50, Math.min(1000, this.chunkTimeoutMs / 4)));
        if (this.haveCount === this.count) void this.finish();
        else this.fill();
      },
      (e: unknown) => this.fail(e),
    );
    this.started = done;
    return done;
  }

  /** Stops pulling; the partial file and its progress stay for a later resume. */
  abort(): void {
    this.fail(new OtaError('aborted', 'transfer aborted'));
  }

  /** Resolves once the last progress write (e.g. the one an abort makes) is on disk. */
  flushed(): Promise<void> {
    return this.progressWrite;
  }

  /** Re-asks for every outstanding chunk (their requests may have died with the connection). */
  onConnect(): void {
    if (this.settled || !this.fh) return;
    const again = [...this.outstanding.keys()];
    if (again.length) {
      this.stats.repulls += again.length;
      this.pull(again);
    }
    this.fill();
  }

  onMessage(topic: string, payload: Buffer): boolean {
    if (topic !== this.chunkTopic) return false;
    if (this.settled) return true;
    let chunk;
    try {
      chunk = decodeChunk(payload);
    } catch (e) {
      this.stats.garbage++;
      this.deps.log.warn({ err: (e as ProtocolError).message, transferId: this.offer.transferId }, 'ota: unreadable chunk message ignored');
      return true;
    }
    const { index, data } = chunk;
    if (index >= this.count || data.length !== chunkLength(this.offer.size, this.offer.chunkSize, index)) {
      this.stats.garbage++;
      this.deps.log.warn({ index, bytes: data.length, transferId: this.offer.transferId }, 'ota: chunk with a bad index or length ignored');
      return true;
    }
    // nothing was asked for before the file is open: a stray copy from an earlier run
    if (!this.fh) return true;
    if (this.hasChunk(index) || this.writing.has(index)) {
      this.stats.duplicates++;
      return true;
    }
    const digest = createHash('sha256').update(data).digest();
    if (digest.toString('hex') !== this.offer.chunkSha256[index] || !digest.equals(chunk.sha256)) {
      if (!this.outstanding.has(index)) {
        // nobody asked for it: whoever sent it cannot use up the retries of a chunk (nor keep the transfer from idling out)
        this.stats.unsolicited++;
        if (this.stats.unsolicited === 1 || this.stats.unsolicited % 100 === 0) this.deps.log.warn({ index, unsolicited: this.stats.unsolicited, transferId: this.offer.transferId }, 'ota: bad copy of a chunk not requested: ignored');
        return true;
      }
      this.lastChunkAt = Date.now();
      this.stats.corrupt++;
      const bad = (this.badCopies.get(index) ?? 0) + 1;
      this.badCopies.set(index, bad);
      this.deps.log.warn({ index, copies: bad, transferId: this.offer.transferId }, 'ota: chunk failed its sha256');
      if (bad >= this.maxBadCopies) {
        this.fail(new OtaError('chunk_corrupt', `chunk ${index} failed its sha256 ${bad} times`));
        return true;
      }
      this.stats.repulls++;
      this.pull([index]);
      return true;
    }
    // a good copy is written whether or not it was asked for (its hash is the order's)
    this.lastChunkAt = Date.now();
    this.outstanding.delete(index);
    this.writing.add(index);
    // the payload buffer may be reused by the MQTT parser: copy before the async write
    const copy = Buffer.from(data);
    this.fh.write(copy, 0, copy.length, index * this.offer.chunkSize).then(
      () => {
        this.writing.delete(index);
        if (this.settled) return;
        this.setChunk(index);
        this.received += copy.length;
        this.stats.received++;
        this.progressDirty++;
        this.emit('progress', { bytes: this.received, total: this.offer.size });
        if (this.haveCount === this.count) void this.finish();
        else {
          this.maybeSaveProgress();
          this.fill();
        }
      },
      (e: NodeJS.ErrnoException) => {
        this.writing.delete(index);
        this.fail(ioError(e, `writing chunk ${index}`));
      },
    );
    return true;
  }

  // ---- internals ----

  private hasChunk(i: number): boolean {
    return (this.have[i >> 3] & (1 << (i & 7))) !== 0;
  }

  private setChunk(i: number): void {
    if (this.hasChunk(i)) return;
    this.have[i >> 3] |= 1 << (i & 7);
    this.haveCount++;
  }

  /** Opens (or resumes) the partial file; checks free space for what is still missing. */
  private async open(): Promise<void> {
    await fsp.mkdir(path.dirname(this.filePath), { recursive: true });
    // an unfinished progress write of an earlier run (a crash between its open and its rename)
    await fsp.rm(`${this.progressPath}.tmp`, { force: true });
    let prior = await this.readProgress();
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.filePath, prior ? 'r+' : 'w+');
    } catch (e) {
      if (!prior) throw ioError(e as NodeJS.ErrnoException, 'opening the partial file');
      // the progress file outlived its data file: start over
      prior = undefined;
      fh = await fsp.open(this.filePath, 'w+').catch((e2: NodeJS.ErrnoException) => Promise.reject(ioError(e2, 'opening the partial file')));
    }
    this.fh = fh;
    if (prior) await this.verifyResumed(prior);
    await this.writeKnownPrefix();
    const missing = this.offer.size - this.received;
    await checkFreeSpace(path.dirname(this.filePath), missing);
    try {
      await fh.truncate(this.offer.size);
    } catch (e) {
      throw ioError(e as NodeJS.ErrnoException, 'sizing the partial file');
    }
    if (this.received) this.deps.log.info({ transferId: this.offer.transferId, chunks: this.haveCount, of: this.count }, 'ota: resuming a transfer');
    this.emit('progress', { bytes: this.received, total: this.offer.size });
  }

  /** The bitmap of an earlier run of the same transfer, if any. */
  private async readProgress(): Promise<Uint8Array | undefined> {
    let p: ProgressFile;
    try {
      p = JSON.parse(await fsp.readFile(this.progressPath, 'utf8')) as ProgressFile;
    } catch {
      return undefined;
    }
    const o = this.offer;
    if (!p || p.transferId !== o.transferId || p.size !== o.size || p.sha256 !== o.sha256 || p.chunkSize !== o.chunkSize || typeof p.have !== 'string') return undefined;
    const bits = Buffer.from(p.have, 'base64');
    return bits.length === this.have.length ? new Uint8Array(bits) : undefined;
  }

  /** Trusts no claim: every chunk the bitmap says is written is read back and hashed. */
  private async verifyResumed(prior: Uint8Array): Promise<void> {
    const buf = Buffer.allocUnsafe(this.offer.chunkSize);
    for (let i = 0; i < this.count; i++) {
      if ((prior[i >> 3] & (1 << (i & 7))) === 0) continue;
      const len = chunkLength(this.offer.size, this.offer.chunkSize, i);
      const { bytesRead } = await this.fh!.read(buf, 0, len, i * this.offer.chunkSize);
      if (bytesRead !== len) continue;
      if (createHash('sha256').update(buf.subarray(0, len)).digest('hex') !== this.offer.chunkSha256[i]) continue;
      this.setChunk(i);
      this.received += len;
      this.stats.resumedChunks++;
    }
  }

  private async writeKnownPrefix(): Promise<void> {
    const prefix = this.offer.knownPrefix;
    if (!prefix) return;
    const size = this.offer.chunkSize;
    for (let i = 0; (i + 1) * size <= Math.min(prefix.length, this.offer.size); i++) {
      if (this.hasChunk(i)) continue;
      const data = Buffer.from(prefix.buffer, prefix.byteOffset + i * size, size);
      if (createHash('sha256').update(data).digest('hex') !== this.offer.chunkSha256[i]) return;
      try {
        await this.fh!.write(data, 0, size, i * size);
      } catch (e) {
        throw ioError(e as NodeJS.ErrnoException, `writing chunk ${i}`);
      }
      this.setChunk(i);
      this.received += size;
      this.stats.fromPrefix++;
    }
  }

  /** Asks for missing chunks until `window` are outstanding. */
  private fill(): void {
    if (this.settled || this.finishing) return;
    const want: number[] = [];
    while (this.outstanding.size + want.length < this.window && this.nextMissing < this.count) {
      const i = this.nextMissing++;
      if (!this.hasChunk(i) && !this.writing.has(i) && !this.outstanding.has(i)) want.push(i);
    }
    if (want.length) this.pull(want);
  }

  private pull(indices: number[]): void {
    const now = Date.now();
    for (const i of indices) this.outstanding.set(i, now);
    const topic = otaTopics.pull(this.deps.topicPrefix, this.offer.transferId);
    for (let k = 0; k < indices.length; k += MAX_PULL_CHUNKS) {
      const chunks = indices.slice(k, k + MAX_PULL_CHUNKS);
      // offline: nothing to do now, onConnect or the timeout asks again
      this.deps.publish(topic, encodePull({ deviceId: this.deps.deviceId, chunks }), { qos: 1 }).catch(() => false);
    }
  }

  private tick(): void {
    if (this.settled || this.finishing) return;
    const now = Date.now();
    if (now - this.lastChunkAt > this.maxIdleMs) {
      this.fail(new OtaError('transfer_timeout', `no chunk for ${Math.round((now - this.lastChunkAt) / 1000)} s`));
      return;
    }
    const late = [...this.outstanding].filter(([, at]) => now - at >= this.chunkTimeoutMs).map(([i]) => i);
    if (late.length) {
      this.stats.repulls += late.length;
      this.deps.log.debug({ chunks: late.length, transferId: this.offer.transferId }, 'ota: re-pulling late chunks');
      this.pull(late);
    }
    this.maybeSaveProgress();
  }

  private maybeSaveProgress(force = false): Promise<void> {
    if (!this.progressDirty && !force) return this.progressWrite;
    if (!force && this.progressDirty < PROGRESS_EVERY_CHUNKS && Date.now() - this.progressAt < PROGRESS_EVERY_MS) return this.progressWrite;
    this.progressDirty = 0;
    this.progressAt = Date.now();
    const doc: ProgressFile = { transferId: this.offer.transferId, size: this.offer.size, sha256: this.offer.sha256, chunkSize: this.offer.chunkSize, have: Buffer.from(this.have).toString('base64') };
    // one write at a time, each one a whole new file renamed over the old
    this.progressWrite = this.progressWrite.then(() => writeAtomic(this.progressPath, JSON.stringify(doc))).catch((e: Error) => {
      this.deps.log.warn({ err: e.message }, 'ota: progress not saved (a restart would pull those chunks again)');
    });
    return this.progressWrite;
  }

  private async finish(): Promise<void> {
    if (this.finishing || this.settled) return;
    this.finishing = true;
    try {
      const fh = this.fh!;
      await fh.sync();
      const h = createHash('sha256');
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let off = 0; off < this.offer.size; ) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, this.offer.size - off), off);
        if (bytesRead === 0) throw new OtaError('truncated', `the partial file ends at ${off} of ${this.offer.size} bytes`);
        h.update(buf.subarray(0, bytesRead));
        off += bytesRead;
      }
      const got = h.digest('hex');
      if (got !== this.offer.sha256) {
        // every chunk matched its own hash: the order's list and total disagree
        await fsp.rm(this.progressPath, { force: true });
        throw new OtaError('hash_mismatch', `the bundle's sha256 is ${got}, the order says ${this.offer.sha256}`);
      }
      await this.maybeSaveProgress(true);
      await syncDir(path.dirname(this.filePath));
      this.settle();
      this.deps.log.info({ transferId: this.offer.transferId, bytes: this.offer.size, ...this.stats }, 'ota: bundle received');
      this.resolveStart();
    } catch (e) {
      this.finishing = false;
      this.fail(e);
    }
  }

  private settle(): void {
    this.settled = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.outstanding.clear();
    const fh = this.fh;
    this.fh = undefined;
    void this.progressWrite.then(() => fh?.close()).catch(() => undefined);
  }

  private fail(e: unknown): void {
    if (this.settled) return;
    const err = e instanceof OtaError ? e : new OtaError('internal', (e as Error)?.message ?? String(e));
    // keep what was written for a resume (unless the data itself was wrong)
    if (err.code !== 'hash_mismatch' && err.code !== 'chunk_corrupt') void this.maybeSaveProgress(true);
    this.settle();
    this.rejectStart(err);
  }
}

export function progressPathOf(filePath: string): string {
  return `${filePath}.progress`;
}

/** Removes a partial or finished download, its progress file and any unfinished progress write. */
export async function discardDownload(filePath: string): Promise<void> {
  await fsp.rm(filePath, { force: true });
  await fsp.rm(progressPathOf(filePath), { force: true });
  await fsp.rm(`${progressPathOf(filePath)}.tmp`, { force: true });
}

function ioError(e: NodeJS.ErrnoException, what: string): OtaError {
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return new OtaError('no_space', `${what}: the disk is full`);
  return new OtaError('io', `${what}: ${e.message}`);
}

async function checkFreeSpace(dir: string, need: number): Promise<void> {
  let free: number;
  try {
    const s = await fsp.statfs(dir);
    free = s.bavail * s.bsize;
  } catch {
    return; // statfs unsupported here: the writes will tell
  }
  if (free < need) throw new OtaError('no_space', `${need} bytes still to download, ${free} free in ${dir}`);
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } catch (e) {
    // a full disk fails the write after the open: no half-written temp file stays behind
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await fsp.rename(tmp, file);
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    // some filesystems refuse fsync on directories; the data file itself is synced
  } finally {
    await fh.close();
  }
}
