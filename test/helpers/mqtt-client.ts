// mqtt.js clients for the daemon tests: one request -> one reply, matched by correlation data or id.
import mqtt, { MqttClient } from 'mqtt';

export async function connectClient(url: string, opts: { protocolVersion?: 4 | 5; username?: string; password?: string; clientId?: string } = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    protocolVersion: opts.protocolVersion ?? 5,
    username: opts.username ?? 'client',
    password: opts.password ?? 'client-secret',
    clientId: opts.clientId ?? `t-${process.pid}-${Math.random().toString(36).slice(2, 10)}`,
    reconnectPeriod: 200,
  });
}

/** Collects every message on `filter` (for exactly-once checks). */
export async function collect(client: MqttClient, filter: string): Promise<{ topic: string; payload: Buffer; correlation?: Buffer }[]> {
  const got: { topic: string; payload: Buffer; correlation?: Buffer }[] = [];
  client.on('message', (topic, payload, packet) => {
    if (topicMatches(filter, topic)) got.push({ topic, payload, correlation: packet.properties?.correlationData });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return got;
}

export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

let seq = 0;

/** MQTT 5 request with response topic + correlation data; resolves with the reply payload. */
export async function request5(client: MqttClient, topic: string, payload: Buffer | string, timeoutMs = 15_000): Promise<Buffer> {
  const corr = Buffer.from(`c${process.pid}-${++seq}`);
  const replyTopic = `replies/${client.options.clientId}`;
  await ensureSubscribed(client, replyTopic);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', on);
      reject(new Error(`no reply on ${replyTopic} within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (_t: string, p: Buffer, packet: mqtt.IPublishPacket) => {
      if (packet.properties?.correlationData?.equals(corr)) {
        clearTimeout(timer);
        client.off('message', on);
        resolve(p);
      }
    };
    client.on('message', on);
    client.publish(topic, payload, { qos: 1, properties: { responseTopic: replyTopic, correlationData: corr } });
  });
}

const subscribed = new WeakMap<MqttClient, Set<string>>();
async function ensureSubscribed(client: MqttClient, filter: string): Promise<void> {
  let s = subscribed.get(client);
  if (!s) subscribed.set(client, (s = new Set()));
  if (s.has(filter)) return;
  await client.subscribeAsync(filter, { qos: 1 });
  s.add(filter);
}

/** Waits for a message on topic that passes `test`. */
export function nextMessage(client: MqttClient, topic: string, test: (p: Buffer) => boolean = () => true, timeoutMs = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', on);
      reject(new Error(`no matching message on ${topic} within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (t: string, p: Buffer) => {
      if (topicMatches(topic, t) && test(p)) {
        clearTimeout(timer);
        client.off('message', on);
        resolve(p);
      }
    };
    client.on('message', on);
  });
}
