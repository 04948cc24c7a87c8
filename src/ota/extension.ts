// The device side of over-the-air updates (README "Over-the-air updates"): takes
// update and rollback orders on `<p>/<d>/ota/order` and the update lock on
// `<p>/<d>/ota/lock`; downloads through the chunk downloader, verifies, installs
// into the inactive slot, self-tests a shadow instance, switches between requests
// (Scheduler.replace), watches a health window and rolls back by itself. Every step
// is in state.json first, so a restart resumes or rolls back, never half-switches.
import { existsSync, rmSync, statSync } from 'node:fs';
import type { IPublishPacket } from 'mqtt';
import type { Config, ModelConfig } from '../config/schema';
import type { OtaConfig } from '../config/ota-schema';
import type { Extension, ExtensionContext } from '../daemon/extension';
import { createLogger, Logger } from '../daemon/logger';
import type { ModelSlot } from '../daemon/scheduler';
import { loadSlot, SlotSource } from '../daemon/slots';
import { readSlot } from './active';
import { readBundleHeader, verifyBundleFile } from './bundle';
import { ENGINE_VERSION } from './engine-version';
import { OtaError, otaCode } from './errors';
import { applyTestFault } from './fault';
import { HealthMonitor } from './health';
import { KeyRing } from './keys';
import { UpdateLock } from './lock';
import { verifyRollbackOrder } from './rollback-order';
import { runSelfTest } from './selftest';
import { compareSemver, isSemver } from './semver';
import { isFinal, OtaState as OtaStateName, OtaStatus } from './status';
import { addRolledBack, OtaState, OtaStore, SlotName } from './store';
import { ChunkDownloader, discardDownload } from './transfer/downloader';
import { otaTopics, parseOrder, ProtocolError, RollbackOrder, UpdateOrder } from './transfer/protocol';

const PROGRESS_PUBLISH_MS = 500;

/** The update in progress. */
interface Current {
  transferId: string;
  name: string | null;
  version: string | null;
  bytes: number;
  total: number;
  downloader?: ChunkDownloader;
  health?: { cancel(): void };
  done: Promise<void>;
}

export class OtaExtension implements Extension {
  readonly name = 'ota';
  private ctx!: ExtensionContext;
  private readonly cfg: OtaConfig;
  readonly store: OtaStore;
  private keys!: KeyRing;
  private state: OtaState;
  private readonly lock = new UpdateLock();
  private health!: HealthMonitor;
  private current: Current | undefined;
  private stopping = false;
  private last: OtaStatus | undefined;
  private lastProgressAt = 0;
  private readonly bootLog: Logger;

  /** Why state.json was not there to load while slots hold bundles (published as the status at start-up). */
  private stateLost: string | undefined;

  /** A stateDir that cannot be used: reported by start(), which fails start-up with it. */
  private initError: Error | undefined;

  constructor(private readonly config: Config) {
    this.cfg = config.ota!;
    this.bootLog = createLogger(config.logLevel, config.deviceId!);
    this.store = undefined as unknown as OtaStore;
    this.state = { format: 1, models: {}, finished: [], rolledBack: [] };
    try {
      this.store = new OtaStore(this.cfg.stateDir);
      const hadStateFile = existsSync(this.store.stateFile);
      this.state = this.store.load();
      if (this.store.loadProblem) this.bootLog.error({ err: this.store.loadProblem }, 'OTA state unusable: starting from the configured models');
      const slotsHeld = config.models.some((m) => existsSync(this.store.bundlePath('a', m.name)) || existsSync(this.store.bundlePath('b', m.name)));
      if (slotsHeld && (this.store.loadProblem || !hadStateFile)) this.stateLost = this.store.loadProblem ?? 'state.json is missing';
      // before any model loads: count this start against each unconfirmed activation
      this.countBoot();
    } catch (e) {
      this.initError = new Error(`ota.stateDir ${this.cfg.stateDir}: ${(e as Error).message}`);
    }
  }

  private get log(): Logger {
    return this.ctx?.log ?? this.bootLog;
  }

