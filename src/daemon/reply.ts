// Builds reply payloads: JSON for JSON requests, binary for binary ones.
import type { TensorMeta } from '../engine/model';
import { asBytes, dequantize, TypedArray } from '../engine/tensors';
import { encodeBinaryError, encodeBinaryOk } from './binary';
import { ReplyErrorCode } from './reply-error';
import type { Envelope } from './request';

export interface ModelIdentity {
  name: string;
  version: string;
  labels?: string[];
  topK: number;
}

export interface TopEntry {
  index: number;
  label: string;
  score: number;
}

function realValues(o: TypedArray, m: TensorMeta): number[] {
  if (o instanceof BigInt64Array) return Array.from(o, Number);
  const quantized = m.dtype !== 'float32' && m.scale !== undefined && m.zeroPoint !== undefined;
  return Array.from(quantized ? dequantize(o, { scale: m.scale!, zeroPoint: m.zeroPoint! }) : o);
}

/** Top-k of the first output when it has one score per label (a classifier). */
export function topK(values: number[], labels: string[] | undefined, k: number): TopEntry[] | undefined {
  if (!labels || values.length !== labels.length) return undefined;
  return values
    .map((score, index) => ({ index, label: labels[index], score }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, k);
}

export function okReply(env: Envelope, deviceId: string, model: ModelIdentity, metas: TensorMeta[], outputs: TypedArray[], latencyMs: number): Buffer {
  if (env.format === 'binary') return encodeBinaryOk(Number(env.id), outputs.map(asBytes));
  const values = outputs.map((o, i) => realValues(o, metas[i]));
  const top = topK(values[0] ?? [], model.labels, model.topK);
  const doc = {
    id: env.id,
    deviceId,
    model: { name: model.name, version: model.version },
    outputs: outputs.map((o, i) => ({
      name: metas[i].name,
      dtype: metas[i].dtype,
      shape: metas[i].shape,
      scale: metas[i].scale ?? null,
      zeroPoint: metas[i].zeroPoint ?? null,
      data: Buffer.from(asBytes(o)).toString('base64'),
      values: values[i],
    })),
    ...(top ? { top } : {}),
    latencyMs: Math.round(latencyMs * 1000) / 1000,
  };
  return Buffer.from(JSON.stringify(doc));
}

export function errorReply(env: Envelope, deviceId: string, code: ReplyErrorCode, message: string): Buffer {
  if (env.format === 'binary') return encodeBinaryError(Number(env.id ?? 0), code, message);
  return Buffer.from(JSON.stringify({ id: env.id, deviceId, error: { code, message } }));
}
