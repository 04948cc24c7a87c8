// Loads the configured models into scheduler slots (all or nothing: a reload that
// fails part-way leaves the running set untouched). A model that an OTA update
// replaced loads from its active slot's verified bundle (src/ota/active.ts); its
// other settings (threads, instances, queueSize ...) still come from the config.
// Each slot names its fallback model: the bundle's when it has one, else the config's.
import type { Config, ModelConfig } from '../config/schema';
import { loadModel, Model } from '../engine/model';
import { activeOtaModels } from '../ota/active';
import { applyTestFault } from '../ota/fault';
import { createLogger } from './logger';
import { ModelSlot } from './scheduler';

/** Where a model's bytes come from when not the configured path (an OTA bundle). */
export interface SlotSource {
  model: Uint8Array;
  version: string;
  labels?: string[];
  /** The bundle's fallback model (verified with it), used by the thermal governor. */
  fallback?: Uint8Array;
}

/** Loads every instance of one model into a slot (disposes what it loaded when one fails). */
export async function loadSlot(m: ModelConfig, source?: SlotSource): Promise<ModelSlot> {
  const models: Model[] = [];
  const from = source ? `OTA ${source.version}` : m.path;
  for (let i = 0; i < m.instances; i++) {
    try {
      models.push(await loadModel(source?.model ?? m.path, { threads: m.threads, kernels: m.kernels }));
    } catch (e) {
      for (const x of models) x.dispose();
      throw new Error(`model '${m.name}' (${from}): ${(e as Error).message}`);
    }
  }
  const labels = source ? source.labels : m.labels;
  const slot = new ModelSlot({ name: m.name, version: source?.version ?? m.version, labels, topK: m.topK, queueSize: m.queueSize, models, fallbackSource: source?.fallback ?? m.fallbackPath });
  const out0 = models[0].outputs[0];
  const n = out0 ? out0.shape.reduce((a, b) => a * b, 1) : 0;
  if (labels && n !== labels.length) {
    slot.dispose();
    throw new Error(`model '${m.name}': ${labels.length} labels but its first output has ${n} values`);
  }
  return slot;
}

export async function loadSlots(c: Config): Promise<ModelSlot[]> {
  const ota = c.ota ? activeOtaModels(c, createLogger(c.logLevel, c.deviceId!)) : new Map<string, SlotSource>();
  const slots: ModelSlot[] = [];
  try {
    for (const m of c.models) {
      const source = ota.get(m.name);
      const slot = await loadSlot(m, source);
      if (source) applyTestFault(slot.instances.map((i) => i.model), source.version);
      slots.push(slot);
    }
  } catch (e) {
    for (const s of slots) s.dispose();
    throw e;
  }
  return slots;
}
