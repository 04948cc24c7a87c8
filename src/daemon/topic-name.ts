// MQTT topic names and strings as brokers check them (mosquitto disconnects a
// client that publishes to a topic failing these rules): well-formed UTF-8, no
// C0/C1 control characters, no Unicode non-characters, no wildcards, at most
// 65535 bytes, and a bounded number of levels. Reply topics from requests and
// every topic part from the configuration go through here.

/** Levels a topic may have unless configured otherwise (mosquitto refuses more than 200). */
export const DEFAULT_MAX_TOPIC_LEVELS = 32;
export const MAX_TOPIC_BYTES = 65535;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
const BMP_NON_CHARACTER = /[\uFDD0-\uFDEF\uFFFE\uFFFF]/;
// U+1FFFE/U+1FFFF ... U+10FFFE/U+10FFFF: a high surrogate with its low six bits set, then DFFE or DFFF
const ASTRAL_NON_CHARACTER = /[\uD83F\uD87F\uD8BF\uD8FF\uD93F\uD97F\uD9BF\uD9FF\uDA3F\uDA7F\uDABF\uDAFF\uDB3F\uDB7F\uDBBF\uDBFF][\uDFFE\uDFFF]/;

const show = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}…` : s);

/** Why `s` is not an MQTT UTF-8 string a broker accepts (client ids, user names, topic parts); undefined when it is. */
export function mqttStringProblem(s: string): string | undefined {
  if (LONE_SURROGATE.test(s)) return 'is not well-formed UTF-8 (a lone surrogate)';
  const c = CONTROL.exec(s);
  if (c) return `holds the control character U+${c[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  if (BMP_NON_CHARACTER.test(s) || ASTRAL_NON_CHARACTER.test(s)) return 'holds a Unicode non-character (U+FDD0..U+FDEF or U+xFFFE/U+xFFFF)';
  if (Buffer.byteLength(s, 'utf8') > MAX_TOPIC_BYTES) return `is longer than ${MAX_TOPIC_BYTES} bytes`;
  return undefined;
}

/** Why `t` cannot be published to; undefined when it can. */
export function topicNameProblem(t: unknown, maxLevels = DEFAULT_MAX_TOPIC_LEVELS): string | undefined {
  if (typeof t !== 'string') return 'must be a string';
  if (t.length === 0) return 'must not be empty';
  const p = mqttStringProblem(t);
  if (p) return p;
  if (/[+#]/.test(t)) return 'must not hold the wildcards "+" or "#"';
  let levels = 1;
  for (let i = t.indexOf('/'); i >= 0; i = t.indexOf('/', i + 1)) levels++;
  if (levels > maxLevels) return `has ${levels} levels; at most ${maxLevels} are allowed`;
  return undefined;
}

/** Why `s` cannot be one level of a topic; undefined when it can. */
export function topicLevelProblem(s: string): string | undefined {
  if (s.length === 0) return 'must not be empty';
  if (/[/+#]/.test(s)) return 'must be one topic level: no "/", "+", "#"';
  return mqttStringProblem(s);
}

/** Describes a refused topic for logs and error replies (quoted, cut short). */
export function describeTopic(t: unknown): string {
  return typeof t === 'string' ? show(t) : typeof t;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes a topic sent as raw bytes; undefined unless the bytes are well-formed UTF-8 (no overlong forms, no surrogates). */
export function decodeTopicBytes(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}
