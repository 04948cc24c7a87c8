// Loads the configured models into scheduler slots (all or nothing: a reload that
// fails part-way leaves the running set untouched).
import type { Config } from '../config/schema';
import { loadModel, Model } from '../engine/model';
import { ModelSlot } from './scheduler';

export async function loadSlots(c: Config): Promise<ModelSlot[]> {
  const slots: ModelSlot[] = [];
  try {
    for (const m of c.models) {
      const models: Model[] = [];
      for (let i = 0; i < m.instances; i++) {
        try {
          models.push(await loadModel(m.path, { threads: m.threads, kernels: m.kernels }));
        } catch (e) {
          for (const x of models) x.dispose();
          throw new Error(`model '${m.name}' (${m.path}): ${(e as Error).message}`);
        }
      }
      slots.push(new ModelSlot({ name: m.name, version: m.version, labels: m.labels, topK: m.topK, queueSize: m.queueSize, models }));
      const labels = m.labels;
      const out0 = models[0].outputs[0];
      if (labels && out0 && out0.shape.reduce((a, b) => a * b, 1) !== labels.length)
        throw new Error(`model '${m.name}': ${labels.length} labels but its first output has ${out0.shape.reduce((a, b) => a * b, 1)} values`);
    }
  } catch (e) {
    for (const s of slots) s.dispose();
    throw e;
  }
  return slots;
}
