// Drives a request fuzz against a running daemon: sends the drawn requests in
// batches, and after each batch waits until every well-formed request of it is
// answered, so the daemon's queue never overflows and each such request must come
// back with the model's exact output bytes.
import type { IPublishPacket, MqttClient } from 'mqtt';
import { decodeBinaryReply } from '../../src/daemon/binary';
import { FuzzContext, FuzzRequest, fuzzRequest } from './request-fuzz';

export interface FuzzRunOptions {
  client: MqttClient;
  ctx: FuzzContext;
  total: number;
  batch: number;
  /** The model's output bytes for an input (the reference). */
  expected(input: Buffer): Promise<Buffer[]>;
  /** Called between batches (RSS sampling, status checks). */
  between?(sent: number): Promise<void> | void;
  replyTimeoutMs?: number;
}

export interface FuzzRunResult {
  sent: number;
  /** Sent to a topic the daemon's `infer/+` subscription matches (a model name with a '/' is not). */
  deliverable: number;
  byKind: Record<string, number>;
  valid: number;
  validRight: number;
  validWrong: string[];
  validMissing: string[];
  /** Replies seen on the reply namespace, valid or not. */
  replies: number;
  /** Publishes the client library or the broker refused (client side). */
  clientRefused: number;
  clientReconnects: number;
  wallMs: number;
}

interface Answer {
  outputs?: Buffer[];
  error?: string;
}

function readReply(payload: Buffer): { key: string; answer: Answer } | undefined {
  if (payload[0] === 0x7b) {
    try {
      const doc = JSON.parse(payload.toString('utf8')) as { id?: unknown; outputs?: { data: string }[]; error?: { code: string } };
      if (doc.id === undefined || doc.id === null) return undefined;
      return { key: String(doc.id), answer: doc.error ? { error: doc.error.code } : { outputs: (doc.outputs ?? []).map((o) => Buffer.from(o.data, 'base64')) } };
    } catch {
      return undefined;
    }
  }
  try {
    const r = decodeBinaryReply(payload);
    return { key: String(r.id), answer: r.status === 0 ? { outputs: r.outputs.map((o) => Buffer.from(o)) } : { error: `status ${r.status}: ${r.message}` } };
  } catch {
    return undefined;
  }
}

export async function runRequestFuzz(o: FuzzRunOptions): Promise<FuzzRunResult> {
  const { client, ctx } = o;
  const okTopic = `${ctx.replyBase}/ok`;
  const answers = new Map<string, Answer>();
  let waiting: { keys: Set<string>; resolve: () => void } | undefined;
  const res: FuzzRunResult = { sent: 0, deliverable: 0, byKind: {}, valid: 0, validRight: 0, validWrong: [], validMissing: [], replies: 0, clientRefused: 0, clientReconnects: 0, wallMs: 0 };
  const onMessage = (topic: string, payload: Buffer, _p: IPublishPacket) => {
    if (!topic.startsWith(`${ctx.replyBase}/`)) return;
    res.replies++;
    if (topic !== okTopic) return;
    const r = readReply(payload);
    if (!r) return;
    answers.set(r.key, r.answer);
    if (waiting?.keys.delete(r.key) && waiting.keys.size === 0) waiting.resolve();
  };
  const onReconnect = () => res.clientReconnects++;
  client.on('message', onMessage);
  client.on('reconnect', onReconnect);
  await client.subscribeAsync(`${ctx.replyBase}/#`, { qos: 1 });
  const start = performance.now();
  try {
    for (let first = 0; first < o.total; first += o.batch) {
      const pending: FuzzRequest[] = [];
      const sends: Promise<void>[] = [];
      for (let i = first; i < Math.min(o.total, first + o.batch); i++) {
        const req = fuzzRequest(ctx, i);
        res.sent++;
        if (!req.topic.slice(ctx.inferBase.length).includes('/')) res.deliverable++;
        const kind = req.kind.replace(/:.*/, '');
        res.byKind[kind] = (res.byKind[kind] ?? 0) + 1;
        if (req.valid) pending.push(req);
        const opts = { qos: req.qos, ...(req.responseTopic !== undefined ? { properties: { responseTopic: req.responseTopic } } : {}) };
        sends.push(
          new Promise<void>((resolve) => {
            try {
              client.publish(req.topic, req.payload, opts, (err) => {
                if (err) res.clientRefused++;
                resolve();
              });
            } catch {
              res.clientRefused++;
              resolve();
            }
          }),
        );
      }
      await Promise.all(sends);
      const keys = new Set(pending.map((p) => p.valid!.key).filter((k) => !answers.has(k)));
      if (keys.size) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (waiting = { keys, resolve })),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, o.replyTimeoutMs ?? 20_000))),
        ]);
        clearTimeout(timer);
        waiting = undefined;
      }
      for (const p of pending) {
        const v = p.valid!;
        res.valid++;
        const a = answers.get(v.key);
        answers.delete(v.key);
        if (!a) {
          res.validMissing.push(`${v.key} (${p.kind})`);
          continue;
        }
        const want = await o.expected(v.input);
        if (a.outputs && a.outputs.length === want.length && a.outputs.every((x, k) => x.equals(want[k]))) res.validRight++;
        else res.validWrong.push(`${v.key} (${p.kind}): ${a.error ?? 'different bytes'}`);
      }
      await o.between?.(res.sent);
    }
  } finally {
    res.wallMs = performance.now() - start;
    client.off('message', onMessage);
    client.off('reconnect', onReconnect);
  }
  return res;
}
