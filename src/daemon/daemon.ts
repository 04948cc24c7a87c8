// The gateway daemon: loads the configured models, answers inference requests
// over MQTT, keeps a retained status, reloads on demand and drains on shutdown.
import { readFileSync } from 'node:fs';
import mqtt, { IClientOptions, IClientPublishOptions, IPublishPacket, MqttClient } from 'mqtt';
import type { Config } from '../config/schema';
import { startEmbeddedBroker, EmbeddedBroker } from './broker';
import type { Extension, ExtensionContext } from './extension';
import { createExtensions } from './extensions';
import { createLogger, Logger } from './logger';
import { SystemdNotifier } from './notify';
import { errorReply, okReply } from './reply';
import { REPLY_ERROR_CODES, ReplyError, ReplyErrorCode } from './reply-error';
import { Envelope, parseRequest } from './request';
import { Scheduler } from './scheduler';
import { loadSlots } from './slots';
import { buildStatus, Counters, ReplyDropReason, StatusDoc } from './status';
import { ConnectionWatch } from './connection-watch';
import { isRefusal, MQTT_REASON } from './mqtt-reasons';
import { Topics, topicsFor } from './topics';

export interface DaemonOptions {
  /** The file the config came from: SIGHUP / reload() reads it again. */
  configPath?: string;
  /** Re-reads the configuration (defaults to loading configPath). */
  reloadConfig?: () => Config;
  log?: Logger;
  notifier?: SystemdNotifier;
  /** Extensions to run instead of those the configuration asks for (tests). */
  extensions?: Extension[];
}

/** Keys whose change needs a new MQTT connection. */
function connectionKey(c: Config): string {
  return JSON.stringify([c.deviceId, c.topicPrefix, c.broker, c.embeddedBroker, c.fleet]);
}

/** Inputs that own their memory: a view into the MQTT payload would keep the whole payload alive while queued. */
function ownInputs(inputs: Uint8Array[]): Uint8Array[] {
  if (inputs.every((u) => u.byteOffset === 0 && u.byteLength === u.buffer.byteLength)) return inputs;
  const all = new Uint8Array(inputs.reduce((a, u) => a + u.byteLength, 0));
  let off = 0;
  return inputs.map((u) => {
    all.set(u, off);
    off += u.byteLength;
    return all.subarray(off - u.byteLength, off);
  });
}

export class Daemon {
  config: Config;
  readonly log: Logger;
  private readonly notifier: SystemdNotifier;
  readonly scheduler: Scheduler;
  private readonly extensions: Extension[];
  private extensionsStarted: Extension[] = [];
  private client: MqttClient | undefined;
  private broker: EmbeddedBroker | undefined;
  private topics: Topics;
  private protocol: 4 | 5 = 5;
  private readonly startedAt = Date.now();
  private connectedAt: number | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private lastError: string | undefined;
  private counters: Counters = {
    received: 0,
    ok: 0,
    errors: Object.fromEntries(REPLY_ERROR_CODES.map((c) => [c, 0])) as Record<ReplyErrorCode, number>,
    connects: 0,
    reloads: 0,
    repliesDropped: 0,
    repliesDroppedByReason: { bad_topic: 0, offline: 0, connection_lost: 0, refused: 0 },
  };
  private readonly watch: ConnectionWatch;
  /** Publish callbacks of replies: what the close handler drops at once. */
  private readonly replyCallbacks = new WeakSet<object>();
  /** Stored publishes that were in flight when a connection closed: dropped if the next one closes too. */
  private readonly carriedOver = new WeakSet<object>();
  private droppingInflight = false;

  constructor(
    config: Config,
    private readonly opts: DaemonOptions = {},
  ) {
    this.config = config;
    this.log = opts.log ?? createLogger(config.logLevel, config.deviceId!);
    this.notifier = opts.notifier ?? new SystemdNotifier(this.log);
    this.scheduler = new Scheduler(config.concurrency, config.maxQueuedBytes);
    this.watch = new ConnectionWatch(config.broker.reconnectMs, config.broker.reconnectMaxMs);
    this.topics = topicsFor(config);
    this.extensions = opts.extensions ?? createExtensions(config);
  }

