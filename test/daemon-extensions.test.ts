// The extension contract: an extension's topics are subscribed and routed to it,
// its section appears in the retained status, it can publish, and it is started
// after the models load and stopped on shutdown. In process, on the embedded broker.
import test from 'ava';
import type { IPublishPacket } from 'mqtt';
import { configSchema } from '../src/config/schema';
import { Daemon } from '../src/daemon/daemon';
import type { Extension, ExtensionContext } from '../src/daemon/extension';
import { createLogger } from '../src/daemon/logger';
import { connectClient, nextMessage } from './helpers/mqtt-client';

class Echo implements Extension {
  readonly name = 'echo';
  ctx?: ExtensionContext;
  seen: string[] = [];
  stopped = false;
  connects = 0;
  async start(ctx: ExtensionContext): Promise<void> {
    this.ctx = ctx;
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  subscriptions(): string[] {
    return [`${this.ctx!.deviceTopic()}/echo/in`];
  }
  onMessage(topic: string, payload: Buffer, _packet: IPublishPacket): boolean {
    if (!topic.endsWith('/echo/in')) return false;
    this.seen.push(payload.toString());
    void this.ctx!.publish(`${this.ctx!.deviceTopic()}/echo/out`, `echo:${payload.toString()}`);
    return true;
  }
  onConnect(): void {
    this.connects++;
  }
  status(): unknown {
    return { seen: this.seen.length };
  }
}

test('an extension gets its topics, publishes, reports status and is stopped', async (t) => {
  const config = configSchema.parse({ deviceId: 'ext1', embeddedBroker: { port: 0 }, logLevel: 'silent' });
  const echo = new Echo();
  const daemon = new Daemon(config, { log: createLogger('silent', 'ext1'), extensions: [echo] });
  await daemon.start();
  const client = await connectClient(daemon.brokerUrl, { protocolVersion: 4 });
  try {
    t.is(echo.connects, 1);
    await client.subscribeAsync('qie/ext1/echo/out', { qos: 1 });
    const reply = nextMessage(client, 'qie/ext1/echo/out');
    await client.publishAsync('qie/ext1/echo/in', 'hello', { qos: 1 });
    t.is((await reply).toString(), 'echo:hello');
    t.deepEqual(echo.seen, ['hello']);
    const status = daemon.status() as unknown as { echo: { seen: number }; state: string };
    t.is(status.state, 'online');
    t.deepEqual(status.echo, { seen: 1 });
  } finally {
    await client.endAsync();
    await daemon.stop();
  }
  t.true(echo.stopped);
});
