// One extension per concern (OTA updates, thermal governor, serial sources, ...):
// the daemon core owns the MQTT connection, the scheduler and the status document;
// an extension plugs into them through this small context and never reaches into
// the daemon's fields. Extensions are started after the models are loaded and the
// connection is open, and stopped before the connection closes.
import type { IClientPublishOptions, IPublishPacket } from 'mqtt';
import type { Config } from '../config/schema';
import type { Logger } from './logger';
import type { Scheduler } from './scheduler';
import type { Topics } from './topics';

export interface ExtensionContext {
  /** The configuration in force (changes on reload). */
  config(): Config;
  readonly log: Logger;
  readonly scheduler: Scheduler;
  /** Topic names of the core API for the configuration in force. */
  topics(): Topics;
  /** `<prefix>/<deviceId>`: extensions put their own topics under it. */
  deviceTopic(): string;
  /** Publishes when connected; resolves false (and logs) when the client is offline or the publish fails. */
  publish(topic: string, payload: string | Buffer, opts?: IClientPublishOptions): Promise<boolean>;
  /** True while the MQTT client is connected. */
  connected(): boolean;
  /** Publishes the retained status document now (after a change worth telling). */
  publishStatus(): void;
}

export interface Extension {
  /** Also the key of the extension's section in the status document. */
  readonly name: string;
  /** Called once, after the models are loaded; a throw fails start-up. */
  start(ctx: ExtensionContext): Promise<void>;
  /** Called once on shutdown, before the connection closes. Must not throw. */
  stop(): Promise<void>;
  /** MQTT topic filters the extension wants (subscribed at QoS 1 on every connect). */
  subscriptions?(): string[];
  /** A message on one of the extension's topics; return true when it was the extension's. */
  onMessage?(topic: string, payload: Buffer, packet: IPublishPacket): boolean;
  /** Called after every (re)connection to the broker, after subscribing. */
  onConnect?(): void;
  /** Called after a successful configuration reload (the new config is ctx.config()). */
  onReload?(): Promise<void>;
  /** The extension's section of the retained status document (JSON-serialisable). */
  status?(): unknown;
}

/** Creates the extensions a configuration asks for. */
export type ExtensionFactory = (config: Config) => Extension | undefined;
