// Which model bytes the daemon serves for a model that OTA has updated: the bundle
// in its active slot, verified again (signature, hashes) on every load. A slot that
// no longer verifies falls back to the previous slot, then to the configuration's
// file, so the daemon never serves unverified bytes.
import type { Config } from '../config/schema';
import type { Logger } from '../daemon/logger';
import { verifyBundleFile } from './bundle';
import { KeyRing } from './keys';
import { OtaStore, SlotName } from './store';

export interface OtaModelSource {
  model: Buffer;
  version: string;
  labels?: string[];
  /** The bundle's fallback model (manifest.fallback), verified with the model. */
  fallback?: Buffer;
  slot: SlotName;
}

/** The verified bundle of `slot` for `name`, or the reason it is unusable. */
export function readSlot(store: OtaStore, keys: KeyRing, slot: SlotName, name: string, expectVersion?: string): OtaModelSource {
  const { header, model, fallback } = verifyBundleFile(store.bundlePath(slot, name), keys, { keepModel: true });
  const m = header.manifest;
  if (m.name !== name) throw new Error(`slot ${slot} holds a bundle of '${m.name}', not '${name}'`);
  if (expectVersion !== undefined && m.version !== expectVersion) throw new Error(`slot ${slot} holds version ${m.version} of '${name}', not ${expectVersion}`);
  return { model: model!, version: m.version, labels: m.labels, fallback, slot };
}

/** Sources for every configured model with an OTA slot (read-only: state.json is the extension's). */
export function activeOtaModels(c: Config, log: Logger): Map<string, OtaModelSource> {
  const out = new Map<string, OtaModelSource>();
  if (!c.ota) return out;
  const store = new OtaStore(c.ota.stateDir);
  const state = store.load();
  if (store.loadProblem) log.error({ err: store.loadProblem }, 'OTA state unusable: serving the configured model files');
  const keys = KeyRing.fromFiles(c.ota.trustedKeys);
  for (const m of c.models) {
    const s = state.models[m.name];
    if (!s) continue;
    const tries: [SlotName, string | undefined][] = [[s.active, s.activeVersion], ...(s.previous && s.previous !== 'config' ? [[s.previous, s.previousVersion] as [SlotName, string | undefined]] : [])];
    for (const [slot, version] of tries) {
      try {
        out.set(m.name, readSlot(store, keys, slot, m.name, version));
        break;
      } catch (e) {
        log.error({ model: m.name, slot, err: (e as Error).message }, 'OTA slot does not verify: not serving it');
      }
    }
  }
  return out;
}