  /** What an extension may use of the daemon. */
  private extensionContext(): ExtensionContext {
    return {
      config: () => this.config,
      log: this.log,
      scheduler: this.scheduler,
      topics: () => this.topics,
      deviceTopic: () => `${this.config.topicPrefix}/${this.config.deviceId}`,
      connected: () => this.client?.connected ?? false,
      publishStatus: () => this.publishStatus(),
      publish: (topic, payload, opts) =>
        new Promise<boolean>((resolve) => {
          const client = this.client;
          if (!client?.connected) return resolve(false);
          client.publish(topic, payload, opts ?? { qos: 1 }, (err) => {
            if (err) this.log.warn({ err: err.message, topic }, 'publish failed');
            resolve(!err);
          });
        }),
    };
  }

  /** URL of the broker in use (the embedded one's when no URL is configured). */
  get brokerUrl(): string {
    return this.config.broker.url ?? this.broker!.url;
  }

  get protocolVersion(): 4 | 5 {
    return this.protocol;
  }

  async start(): Promise<void> {
    const slots = await loadSlots(this.config);
    this.scheduler.install(slots);
    for (const s of slots)
      this.log.info({ model: s.identity.name, version: s.identity.version, instances: s.instances.length, inputs: s.inputs.map((m) => `${m.dtype}[${m.shape}]`), kernels: [...new Set(s.instances[0].model.ops.map((o) => o.kernel))] }, 'model loaded');
    if (!this.config.models.length) this.log.warn('no models configured: every request will be answered unknown_model');
    const ctx = this.extensionContext();
    for (const x of this.extensions) {
      await x.start(ctx);
      this.extensionsStarted.push(x);
      this.log.debug({ extension: x.name }, 'extension started');
    }
    await this.connect();
    this.statusTimer = setInterval(() => this.publishStatus(), this.config.statusIntervalS * 1000);
    this.statusTimer.unref();
    this.notifier.ready(`serving ${this.scheduler.list().length} model(s)`);
  }

