// A sustained request flood for the thermal test, demo and benchmark: keeps
// `inFlight` binary requests outstanding on one model and records every reply
// (time, status) so throughput per window and "every request answered once" can be
// checked. Works over MQTT 3.1.1 (reply topic and id in the binary request).
import type { MqttClient } from 'mqtt';
import { decodeBinaryReply, encodeBinaryRequest } from '../../src/daemon/binary';
import { REPLY_ERROR_CODES } from '../../src/daemon/reply-error';

export interface FloodReply {
  at: number;
  /** Round trip, ms. */
  ms: number;
  id: number;
  /** 'ok' or an error code. */
  status: string;
}

export class Flood {
  readonly replies: FloodReply[] = [];
  sent = 0;
  /** Replies whose id was not outstanding (answered twice, or never asked). */
  strays = 0;
  private readonly outstanding = new Map<number, number>();
  private running = false;
  private nextId = 1;
  private readonly replyTopic: string;
  private readonly onMessage: (t: string, p: Buffer) => void;
  private drainWaiters: (() => void)[] = [];

  constructor(
    private readonly client: MqttClient,
    private readonly topic: string,
    private readonly input: Uint8Array,
    private readonly inFlight: number,
  ) {
    this.replyTopic = `flood/${client.options.clientId}/${topic.split('/').pop()}`;
    this.onMessage = (t, p) => {
      if (t !== this.replyTopic) return;
      let r;
      try {
        r = decodeBinaryReply(p);
      } catch {
        this.strays++;
        return;
      }
      const sentAt = this.outstanding.get(r.id);
      if (sentAt === undefined) {
        this.strays++;
        return;
      }
      this.outstanding.delete(r.id);
      const at = performance.now();
      this.replies.push({ at, ms: at - sentAt, id: r.id, status: r.status === 0 ? 'ok' : (REPLY_ERROR_CODES[r.status - 1] ?? `status ${r.status}`) });
      if (this.running) this.send();
      else if (!this.outstanding.size) for (const w of this.drainWaiters.splice(0)) w();
    };
  }

  async start(): Promise<void> {
    this.client.on('message', this.onMessage);
    await this.client.subscribeAsync(this.replyTopic, { qos: 1 });
    this.running = true;
    for (let k = 0; k < this.inFlight; k++) this.send();
  }

  private send(): void {
    const id = this.nextId++;
    this.outstanding.set(id, performance.now());
    this.sent++;
    this.client.publish(this.topic, encodeBinaryRequest(id, [this.input], { replyTo: this.replyTopic }), { qos: 1 });
  }

  /** Stops sending and waits until every request sent has its reply (or timeoutMs passes). */
  async stop(timeoutMs = 60_000): Promise<void> {
    this.running = false;
    if (this.outstanding.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => this.drainWaiters.push(r)), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
    }
    this.client.off('message', this.onMessage);
  }

  get unanswered(): number {
    return this.outstanding.size;
  }

  /** Replies with status ok per second in [from, to) (performance.now() ms). */
  okRate(from: number, to: number): number {
    return this.replies.filter((r) => r.status === 'ok' && r.at >= from && r.at < to).length / ((to - from) / 1000);
  }

  counts(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const r of this.replies) c[r.status] = (c[r.status] ?? 0) + 1;
    return c;
  }
}
