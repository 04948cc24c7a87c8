// Topic names of the MQTT API (README "MQTT topics" documents them).
import type { Config } from '../config/schema';

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
  };
}