  private async connect(): Promise<void> {
    const c = this.config;
    this.topics = topicsFor(c);
    if (!c.broker.url && !this.broker) {
      this.broker = await startEmbeddedBroker(c.embeddedBroker.host, c.embeddedBroker.port);
      this.log.info({ url: this.broker.url }, 'embedded MQTT broker listening (no broker.url configured)');
    }
    // aedes speaks 3.1.1 only; elsewhere try 5 and fall back when refused
    this.protocol = !c.broker.url ? 4 : c.broker.protocolVersion === 4 ? 4 : 5;
    // a gateway may boot before its network: after connectTimeoutMs, serve anyway and
    // let mqtt.js keep reconnecting (a refusal of our credentials still fails start-up)
    let timer: NodeJS.Timeout | undefined;
    const connected = await Promise.race([
      this.openClient().then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), c.broker.connectTimeoutMs))),
    ]).finally(() => clearTimeout(timer));
    if (!connected) this.log.warn({ url: this.brokerUrl }, 'broker not reachable yet: serving and retrying in the background');
  }

  private clientOptions(): IClientOptions {
    const c = this.config;
    const b = c.broker;
    const read = (f: string | undefined): Buffer | undefined => {
      if (!f) return undefined;
      try {
        return readFileSync(f);
      } catch (e) {
        throw new Error(`cannot read ${f}: ${(e as Error).message}`);
      }
    };
    const password = b.passwordFile ? read(b.passwordFile)!.toString('utf8').trim() : b.password;
    const offline = JSON.stringify({ state: 'offline', deviceId: c.deviceId, reason: 'connection lost' });
    return {
      protocolVersion: this.protocol,
      clientId: b.clientId ?? `qie-${c.deviceId}`,
      username: b.username,
      password,
      clean: true,
      keepalive: b.keepaliveS,
      reconnectPeriod: this.watch.state().reconnectDelayMs,
      connectTimeout: b.connectTimeoutMs,
      resubscribe: false,
      ca: read(b.tls?.ca),
      cert: read(b.tls?.cert),
      key: read(b.tls?.key),
      rejectUnauthorized: b.tls?.rejectUnauthorized ?? true,
      will: { topic: this.topics.status, payload: Buffer.from(offline), qos: 1, retain: true },
    };
  }

  /** Opens the MQTT client; resolves on the first connection or rejects on a refusal that retrying will not fix. */
  private openClient(): Promise<void> {
    const client = mqtt.connect(this.brokerUrl, this.clientOptions());
    this.client = client;
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
    client.on('reconnect', () => this.log.debug({ url: this.brokerUrl }, 'reconnecting to the broker'));
    client.on('offline', () => this.log.warn({ url: this.brokerUrl }, 'broker connection lost'));
    client.on('disconnect', (packet) => {
      if (client === this.client) this.watch.disconnectPacket(packet.reasonCode);
    });
    // before mqtt.js's own close handler, which schedules the next attempt with options.reconnectPeriod
    client.prependListener('close', () => {
      if (client === this.client) this.onClose(client);
    });
    return new Promise((resolve, reject) => {
      let first = true;
      client.on('connect', () => {
        // replies are small writes that follow the request's PUBACK: without this, Nagle's
        // algorithm holds each one until the broker's delayed ACK (tens of ms per QoS 1 request)
        (client.stream as { setNoDelay?: (on: boolean) => void } | undefined)?.setNoDelay?.(true);
        this.lastError = undefined;
        this.connectedAt = Date.now();
        this.counters.connects++;
        this.watch.connected();
        this.log.info({ url: this.brokerUrl, protocolVersion: this.protocol }, 'connected to the broker');
        this.subscribe(client).then(
          () => {
            this.publishStatus();
            if (first) resolve();
            first = false;
          },
          (e: Error) => {
            this.log.error({ err: e.message }, 'subscribe failed');
            if (first) reject(e);
            first = false;
          },
        );
      });
      client.on('error', (e: Error & { code?: number | string }) => {
        // CONNACK refusal of protocol 5 (1 in 3.1.1 terms, 132 in 5): retry as 3.1.1
        if (this.protocol === 5 && this.config.broker.protocolVersion === 'auto' && (e.code === MQTT_REASON.v311UnacceptableProtocol || e.code === MQTT_REASON.unsupportedProtocolVersion)) {
          this.log.warn('the broker refuses MQTT 5: falling back to 3.1.1');
          this.protocol = 4;
          client.removeAllListeners();
          client.on('error', () => undefined);
          client.end(true);
          this.openClient().then(resolve, reject);
          return;
        }
        // one line per distinct error: an outage retried every reconnectMs does not flood the journal
        if (e.message !== this.lastError) this.log.error({ err: e.message, code: e.code }, 'MQTT error');
        this.lastError = e.message;
        // bad credentials / not authorized: retrying will not help at start-up
        const refusals: unknown[] = [MQTT_REASON.v311BadCredentials, MQTT_REASON.v311NotAuthorized, MQTT_REASON.badUserNameOrPassword, MQTT_REASON.notAuthorized];
        if (first && refusals.includes(e.code)) {
          first = false;
          client.end(true);
          reject(new Error(`the broker refused the connection: ${e.message}`));
        }
      });
    });
  }

  /**
   * A connection ended (or an attempt failed): drop what must not be sent again,
   * name the cause when it is a session takeover, and set the wait before the next attempt.
   */
  private onClose(client: MqttClient): void {
    const wasConnected = this.connectedAt !== undefined;
    this.connectedAt = undefined;
    if (wasConnected) this.dropInflight(client);
    const v = this.watch.closed();
    client.options.reconnectPeriod = v.delayMs;
    if (v.takeover) {
      const id = client.options.clientId;
      this.log.error(
        { clientId: id, reason: v.reason, takeover: v.takeover, lastedMs: v.lastedMs, reconnectInMs: v.delayMs },
        `another client connected with client id ${id}: session taken over — two gateways with the same deviceId, or a hostile client; use use_username_as_clientid on the broker`,
      );
    } else if (v.lastedMs !== undefined) this.log.info({ reason: v.reason, lastedMs: v.lastedMs, reconnectInMs: v.delayMs }, 'broker connection closed');
  }

  /**
   * The session is clean, so what was in flight ends with the connection (MQTT
   * drops a clean session's state); mqtt.js would send it again on the next one.
   * A reply the broker refused by closing the connection would then close every
   * connection after it. So replies in flight are dropped at once (and counted);
   * other publishes (status, extensions) get one more connection, then are dropped.
   */
  private dropInflight(client: MqttClient): void {
    const drop: number[] = [];
    for (const [key, o] of Object.entries(client.outgoing)) {
      if (o.cmd !== 'publish') continue;
      const id = Number(key);
      if (this.replyCallbacks.has(o.cb)) {
        drop.push(id);
        continue;
      }
      client.outgoingStore.get({ messageId: id }, (err, packet) => {
        if (err || !packet) return;
        if (this.carriedOver.has(packet)) drop.push(id);
        else this.carriedOver.add(packet);
      });
    }
    this.droppingInflight = true;
    try {
      for (const id of drop) client.removeOutgoingMessage(id);
    } finally {
      this.droppingInflight = false;
    }
  }

  private async subscribe(client: MqttClient): Promise<void> {
    const filters = [this.topics.requests, ...(this.topics.fleetRequests ? [this.topics.fleetRequests] : []), ...this.extensionFilters()];
    const granted = await client.subscribeAsync(filters, { qos: 1 });
    for (const g of granted) {
      if (g.qos === 128 || (g.qos as number) > 2) throw new Error(`the broker refused the subscription to ${g.topic} (check its ACL)`);
    }
    this.log.info({ topics: filters }, 'subscribed');
    for (const x of this.extensionsStarted) {
      try {
        x.onConnect?.();
      } catch (e) {
        this.log.error({ err: (e as Error).stack, extension: x.name }, 'extension onConnect failed');
      }
    }
  }

  private extensionFilters(): string[] {
    return this.extensionsStarted.flatMap((x) => x.subscriptions?.() ?? []);
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    try {
      this.handle(topic, payload, packet);
    } catch (e) {
      // a bug in request handling must not take the daemon down
      this.log.error({ err: (e as Error).stack, topic }, 'request handling failed');
    }
  }

  private handle(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const received = performance.now();
    const m = this.topics.match(topic);
    if (!m) {
      for (const x of this.extensionsStarted) {
        try {
          if (x.onMessage?.(topic, payload, packet)) return;
        } catch (e) {
          this.log.error({ err: (e as Error).stack, topic, extension: x.name }, 'extension message handling failed');
          return;
        }
      }
      return;
    }
    this.counters.received++;
    const topics = this.topics;
    const parsed = parseRequest(payload, this.config.maxPayloadBytes, (t) => topics.replyProblem(t));
    const env = parsed.envelope;
    const props = packet.properties;
    // a refused MQTT 5 response topic is answered (bad_request) where replyTo or the default would go
    const responseProblem = props?.responseTopic !== undefined ? topics.replyProblem(props.responseTopic) : undefined;
    const replyTopic = (!responseProblem && props?.responseTopic) || env.replyTo || topics.defaultReply(m.model, m.fleet);
    const correlation = props?.correlationData;
    // what the reply needs of the packet, not the packet: it holds the whole payload
    const qos = packet.qos;
    const expiryS = props?.messageExpiryInterval;
    let answered = false;
    const send = (body: Buffer, code?: ReplyErrorCode, message?: string): void => {
      if (answered) return;
      answered = true;
      if (code) this.counters.errors[code]++;
      else this.counters.ok++;
      this.publishReply(replyTopic, body, { qos, ...(this.protocol === 5 && correlation ? { properties: { correlationData: correlation } } : {}) });
      this.log.debug({ model: m.model, id: env.id, code, message, ms: performance.now() - received }, 'replied');
    };
    const fail = (e: ReplyError): void => send(errorReply(env, this.config.deviceId!, e.code, e.message), e.code, e.message);
    if (parsed.error) return fail(parsed.error);
    if (responseProblem) return fail(new ReplyError('bad_request', `response topic: ${responseProblem}`));
    // MQTT 5 message expiry: what the broker left of it bounds the deadline (0: it expires now)
    if (expiryS === 0) return fail(new ReplyError('deadline_exceeded', 'the message expiry interval ran out before the request arrived'));
    const slot = this.scheduler.get(m.model);
    if (!slot) return fail(new ReplyError('unknown_model', `no model named '${m.model.slice(0, 128)}' (loaded: ${this.scheduler.list().map((s) => s.identity.name).join(', ') || 'none'})`));
    let inputs: Uint8Array[];
    try {
      inputs = ownInputs(parsed.request!.inputs(slot.inputs));
    } catch (e) {
      return fail(e instanceof ReplyError ? e : new ReplyError('internal', (e as Error).message));
    }
    const deadlines = [env.deadlineMs ?? (this.config.defaultDeadlineMs || undefined), expiryS !== undefined ? expiryS * 1000 : undefined].filter((d): d is number => d !== undefined);
    const deadlineMs = deadlines.length ? Math.min(...deadlines) : undefined;
    try {
      this.scheduler.submit(m.model, {
        inputs,
        deadlineAt: deadlineMs !== undefined ? received + deadlineMs : undefined,
        done: (r) => {
          if (!r.ok) return fail(r.error);
          try {
            send(okReply(env, this.config.deviceId!, r.model, r.metas, r.outputs, performance.now() - received));
          } catch (e) {
            fail(new ReplyError('internal', (e as Error).message));
          }
        },
      });
    } catch (e) {
      fail(e instanceof ReplyError ? e : new ReplyError('internal', (e as Error).message));
    }
  }

  /**
   * Publishes a reply on the connection there is now, or drops it (counted): a
   * reply is never kept for a later connection (dropInflight), and one to a topic
   * the rules refuse is never sent (its request's topic gave the default one).
   */
  private publishReply(topic: string, body: Buffer, opts: IClientPublishOptions): void {
    const bad = this.topics.replyProblem(topic);
    if (bad) return this.dropReply('bad_topic', topic, bad);
    const client = this.client;
    if (!client?.connected) return this.dropReply('offline', topic, 'not connected to the broker');
    const done = (err?: Error): void => {
      if (!err) return;
      const reason: ReplyDropReason = this.droppingInflight ? 'connection_lost' : isRefusal(err) ? 'refused' : 'connection_lost';
      this.dropReply(reason, topic, err.message);
    };
    this.replyCallbacks.add(done);
    client.publish(topic, body, opts, done);
  }

  private dropReply(reason: ReplyDropReason, topic: string, why: string): void {
    this.counters.repliesDropped++;
    this.counters.repliesDroppedByReason[reason]++;
    this.log.warn({ reason, replyTopic: topic.slice(0, 200), err: why }, 'reply dropped');
  }

  /** The retained status document. */
  status(): StatusDoc {
    const extensions: Record<string, unknown> = {};
    for (const x of this.extensionsStarted) {
      try {
        if (x.status) extensions[x.name] = x.status();
      } catch (e) {
        extensions[x.name] = { error: (e as Error).message };
      }
    }
    return buildStatus({
      config: this.config,
      protocol: this.protocol,
      startedAt: this.startedAt,
      connectedAt: this.connectedAt,
      running: this.scheduler.running,
      slots: this.scheduler.list(),
      counters: this.counters,
      connection: this.watch.state(),
      memory: this.scheduler.memory,
      extensions,
    });
  }

  publishStatus(): void {
    if (!this.client?.connected || this.stopping) return;
    this.client.publish(this.topics.status, JSON.stringify(this.status()), { qos: 1, retain: true }, (err) => {
      if (err) this.log.warn({ err: err.message }, 'status not published');
    });
  }

  private reloading: Promise<boolean> = Promise.resolve(true);

  /** Re-reads the configuration: models are loaded anew; on any error the running set stays. */
  reload(): Promise<boolean> {
    // one reload at a time: a second SIGHUP waits for the first
    this.reloading = this.reloading.then(() => this.reloadNow());
    return this.reloading;
  }

  private async reloadNow(): Promise<boolean> {
    if (this.stopping) return false;
    const read = this.opts.reloadConfig;
    if (!read) {
      this.log.warn('reload requested but the daemon has no config file');
      return false;
    }
    this.notifier.reloading();
    try {
      const next = read();
      const slots = await loadSlots(next);
      const reconnect = connectionKey(next) !== connectionKey(this.config);
      const previous = this.config;
      this.config = next;
      this.log.level = next.logLevel;
      this.scheduler.setConcurrency(next.concurrency);
      this.scheduler.setMemoryBudget(next.maxQueuedBytes);
      this.watch.configure(next.broker.reconnectMs, next.broker.reconnectMaxMs);
      this.scheduler.install(slots);
      this.counters.reloads++;
      if (reconnect) {
        this.log.info('broker settings changed: reconnecting');
        await this.closeConnection(previous);
        await this.connect();
      } else this.publishStatus();
      if (this.statusTimer) clearInterval(this.statusTimer);
      this.statusTimer = setInterval(() => this.publishStatus(), next.statusIntervalS * 1000);
      this.statusTimer.unref();
      for (const x of this.extensionsStarted) await x.onReload?.().catch((e: Error) => this.log.error({ err: e.message, extension: x.name }, 'extension reload failed'));
      this.log.info({ models: slots.map((s) => `${s.identity.name}@${s.identity.version}`) }, 'configuration reloaded');
      return true;
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'reload failed: keeping the running configuration');
      return false;
    } finally {
      this.notifier.ready();
    }
  }

  /** Publishes `offline` for the old identity and closes the client (and the embedded broker if no longer wanted). */
  private async closeConnection(old: Config): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      const t = topicsFor(old);
      if (client.connected) await client.publishAsync(t.status, JSON.stringify({ state: 'offline', deviceId: old.deviceId, reason: 'stopped' }), { qos: 1, retain: true }).catch(() => undefined);
      await client.endAsync().catch(() => undefined);
    }
    if (this.broker && (this.config.broker.url || JSON.stringify(old.embeddedBroker) !== JSON.stringify(this.config.embeddedBroker) || this.stopping)) {
      await this.broker.close();
      this.broker = undefined;
    }
  }

  /** SIGTERM: stop taking requests, finish queued and running ones, publish offline, disconnect. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.notifier.stopping();
    await this.reloading.catch(() => undefined);
    this.log.info({ pending: this.scheduler.pending }, 'stopping: draining requests');
    this.scheduler.close();
    for (const x of this.extensionsStarted.splice(0).reverse()) {
      await x.stop().catch((e: Error) => this.log.error({ err: e.message, extension: x.name }, 'extension stop failed'));
    }
    if (this.client?.connected) {
      const filters = [this.topics.requests, ...(this.topics.fleetRequests ? [this.topics.fleetRequests] : [])];
      await this.client.unsubscribeAsync(filters).catch(() => undefined);
    }
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.scheduler.idle().then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.config.drainTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (!drained) {
      this.log.warn({ pending: this.scheduler.pending }, 'drain timed out: answering what is left shutting_down');
      this.scheduler.abandonQueued(new ReplyError('shutting_down', 'the daemon stopped before this request ran'));
    }
    this.stopping = true;
    if (this.statusTimer) clearInterval(this.statusTimer);
    await this.closeConnection(this.config);
    this.scheduler.disposeAll();
    this.notifier.close();
    this.log.info({ counters: this.counters }, 'stopped');
  }
}
