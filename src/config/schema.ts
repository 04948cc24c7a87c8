// The daemon's configuration: one zod schema that validates the JSON file and
// carries every default (config/default.json shows the same values; a test keeps
// the two in step). Objects are strict so a misspelt key is an error, not ignored.
import { z } from 'zod';
import { checkSources, sourceSchema } from './sources-schema';
import { thermalSchema } from './thermal-schema';
import { otaSchema } from './ota-schema';
import { configuredTopicProblem, mqttString, topicLevel } from './topic-schema';
import { DEFAULT_MAX_TOPIC_LEVELS } from '../daemon/topic-name';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const KERNELS = ['auto', 'ref', 'neon', 'neondot', 'avx2', 'avx512vnni'] as const;

const tlsSchema = z.strictObject({
  ca: z.string().min(1).optional(),
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  rejectUnauthorized: z.boolean().default(true),
});

const brokerSchema = z.strictObject({
  /** mqtt://, mqtts://, ws:// or wss:// URL; absent: the daemon starts its own broker (embeddedBroker). */
  url: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\/\S+$/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL').optional(),
  clientId: mqttString.min(1).max(128).optional(),
  username: mqttString.optional(),
  password: z.string().optional(),
  /** A file holding the password (for example a systemd credential); wins over password. */
  passwordFile: z.string().min(1).optional(),
  tls: tlsSchema.optional(),
  /** 5, 4 (3.1.1) or 'auto': MQTT 5, falling back to 3.1.1 when the broker refuses 5. */
  protocolVersion: z.union([z.literal(5), z.literal(4), z.literal('auto')]).default('auto'),
  keepaliveS: z.number().int().min(0).max(65535).default(30),
  reconnectMs: z.number().int().min(100).max(600_000).default(2000),
  /**
   * Back-off cap: after a connection that ended sooner than this, the next wait
   * doubles (from reconnectMs) up to this; a connection that lasts this long resets it.
   */
  reconnectMaxMs: z.number().int().min(100).max(3_600_000).default(60_000),
  connectTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
});

const embeddedBrokerSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(1883),
});

const modelSchema = z.strictObject({
  name: topicLevel,
  path: z.string().min(1),
  version: z.string().min(1).max(64).default('1'),
  threads: z.number().int().min(1).max(64).default(1),
  kernels: z.enum(KERNELS).default('auto'),
  /** Requests that may wait for this model; one more is answered `busy`. */
  queueSize: z.number().int().min(1).max(100_000).default(64),
  /** Loaded copies of the model, each running one request at a time. */
  instances: z.number().int().min(1).max(64).default(1),
  /** Class names of the first output, for the `top` field of replies. */
  labels: z.array(z.string()).min(1).optional(),
  topK: z.number().int().min(1).max(1000).default(3),
  /** Thermal governor: models below thermal.shedBelowPriority are shed first (README "Thermal and power governor"). */
  priority: z.number().int().min(0).max(100).default(1),
  /** A lighter model with the same inputs and outputs the thermal governor may switch to. */
  fallbackPath: z.string().min(1).optional(),
});

export const configSchema = z
  .strictObject({
    deviceId: topicLevel.optional(),
    topicPrefix: topicLevel.default('qie'),
    broker: brokerSchema.prefault({}),
    embeddedBroker: embeddedBrokerSchema.prefault({}),
    fleet: z.strictObject({ group: topicLevel }).optional(),
    models: z.array(modelSchema).default([]),
    /** Inferences running at once across all models. */
    concurrency: z.number().int().min(1).max(64).default(2),
    /** Deadline for requests that set none (0: no deadline). */
    defaultDeadlineMs: z.number().int().min(0).max(86_400_000).default(0),
    maxPayloadBytes: z.number().int().min(64).max(256 * 1024 * 1024).default(8 * 1024 * 1024),
    /** Bytes of input tensors that queued and running requests may hold in all; one more request is answered `busy`. */
    maxQueuedBytes: z.number().int().min(1024).max(16 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
    /** Reply topics (and configured topics) with more levels than this are refused. */
    maxTopicLevels: z.number().int().min(8).max(200).default(DEFAULT_MAX_TOPIC_LEVELS),
    statusIntervalS: z.number().int().min(1).max(86_400).default(30),
    /** SIGTERM waits this long for queued and running requests. */
    drainTimeoutMs: z.number().int().min(0).max(600_000).default(10_000),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    sources: z.array(sourceSchema).default([]),
    thermal: thermalSchema.optional(),
    ota: otaSchema.optional(),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.models.forEach((m, i) => {
      if (seen.has(m.name)) ctx.addIssue({ code: 'custom', path: ['models', i, 'name'], message: `duplicate model name '${m.name}'` });
      seen.add(m.name);
    });
    const tls = c.broker.tls;
    if (tls && (tls.cert === undefined) !== (tls.key === undefined))
      ctx.addIssue({ code: 'custom', path: ['broker', 'tls'], message: 'cert and key go together' });
    checkSources(c, ctx);
    for (const k of ['fleet', 'ota'] as const)
      if (c.deviceId === k) ctx.addIssue({ code: 'custom', path: ['deviceId'], message: `'${k}' names a namespace of its own under topicPrefix` });
    if (c.topicPrefix.startsWith('$')) ctx.addIssue({ code: 'custom', path: ['topicPrefix'], message: 'must not start with "$" (reserved to the broker)' });
    c.sources.forEach((s, i) => {
      for (const k of ['outputTopic', 'eventTopic'] as const) {
        // the characters are checked with the key itself; the depth needs maxTopicLevels
        const t = s[k];
        const p = t !== undefined && !configuredTopicProblem(t, Number.MAX_SAFE_INTEGER) ? configuredTopicProblem(t, c.maxTopicLevels) : undefined;
        if (p) ctx.addIssue({ code: 'custom', path: ['sources', i, k], message: p });
      }
    });
    if (c.broker.reconnectMaxMs < c.broker.reconnectMs) ctx.addIssue({ code: 'custom', path: ['broker', 'reconnectMaxMs'], message: 'must be at least broker.reconnectMs' });
  });

export type Config = z.output<typeof configSchema>;
export type ModelConfig = Config['models'][number];
export type BrokerConfig = Config['broker'];