  /** Crash-loop detection: an activation not yet confirmed gets one more start; too many and it is rolled back before loading. */
  private countBoot(): void {
    let changed = false;
    for (const [name, ms] of Object.entries(this.state.models)) {
      if (!ms.pending) continue;
      ms.pending.boots++;
      changed = true;
      if (ms.pending.boots <= this.cfg.crashLoopStarts) continue;
      const failed = ms.activeVersion;
      this.state.rolledBack = addRolledBack(this.state.rolledBack, { name, version: failed, at: Date.now(), by: 'crash_loop' });
      const status = this.statusFor({ transferId: ms.pending.transferId, name, version: failed, bytes: 0, total: 0 }, 'rolled_back:crash_loop', `the daemon started ${ms.pending.boots} times without the new version passing its health window`);
      this.revertInState(name);
      status.activeVersion = this.activeVersionOf(name);
      this.remember(status);
      this.bootLog.error({ model: name, version: failed, boots: ms.pending.boots }, 'OTA: crash loop after an activation: rolled back before loading');
    }
    if (changed) this.trySave('boot count');
  }

  async start(ctx: ExtensionContext): Promise<void> {
    if (this.initError) throw this.initError;
    this.ctx = ctx;
    this.keys = KeyRing.fromFiles(this.cfg.trustedKeys);
    this.health = new HealthMonitor(ctx.scheduler);
    this.last = this.state.last as OtaStatus | undefined;
    this.reconcile();
    if (this.stateLost) {
      // the retained status of the broker still tells the outcome the lost state recorded: replace it
      for (const [i, m] of this.config.models.entries()) {
        const served = ctx.scheduler.get(m.name)?.identity.version ?? m.version;
        this.finish({ transferId: `state-check-${Date.now()}-${i}`, name: m.name, version: null, bytes: 0, total: 0 }, 'failed:state_lost', `OTA state lost at start-up (${this.stateLost}): serving ${served} from the configured file; updates must be newer than the versions the slots hold`);
      }
    }
    // an unconfirmed activation that survived the boot count gets its health window again
    for (const [name, ms] of Object.entries(this.state.models)) {
      if (!ms.pending) continue;
      const slot = ctx.scheduler.get(name);
      if (!slot) continue;
      this.begin({ transferId: ms.pending.transferId, name, version: ms.activeVersion, bytes: 0, total: 0 }, (c) => this.watchHealth(c, name, slot));
      break;
    }
    // a transfer interrupted by a restart resumes
    const t = this.state.transfer;
    if (!this.current && t?.phase === 'installed' && (t.resumes ?? 0) >= this.cfg.crashLoopStarts) {
      // every start that resumed this bundle's self-test or activation died before finishing it
      const name = t.name ?? null;
      this.log.error({ transferId: t.transferId, resumes: t.resumes }, 'OTA: the installed update keeps stopping the daemon: given up');
      this.state.transfer = undefined;
      this.discardInstalled(t);
      this.finish({ transferId: t.transferId, name, version: null, bytes: 0, total: 0 }, 'failed:crash_loop', `${t.resumes} start-ups did not get through the self-test and activation`);
    } else if (!this.current && t) {
      if (t.phase === 'installed') {
        t.resumes = (t.resumes ?? 0) + 1;
        this.trySave('resume count');
      }
      try {
        const order = parseOrder(JSON.stringify(t.order)) as UpdateOrder;
        this.startUpdate(order, true);
      } catch (e) {
        this.log.error({ err: (e as Error).message }, 'OTA: the saved transfer is unusable: dropped');
        this.state.transfer = undefined;
        this.trySave('dropped transfer');
      }
    }
  }

