// The `sources` section: serial sensor pipelines (port -> framing -> samples ->
// window -> model -> MQTT). Kept apart from schema.ts, which adds one line for it.
import { z } from 'zod';
import { topicLevel, topicName } from './topic-schema';

const byte = z.number().int().min(0).max(255);

const framingSchema = z.discriminatedUnion('kind', [
  /** Text lines ("\n", optional "\r"), comma-separated numbers. */
  z.strictObject({ kind: z.literal('lines'), maxLineBytes: z.number().int().min(8).max(65536).default(1024) }),
  /** COBS blocks ended by 0x00, payload + CRC-16 inside. */
  z.strictObject({ kind: z.literal('cobs'), maxFrameBytes: z.number().int().min(1).max(65536).default(1024) }),
  /** SLIP frames ended by 0xC0, payload + CRC-16 inside. */
  z.strictObject({ kind: z.literal('slip'), maxFrameBytes: z.number().int().min(1).max(65536).default(1024) }),
  /** Sync bytes + payloadBytes + CRC-16 (when crc). */
  z.strictObject({
    kind: z.literal('fixed'),
    sync: z.array(byte).min(1).max(8).default([0xa5, 0x5a]),
    payloadBytes: z.number().int().min(1).max(65536),
    crc: z.boolean().default(true),
  }),
]);

const perChannel = z.union([z.number().refine(Number.isFinite, 'must be finite'), z.array(z.number().refine(Number.isFinite, 'must be finite')).min(1).max(64)]);

export const sourceSchema = z
  .strictObject({
    name: topicLevel,
    /** The serial device, e.g. /dev/ttyACM0 or /dev/serial/by-id/usb-... */
    path: z.string().regex(/^\/\S+$/, 'must be an absolute device path'),
    baudRate: z.number().int().min(50).max(4_000_000).default(115200),
    dataBits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8),
    stopBits: z.union([z.literal(1), z.literal(1.5), z.literal(2)]).default(1),
    parity: z.enum(['none', 'even', 'odd', 'mark', 'space']).default('none'),
    rtscts: z.boolean().default(false),
    framing: framingSchema,
    sample: z
      .strictObject({
        /** Binary framings only: how each value is stored (little-endian). */
        format: z.enum(['int8', 'int16', 'float32']).default('int16'),
        channels: z.number().int().min(1).max(64).default(1),
      })
      .prefault({}),
    window: z.strictObject({
      size: z.number().int().min(1).max(65536),
      /** Samples between windows; default size (no overlap). */
      hop: z.number().int().min(1).max(65536).optional(),
    }),
    /** x * scale + offset, before quantizing into the model's input (one number, or one per channel). */
    normalize: z.strictObject({ scale: perChannel.default(1), offset: perChannel.default(0) }).prefault({}),
    model: topicLevel,
    /** Default `<prefix>/<deviceId>/sources/<name>/result`. */
    outputTopic: topicName.optional(),
    /** Default `<prefix>/<deviceId>/sources/<name>/event`. */
    eventTopic: topicName.optional(),
    /** An event is published when the top score reaches this (absent: no events). */
    eventThreshold: z.number().min(0).max(1).optional(),
    /** Only these labels raise events (absent: any). */
    eventLabels: z.array(z.string()).min(1).optional(),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
    /** Windows that may wait for inference; a newer one drops the oldest. */
    maxPendingWindows: z.number().int().min(1).max(64).default(2),
    reopen: z
      .strictObject({
        minMs: z.number().int().min(10).max(60_000).default(100),
        maxMs: z.number().int().min(10).max(600_000).default(5000),
      })
      .prefault({}),
  })
  .superRefine((s, ctx) => {
    if (s.window.hop !== undefined && s.window.hop > s.window.size) ctx.addIssue({ code: 'custom', path: ['window', 'hop'], message: 'must not exceed window.size' });
    for (const k of ['scale', 'offset'] as const) {
      const v = s.normalize[k];
      if (Array.isArray(v) && v.length !== s.sample.channels) ctx.addIssue({ code: 'custom', path: ['normalize', k], message: `has ${v.length} values for ${s.sample.channels} channel(s)` });
    }
    const f = s.framing;
    const sampleBytes = { int8: 1, int16: 2, float32: 4 }[s.sample.format] * s.sample.channels;
    if (f.kind === 'fixed' && f.payloadBytes % sampleBytes !== 0) ctx.addIssue({ code: 'custom', path: ['framing', 'payloadBytes'], message: `must be a multiple of ${sampleBytes} (one sample of ${s.sample.channels} x ${s.sample.format})` });
    if (s.reopen.maxMs < s.reopen.minMs) ctx.addIssue({ code: 'custom', path: ['reopen', 'maxMs'], message: 'must be at least reopen.minMs' });
  });

export type SourceConfig = z.output<typeof sourceSchema>;

/** Cross-checks against the rest of the configuration: unique names, models that exist, one source per port. */
export function checkSources(c: { sources: SourceConfig[]; models: { name: string }[] }, ctx: z.RefinementCtx): void {
  const names = new Set<string>();
  const paths = new Set<string>();
  const models = new Set(c.models.map((m) => m.name));
  c.sources.forEach((s, i) => {
    if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'name'], message: `duplicate source name '${s.name}'` });
    if (paths.has(s.path)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'path'], message: `'${s.path}' is already read by another source` });
    if (!models.has(s.model)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'model'], message: `no model named '${s.model}' is configured` });
    names.add(s.name);
    paths.add(s.path);
  });
}
