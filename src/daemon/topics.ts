// Topic names of the MQTT API (README "MQTT topics" documents them).
import type { Config } from '../config/schema';
import { describeTopic, topicNameProblem } from './topic-name';

export interface Topics {
  /** Direct requests: <prefix>/<deviceId>/infer/<model> */
  requests: string;
  /** Fleet requests as a shared subscription, when fleet.group is set. */
  fleetRequests?: string;
  status: string;
  /** Where replies go when the request names no reply topic. */
  defaultReply(model: string, fleet: boolean): string;
  /** The model name and whether it came through the fleet topic; undefined for other topics. */
  match(topic: string): { model: string; fleet: boolean } | undefined;
  /** Why a reply may not be published to `topic` (undefined: it may). */
  replyProblem(topic: unknown): string | undefined;
}

export function topicsFor(c: Config): Topics {
  const p = c.topicPrefix;
  const device = `${p}/${c.deviceId}`;
  const group = c.fleet?.group;
  const fleetBase = group ? `${p}/fleet/${group}` : undefined;
  return {
    requests: `${device}/infer/+`,
    fleetRequests: group ? `$share/${group}/${fleetBase}/infer/+` : undefined,
    status: `${device}/status`,
    defaultReply: (model, fleet) => `${fleet && fleetBase ? fleetBase : device}/reply/${model}`,
    match(topic) {
      const direct = `${device}/infer/`;
      if (topic.startsWith(direct)) return { model: topic.slice(direct.length), fleet: false };
      if (fleetBase && topic.startsWith(`${fleetBase}/infer/`)) return { model: topic.slice(fleetBase.length + 7), fleet: true };
      return undefined;
    },
    replyProblem(topic) {
      const bad = topicNameProblem(topic, c.maxTopicLevels);
      if (bad) return `reply topic ${describeTopic(topic)} ${bad}`;
      const t = topic as string;
      if (t.startsWith('$')) return `reply topic ${describeTopic(t)} is reserved to the broker (starts with "$")`;
      if (!inReplyNamespace(t.split('/'), p)) return `reply topic ${describeTopic(t)} is under ${p}/ but not a reply topic (${p}/<device>/reply/... or ${p}/fleet/<group>/reply/...): ${p}/ holds control topics`;
      return undefined;
    },
  };
}

/**
 * Inside the prefix, replies may only go to `<p>/<device>/reply/...` or
 * `<p>/fleet/<group>/reply/...`: everything else there (infer, status, ota,
 * sources, the console's pull topics) is a control topic that a requester must
 * not be able to write through the daemon. Topics outside the prefix are the
 * broker ACL's business.
 */
function inReplyNamespace(levels: string[], prefix: string): boolean {
  if (levels[0] !== prefix) return true;
  if (levels[1] === 'fleet') return levels.length >= 4 && levels[3] === 'reply';
  return levels[1] !== 'ota' && levels.length >= 3 && levels[2] === 'reply';
}