  /**
   * state.json follows what was loaded: a slot that no longer verified at load
   * (src/ota/active.ts served the previous slot or the configured file instead) is
   * no longer active, so no later rollback can go back to it.
   */
  private reconcile(): void {
    for (const [name, ms] of Object.entries(this.state.models)) {
      const served = this.ctx.scheduler.get(name)?.identity.version;
      if (served === undefined || served === ms.activeVersion) continue;
      const fromPrevious = ms.previous && ms.previous !== 'config' && served === ms.previousVersion;
      if (fromPrevious) this.state.models[name] = { active: ms.previous as SlotName, activeVersion: served };
      else delete this.state.models[name];
      this.log.error({ model: name, slot: ms.active, version: ms.activeVersion, serving: served }, 'OTA: the active slot did not verify at load: serving the fallback');
      const why = `slot ${ms.active} (${name} ${ms.activeVersion}) did not verify at start-up: serving ${served} from ${fromPrevious ? `slot ${ms.previous}` : 'the configured file'}`;
      // the retained status says what serves now, not the outcome of the update that installed the damaged slot
      if (ms.pending) this.finish({ transferId: ms.pending.transferId, name, version: ms.activeVersion, bytes: 0, total: 0 }, 'rolled_back:load_failed', why);
      else this.finish({ transferId: `slot-check-${Date.now()}`, name, version: ms.activeVersion, bytes: 0, total: 0 }, 'failed:slot_damaged', why);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const c = this.current;
    if (!c) return;
    c.downloader?.abort();
    c.health?.cancel();
    this.lock.cancelWaits();
    // a shadow load or self-test in progress finishes quickly; do not wait forever
    await Promise.race([c.done.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
  }

  subscriptions(): string[] {
    const p = this.config.topicPrefix;
    const d = this.config.deviceId!;
    return [otaTopics.order(p, d), otaTopics.lock(p, d), otaTopics.chunkFilter(p, d)];
  }

  onConnect(): void {
    this.current?.downloader?.onConnect();
    if (this.last) this.publish(this.last);
  }

  onMessage(topic: string, payload: Buffer, _packet: IPublishPacket): boolean {
    const p = this.config.topicPrefix;
    const d = this.config.deviceId!;
    if (topic === otaTopics.order(p, d)) {
      this.onOrder(payload);
      return true;
    }
    if (topic === otaTopics.lock(p, d)) {
      this.onLock(payload);
      return true;
    }
    if (topic.startsWith(`${p}/${d}/ota/chunk/`)) {
      const dl = this.current?.downloader;
      if (dl) dl.onMessage(topic, payload);
      return true;
    }
    return false;
  }

  status(): unknown {
    return {
      state: this.current ? (this.last?.state ?? 'offered') : (this.last?.state ?? 'idle'),
      transferId: this.current?.transferId ?? this.last?.transferId ?? null,
      lockedUntil: this.lock.held() ? new Date(this.lock.heldUntil).toISOString() : null,
      models: Object.fromEntries(Object.entries(this.state.models).map(([n, m]) => [n, { slot: m.active, version: m.activeVersion, previousVersion: m.previousVersion ?? null, confirmed: !m.pending }])),
    };
  }

  // ---- messages ----

  private onLock(payload: Buffer): void {
    let holdS: unknown;
    try {
      holdS = (JSON.parse(payload.toString()) as { holdS?: unknown })?.holdS;
    } catch {
      holdS = undefined;
    }
    if (typeof holdS !== 'number' || !Number.isFinite(holdS) || holdS < 0 || holdS > 7 * 86_400) {
      this.log.warn({ payload: payload.subarray(0, 128).toString() }, 'OTA: lock message ignored: expected {"holdS": 0..604800}');
      return;
    }
    this.lock.hold(holdS);
    this.log.info({ holdS }, holdS ? 'OTA: update lock held' : 'OTA: update lock released');
    this.ctx.publishStatus();
  }

  private onOrder(payload: Buffer): void {
    let order;
    try {
      order = parseOrder(payload);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.log.warn({ err: e.message }, 'OTA: order ignored');
      // an order we can read the id of still gets an answer
      const id = safeTransferId(payload);
      if (id && !this.current) this.finish({ transferId: id, name: null, version: null, bytes: 0, total: 0 }, 'failed:bad_order', e.message);
      return;
    }
    if (order.type === 'rollback') this.onRollback(order);
    else this.startUpdate(order, false);
  }

  // ---- update ----

  private startUpdate(order: UpdateOrder, resumed: boolean): void {
    const id = order.transferId;
    if (this.current) {
      if (this.current.transferId === id) return; // a repeated order: it is running
      // a second update while one runs: answer it, then put the running one's status back
      const busy = this.statusFor({ transferId: id, name: null, version: null, bytes: 0, total: 0 }, 'failed:busy', `update ${this.current.transferId} is in progress`);
      this.publish(busy);
      if (this.last) this.publish(this.last);
      return;
    }
    const prior = this.state.finished.find((f) => f.transferId === id);
    if (prior && !resumed) {
      this.publish(prior.status as unknown as OtaStatus);
      return;
    }
    this.begin({ transferId: id, name: null, version: null, bytes: 0, total: order.bundle.size }, (c) => this.runUpdate(c, order));
  }

  /** Runs `body` as the current job; failures become its final status. */
  private begin(init: Omit<Current, 'done'>, body: (c: Current) => Promise<void>): Current {
    const c = init as Current;
    this.current = c;
    c.done = (async () => {
      try {
        await body(c);
      } catch (e) {
        if (this.stopping) {
          this.log.info({ transferId: c.transferId, err: (e as Error).message }, 'OTA: interrupted by shutdown: resumes at the next start');
          return;
        }
        const code = otaCode(e);
        if (code === 'internal') this.log.error({ err: (e as Error).stack }, 'OTA: update failed unexpectedly');
        else this.log.warn({ transferId: c.transferId, code, err: (e as Error).message }, 'OTA: update failed');
        try {
          await this.dropTransfer(c.transferId);
        } catch (e2) {
          this.log.error({ err: (e2 as Error).message }, 'OTA: cleaning up the failed transfer failed');
        }
        this.finish(c, `failed:${code}`, (e as Error).message);
      } finally {
        if (this.current === c) this.current = undefined;
      }
    })();
    return c;
  }

  private async runUpdate(c: Current, order: UpdateOrder): Promise<void> {
    const headerBytes = Buffer.from(order.header, 'base64');
    const header = readBundleHeader(headerBytes, this.keys);
    const m = header.manifest;
    c.name = m.name;
    c.version = m.version;
    if (order.bundle.size < header.totalBytes) throw new OtaError('truncated', `the order announces ${order.bundle.size} bytes; the signed manifest says the bundle has ${header.totalBytes}`);
    if (order.bundle.size > header.totalBytes) throw new OtaError('oversize', `the order announces ${order.bundle.size} bytes; the signed manifest says the bundle has ${header.totalBytes}`);
    const mc = this.modelConfig(m.name);
    if (compareSemver(m.minEngine, ENGINE_VERSION) > 0) throw new OtaError('engine_too_old', `the bundle needs engine ${m.minEngine}; this is ${ENGINE_VERSION}`);
    this.checkNotDowngrade(m.name, m.version, mc);
    const t = this.state.transfer;
    const resuming = t?.transferId === c.transferId && t.phase === 'installed';
    let slot: SlotName;
    if (resuming) {
      slot = t.slot!;
    } else {
      this.progress(c, 'offered');
      const file = this.store.incomingPath(c.transferId);
      const already = existsSync(file) ? Math.min(statSync(file).size, order.bundle.size) : 0;
      this.store.checkSpace(order.bundle.size, this.cfg.maxStorageBytes, already);
      this.state.transfer = { transferId: c.transferId, order: order as unknown as Record<string, unknown>, file, phase: 'download' };
      this.store.save(this.state);
      await this.download(c, order, file);
      this.progress(c, 'verifying');
      verifyBundleFile(file, this.keys, { expectHeader: headerBytes });
      this.progress(c, 'installing');
      slot = this.store.inactiveSlot(this.state, m.name);
      const ms = this.state.models[m.name];
      if (ms?.previous === slot) {
        // the previous version's bundle is about to be replaced: it is no rollback target any more
        ms.previous = undefined;
        ms.previousVersion = undefined;
        this.store.save(this.state);
      }
      this.store.install(file, slot, m.name);
      await discardDownload(file); // the progress file
      this.state.transfer = { ...this.state.transfer, phase: 'installed', slot, name: m.name };
      this.store.save(this.state);
    }
    this.abortIfStopping();
    this.progress(c, 'self_testing');
    const shadow = await this.shadowLoad(mc, slot);
    try {
      await runSelfTest(shadow.instances.map((i) => i.model), readSlotManifest(this.store, this.keys, slot, m.name));
      this.abortIfStopping();
      if (!order.lockOverride) {
        const r = await this.lock.waitFree(this.cfg.maxDeferralS * 1000, () => this.progress(c, 'deferred'), () => this.stopping);
        if (r === 'cancelled') throw new OtaError('aborted', 'stopping');
        if (r === 'expired') this.log.warn({ transferId: c.transferId }, 'OTA: update lock held past ota.maxDeferralS: activating anyway');
      }
      this.abortIfStopping();
    } catch (e) {
      shadow.dispose();
      throw e;
    }
    this.progress(c, 'activating');
    const before = this.state.models[m.name];
    const undo = { model: before, transfer: this.state.transfer, allow: this.state.allowDowngrade, rolledBack: this.state.rolledBack };
    this.state.models[m.name] = {
      active: slot,
      activeVersion: m.version,
      previous: before ? before.active : 'config',
      previousVersion: before ? before.activeVersion : mc.version,
      pending: { transferId: c.transferId, since: Date.now(), boots: 0 },
    };
    this.state.transfer = undefined;
    if (this.state.allowDowngrade?.name === m.name) this.state.allowDowngrade = undefined;
    // a version a signed order allowed again is no longer refused
    this.state.rolledBack = this.state.rolledBack.filter((x) => x.name !== m.name || x.version !== m.version);
    try {
      this.store.save(this.state);
    } catch (e) {
      // not recorded, so not switched: memory goes back to what the disk says
      if (undo.model) this.state.models[m.name] = undo.model;
      else delete this.state.models[m.name];
      this.state.transfer = undo.transfer;
      this.state.allowDowngrade = undo.allow;
      this.state.rolledBack = undo.rolledBack;
      shadow.dispose();
      throw e;
    }
    applyTestFault(shadow.instances.map((i) => i.model), m.version);
    // between requests: queued ones move to the new models, running ones finish on the old
    this.ctx.scheduler.replace(shadow, { by: 'ota' });
    this.log.info({ model: m.name, version: m.version, slot }, 'OTA: new version active; health window started');
    this.ctx.publishStatus();
    await this.watchHealth(c, m.name, shadow);
  }

  private async watchHealth(c: Current, name: string, slot: ModelSlot): Promise<void> {
    this.progress(c, 'health_check');
    const w = this.health.watch(slot, { windowMs: this.cfg.healthWindowS * 1000, maxErrorRate: this.cfg.maxErrorRate, minRuns: this.cfg.healthMinRuns });
    c.health = w;
    const r = await w.result;
    if (r.ok === 'cancelled') throw new OtaError('aborted', 'stopping');
    if (r.ok) {
      const ms = this.state.models[name];
      if (ms) ms.pending = undefined;
      // if this cannot be written, the next start watches the version once more
      this.trySave('confirmation');
      this.log.info({ model: name, version: c.version, runs: r.runs, errors: r.errors }, 'OTA: health window passed');
      this.finish(c, 'succeeded');
      return;
    }
    this.log.error({ model: name, version: c.version, runs: r.runs, errors: r.errors }, 'OTA: health window failed: rolling back');
    const failed = this.state.models[name]?.activeVersion;
    if (failed) this.state.rolledBack = addRolledBack(this.state.rolledBack, { name, version: failed, at: Date.now(), by: 'health_check' });
    await this.rollBack(name);
    this.finish(c, 'rolled_back:health_check', r.reason);
  }

  private async download(c: Current, order: UpdateOrder, file: string): Promise<void> {
    this.progress(c, 'downloading');
    const dl = new ChunkDownloader(
      {
        publish: (topic, payload, opts) => this.ctx.publish(topic, payload, opts),
        topicPrefix: this.config.topicPrefix,
        deviceId: this.config.deviceId!,
        log: this.log,
        window: this.cfg.chunkWindow,
        chunkTimeoutMs: this.cfg.chunkTimeoutMs,
        maxIdleMs: this.cfg.transferIdleS * 1000,
      },
      { transferId: order.transferId, ...order.bundle },
      file,
    );
    c.downloader = dl;
    dl.on('progress', (p: { bytes: number; total: number }) => {
      c.bytes = p.bytes;
      const now = Date.now();
      if (now - this.lastProgressAt >= PROGRESS_PUBLISH_MS || p.bytes === p.total) {
        this.lastProgressAt = now;
        this.progress(c, 'downloading');
      }
    });
    try {
      await dl.start();
    } finally {
      c.downloader = undefined;
      // the progress write of a failure lands before the caller may discard the download
      await dl.flushed();
    }
    c.bytes = order.bundle.size;
  }

  /** Loads every configured instance of the model from `slot` (not yet serving). */
  private async shadowLoad(mc: ModelConfig, slot: SlotName, expectVersion?: string): Promise<ModelSlot> {
    let src: SlotSource;
    try {
      src = readSlot(this.store, this.keys, slot, mc.name, expectVersion);
    } catch (e) {
      throw e instanceof OtaError ? e : new OtaError('bad_bundle', (e as Error).message);
    }
    try {
      return await loadSlot(mc, src);
    } catch (e) {
      throw new OtaError('load_failed', (e as Error).message);
    }
  }

  /**
   * An update must be newer than the floor: the active version and every version held
   * verified in a slot (the slots outlive a lost state.json), leaving out versions
   * rolled back here and the bundle of this very update. A rolled-back version is
   * refused whatever its number. A signed rollback order naming the version allows it.
   */
  private checkNotDowngrade(name: string, version: string, mc: ModelConfig): void {
    const allow = this.state.allowDowngrade;
    if (allow && allow.name === name && allow.version === version && allow.until > Date.now()) return;
    const back = this.state.rolledBack.find((x) => x.name === name && x.version === version);
    if (back) throw new OtaError('rolled_back', `version ${version} of '${name}' was rolled back here (${back.by}, ${new Date(back.at).toISOString()}); a signed rollback order naming it allows it again`);
    const active = this.state.models[name]?.activeVersion ?? mc.version;
    if (isSemver(active) && compareSemver(version, active) <= 0) throw new OtaError('downgrade', `version ${version} is not newer than the active ${active} (a signed rollback order can allow it)`);
    // a slot's own version again is no downgrade (it is verified here already); an older one is
    for (const held of this.heldVersions(name)) {
      if (compareSemver(version, held.version) < 0) throw new OtaError('downgrade', `version ${version} is older than ${held.version}, held verified in slot ${held.slot} (a signed rollback order can allow it)`);
    }
  }

  /** Versions of `name` whose slot bundle verifies, not rolled back, not the installed update being resumed. */
  private heldVersions(name: string): { slot: SlotName; version: string }[] {
    const t = this.state.transfer;
    const out: { slot: SlotName; version: string }[] = [];
    for (const slot of ['a', 'b'] as SlotName[]) {
      if (t?.phase === 'installed' && t.slot === slot) continue;
      if (!existsSync(this.store.bundlePath(slot, name))) continue;
      let version: string;
      try {
        version = readSlotManifest(this.store, this.keys, slot, name).version;
      } catch {
        continue; // damaged or foreign: it holds no floor
      }
      if (isSemver(version) && !this.state.rolledBack.some((x) => x.name === name && x.version === version)) out.push({ slot, version });
    }
    return out;
  }

  private modelConfig(name: string): ModelConfig {
    const mc = this.ctx.config().models.find((x) => x.name === name);
    if (!mc) throw new OtaError('unknown_model', `this device serves no model named '${name}'`);
    return mc;
  }

  /** Saves state.json where a failure must not stop what is being done (logged). */
  private trySave(what: string): boolean {
    try {
      this.store.save(this.state);
      return true;
    } catch (e) {
      this.log.error({ err: (e as Error).message, what }, 'OTA: cannot save state.json');
      return false;
    }
  }

  private abortIfStopping(): void {
    if (this.stopping) throw new OtaError('aborted', 'stopping');
  }

  private async dropTransfer(transferId: string): Promise<void> {
    if (this.state.transfer?.transferId !== transferId) return;
    const t = this.state.transfer;
    this.state.transfer = undefined;
    // the partial file first: on a full disk that is what makes room for state.json
    if (t.phase === 'download') await discardDownload(t.file).catch(() => undefined);
    else this.discardInstalled(t);
    this.trySave('dropped transfer');
  }

  /** An installed bundle that never served (self-test failed, given up) leaves its slot: it holds no downgrade floor. */
  private discardInstalled(t: NonNullable<OtaState['transfer']>): void {
    if (t.phase !== 'installed' || !t.slot || !t.name) return;
    const ms = this.state.models[t.name];
    if (ms && (ms.active === t.slot || ms.previous === t.slot)) return;
    try {
      rmSync(this.store.bundlePath(t.slot, t.name), { force: true });
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'OTA: cannot remove the bundle of a failed update');
    }
  }

  // ---- rollback ----

  /** Serves the previous slot (or the configured file) again and forgets the failed version. */
  private async rollBack(name: string): Promise<void> {
    const mc = this.modelConfig(name);
    const ms = this.state.models[name];
    if (!ms) return;
    const prev = ms.previous;
    let slot: ModelSlot | undefined;
    if (prev && prev !== 'config') {
      try {
        slot = await this.shadowLoad(mc, prev, ms.previousVersion);
      } catch (e) {
        // the previous slot is gone bad: the configured file is the last verified-by-the-operator choice
        this.log.error({ model: name, slot: prev, err: (e as Error).message }, 'OTA: the previous slot does not load: rolling back to the configured file');
        ms.previous = 'config';
        ms.previousVersion = mc.version;
      }
    }
    slot ??= await loadSlot(mc);
    this.revertInState(name);
    // the rollback happens even when the disk cannot record it: serving the good model comes first
    this.trySave('rollback');
    this.ctx.scheduler.replace(slot, { by: 'ota' });
    this.ctx.publishStatus();
  }

  /** state.json: the model's previous slot becomes active (or the config file when there was none). */
  private revertInState(name: string): void {
    const ms = this.state.models[name];
    if (!ms) return;
    if (ms.previous && ms.previous !== 'config') this.state.models[name] = { active: ms.previous, activeVersion: ms.previousVersion ?? 'unknown' };
    else delete this.state.models[name];
  }

  private onRollback(order: RollbackOrder): void {
    let body;
    try {
      body = verifyRollbackOrder(order.order, order.signature, this.keys, this.config.deviceId!, this.cfg.rollbackMaxAgeS, this.cfg.clockSkewS);
      if ((this.state.rollbackSeen ?? 0) >= body.issuedAtMs) throw new OtaError('bad_order', 'a rollback order at least as recent was already carried out (replay?)');
      this.modelConfig(body.name);
    } catch (e) {
      const code = otaCode(e);
      this.log.warn({ code, err: (e as Error).message }, 'OTA: rollback order refused');
      if (!this.current) this.finish({ transferId: 'rollback', name: null, version: null, bytes: 0, total: 0 }, `failed:${code}`, (e as Error).message);
      return;
    }
    const id = `rollback-${body.issuedAtMs}`;
    if (this.current) {
      this.publish(this.statusFor({ transferId: id, name: body.name, version: body.toVersion, bytes: 0, total: 0 }, 'failed:busy', `update ${this.current.transferId} is in progress`));
      return;
    }
    this.state.rollbackSeen = body.issuedAtMs;
    // the order also allows a following update to that older version
    this.state.allowDowngrade = { name: body.name, version: body.toVersion, until: Date.now() + this.cfg.rollbackMaxAgeS * 1000 };
    try {
      this.store.save(this.state);
    } catch (e) {
      // without the record a replay could not be recognised: refuse
      this.finish({ transferId: id, name: body.name, version: body.toVersion, bytes: 0, total: 0 }, `failed:${otaCode(e)}`, (e as Error).message);
      return;
    }
    const ms = this.state.models[body.name];
    const toPrevious = ms && ms.previousVersion === body.toVersion;
    this.begin({ transferId: id, name: body.name, version: body.toVersion, bytes: 0, total: 0 }, async (c) => {
      if (!toPrevious) {
        // nothing to switch to here: the console sends the older bundle next, which is now allowed
        this.log.info({ model: body.name, toVersion: body.toVersion }, 'OTA: rollback order accepted: an update to that version is allowed');
        this.finish(c, 'succeeded', `an update of '${body.name}' to ${body.toVersion} is allowed`);
        return;
      }
      this.progress(c, 'activating');
      const from = this.state.models[body.name]?.activeVersion;
      if (from) this.state.rolledBack = addRolledBack(this.state.rolledBack, { name: body.name, version: from, at: Date.now(), by: 'operator' });
      await this.rollBack(body.name);
      this.log.info({ model: body.name, version: body.toVersion }, 'OTA: rolled back by order');
      this.finish(c, 'rolled_back:operator');
    });
  }

  // ---- status ----

  private activeVersionOf(name: string | null): string | null {
    // before a manifest is trusted its model name is unknown: a one-model device still says what it serves
    if (!name && this.config.models.length === 1) name = this.config.models[0].name;
    if (!name) return null;
    return this.state.models[name]?.activeVersion ?? this.config.models.find((m) => m.name === name)?.version ?? null;
  }

  private statusFor(c: Pick<Current, 'transferId' | 'name' | 'version' | 'bytes' | 'total'>, state: OtaStateName, reason?: string): OtaStatus {
    const ms = c.name ? this.state.models[c.name] : undefined;
    return {
      state,
      transferId: c.transferId,
      name: c.name,
      version: c.version,
      bytes: c.bytes,
      total: c.total,
      ...(reason ? { reason } : {}),
      activeVersion: this.activeVersionOf(c.name),
      ...(ms?.previousVersion ? { previousVersion: ms.previousVersion } : {}),
      at: new Date().toISOString(),
    };
  }

  private progress(c: Current, state: OtaStateName): void {
    const s = this.statusFor(c, state);
    this.last = s;
    this.publish(s);
  }

  /** A final status: remembered in state.json (republished at start-up, answers a repeated order). */
  private finish(c: Pick<Current, 'transferId' | 'name' | 'version' | 'bytes' | 'total'>, state: OtaStateName, reason?: string): void {
    const s = this.statusFor(c, state, reason);
    this.remember(s);
    this.trySave('final status');
    this.publish(s);
    this.ctx?.publishStatus();
  }

  private remember(s: OtaStatus): void {
    if (!isFinal(s.state)) return;
    this.last = s;
    this.state.last = s as unknown as Record<string, unknown>;
    this.state.finished = [...this.state.finished.filter((f) => f.transferId !== s.transferId), { transferId: s.transferId, status: s as unknown as Record<string, unknown> }].slice(-32);
  }

  private publish(s: OtaStatus): void {
    if (!this.ctx) return;
    void this.ctx.publish(otaTopics.status(this.config.topicPrefix, this.config.deviceId!), JSON.stringify(s), { qos: 1, retain: true });
  }
}

function readSlotManifest(store: OtaStore, keys: KeyRing, slot: SlotName, name: string) {
  const { header } = verifyBundleFile(store.bundlePath(slot, name), keys);
  if (header.manifest.name !== name) throw new OtaError('bad_bundle', `slot ${slot} holds '${header.manifest.name}'`);
  return header.manifest;
}

function safeTransferId(payload: Buffer): string | undefined {
  if (payload.length > 64 * 1024 * 1024) return undefined;
  try {
    const id = (JSON.parse(payload.toString()) as { transferId?: unknown })?.transferId;
    return typeof id === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

export function createOtaExtension(config: Config): Extension | undefined {
  return config.ota ? new OtaExtension(config) : undefined;
}
