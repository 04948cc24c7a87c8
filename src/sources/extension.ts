// The `sources` extension: runs one SerialSource per configured source and reports
// their counters as the `sources` section of the status. On reload the sources are
// restarted when their configuration changed.
import type { Config } from '../config/schema';
import type { SourceConfig } from '../config/sources-schema';
import type { Extension, ExtensionContext } from '../daemon/extension';
import { inputMismatch, SerialSource, SourceStatus } from './source';

export class SourcesExtension implements Extension {
  readonly name = 'sources';
  private ctx: ExtensionContext | undefined;
  private sources: SerialSource[] = [];
  /** Sources whose model cannot take their windows (after a reload): not started. */
  private refused = new Map<string, { cfg: SourceConfig; error: string }>();
  private running = '';

  async start(ctx: ExtensionContext): Promise<void> {
    this.ctx = ctx;
    const c = ctx.config();
    // at start-up a source that cannot feed its model is a configuration error
    for (const s of c.sources) {
      const slot = ctx.scheduler.get(s.model);
      const why = slot ? inputMismatch(s, slot.inputs) : `model '${s.model}' is not loaded`;
      if (why) throw new Error(`sources '${s.name}': ${why}`);
    }
    this.launch(c.sources);
  }

  private launch(list: SourceConfig[]): void {
    const ctx = this.ctx!;
    this.running = JSON.stringify(list);
    for (const s of list) {
      const slot = ctx.scheduler.get(s.model);
      const why = slot ? inputMismatch(s, slot.inputs) : `model '${s.model}' is not loaded`;
      if (why) {
        ctx.log.error({ source: s.name, err: why }, 'serial source not started');
        this.refused.set(s.name, { cfg: s, error: why });
        continue;
      }
      const src = new SerialSource(s, ctx);
      src.start();
      this.sources.push(src);
    }
  }

  async onReload(): Promise<void> {
    const next = this.ctx!.config().sources;
    if (JSON.stringify(next) === this.running && !this.refused.size) return;
    await this.stopAll();
    this.launch(next);
  }

  private async stopAll(): Promise<void> {
    const list = this.sources.splice(0);
    this.refused.clear();
    await Promise.all(list.map((s) => s.stop()));
  }

  async stop(): Promise<void> {
    await this.stopAll();
  }

  status(): Record<string, SourceStatus | { path: string; model: string; state: 'error'; lastError: string }> {
    const out: Record<string, SourceStatus | { path: string; model: string; state: 'error'; lastError: string }> = {};
    for (const s of this.sources) out[s.cfg.name] = s.status();
    for (const [name, r] of this.refused) out[name] = { path: r.cfg.path, model: r.cfg.model, state: 'error', lastError: r.error };
    return out;
  }
}

/** Registered in src/daemon/extensions/index.ts: present when the config has sources. */
export function createSourcesExtension(config: Config): Extension | undefined {
  return config.sources.length ? new SourcesExtension() : undefined;
}
