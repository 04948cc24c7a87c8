// Zod types for the parts of topics (and other MQTT strings) that come from the
// configuration: the same rules as reply topics (src/daemon/topic-name.ts), so a
// configured topic can never be one the broker refuses.
import { z } from 'zod';
import { mqttStringProblem, topicLevelProblem, topicNameProblem } from '../daemon/topic-name';

const check = (problem: (s: string) => string | undefined) => (s: string, ctx: z.RefinementCtx) => {
  const p = problem(s);
  if (p) ctx.addIssue({ code: 'custom', message: p });
};

/** One topic level (deviceId, topicPrefix, fleet.group, model and source names). */
export const topicLevel = z.string().min(1).max(128).superRefine(check(topicLevelProblem));

/**
 * A topic to publish on (levels separated by "/"). Its depth is checked against
 * `maxTopicLevels` by the whole configuration's refinement.
 */
export const topicName = z
  .string()
  .min(1)
  .max(1024)
  .superRefine(check((s) => configuredTopicProblem(s, Number.MAX_SAFE_INTEGER)));

/** Why a configured topic cannot be published to (its depth against `maxLevels`); undefined when it can. */
export function configuredTopicProblem(s: string, maxLevels: number): string | undefined {
  if (s.startsWith('$')) return 'must not start with "$" (reserved to the broker)';
  const p = topicNameProblem(s, maxLevels);
  return p && `must be a topic name a broker accepts (${p})`;
}

/** Any other MQTT UTF-8 string the broker checks (client id, user name). */
export const mqttString = z.string().superRefine(check((s) => mqttStringProblem(s)));
