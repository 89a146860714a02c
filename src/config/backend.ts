/** The queue backend section: noop, Pub/Sub (topics, batching, flow control) or NATS (./nats.ts). */
import { PRIORITIES, type Priority } from '../priority.js';
import { DEFAULTS } from './defaults.js';
import { NATS_ONLY_VARIABLES, type NatsBackendConfig, parseNats } from './nats.js';
import { type Env, nonEmpty, type Parser } from './parser.js';

export type { NatsBackendConfig } from './nats.js';

export type MessageFormat = 'native' | 'legacy';

export type BackendConfig =
  | { kind: 'noop' }
  | {
      kind: 'pubsub';
      project: string;
      /** Topic name per priority; a priority without one uses `medium`. */
      topics: { medium: string } & Partial<Record<Priority, string>>;
      createTopics: boolean;
      verifyTopics: boolean;
      publishTimeoutMs: number;
      batchMaxDelayMs: Record<Priority, number>;
      batchMaxMessages: number;
      maxOutstandingMessages: number;
      maxOutstandingBytes: number;
      /** host:port of the emulator when PUBSUB_EMULATOR_HOST is set. */
      emulatorHost: string | undefined;
    }
  | NatsBackendConfig;

export function parseBackend(p: Parser, env: Env, problems: string[]): BackendConfig {
  const kind = p.oneOf('QUEUE_BACKEND', ['noop', 'pubsub', 'nats'] as const) ?? 'noop';
  const project = p.string('PUBSUB_PROJECT');
  const topics: Partial<Record<Priority, string>> = {};
  for (const priority of PRIORITIES) {
    const topic = p.string(`PUBSUB_TOPIC_${priority.toUpperCase()}`);
    if (topic !== undefined) topics[priority] = topic;
  }
  const createTopics = p.bool('PUBSUB_CREATE_TOPICS') ?? false;
  const verifyTopics = p.bool('PUBSUB_VERIFY_TOPICS') ?? true;
  const publishTimeoutMs =
    p.positiveDuration('PUBSUB_PUBLISH_TIMEOUT') ?? DEFAULTS.pubsubPublishTimeoutMs;
  const batchMaxDelayMs = { ...DEFAULTS.pubsubBatchMaxDelayMs };
  for (const priority of PRIORITIES) {
    const delay = p.duration(`PUBSUB_BATCH_MAX_DELAY_${priority.toUpperCase()}`);
    if (delay !== undefined) batchMaxDelayMs[priority] = delay;
  }
  const batchMaxMessages =
    p.positiveInt('PUBSUB_BATCH_MAX_MESSAGES') ?? DEFAULTS.pubsubBatchMaxMessages;
  const maxOutstandingMessages =
    p.positiveInt('PUBSUB_MAX_OUTSTANDING_MESSAGES') ?? DEFAULTS.pubsubMaxOutstandingMessages;
  const maxOutstandingBytes =
    p.size('PUBSUB_MAX_OUTSTANDING_BYTES') ?? DEFAULTS.pubsubMaxOutstandingBytes;

  // An operator who configured a broker but forgot QUEUE_BACKEND (or named
  // the other one) must not have jobs silently discarded (SPEC §3).
  const pubsubSet = [
    'PUBSUB_PROJECT',
    ...PRIORITIES.map((q) => `PUBSUB_TOPIC_${q.toUpperCase()}`),
  ].filter((name) => nonEmpty(env[name]));
  const natsSet = NATS_ONLY_VARIABLES.filter((name) => nonEmpty(env[name]));
  if (kind !== 'pubsub' && pubsubSet.length > 0) {
    problems.push(
      `${pubsubSet.join(', ')} set while QUEUE_BACKEND=${kind} (set QUEUE_BACKEND=pubsub to publish)`,
    );
  }
  if (kind !== 'nats' && natsSet.length > 0) {
    problems.push(
      `${natsSet.join(', ')} set while QUEUE_BACKEND=${kind} (set QUEUE_BACKEND=nats to publish)`,
    );
  }
  if (kind === 'noop') return { kind: 'noop' };
  if (kind === 'nats') return parseNats(p);
  if (project === undefined) problems.push('PUBSUB_PROJECT is required when QUEUE_BACKEND=pubsub');
  const medium = topics.medium;
  if (medium === undefined)
    problems.push('PUBSUB_TOPIC_MEDIUM is required when QUEUE_BACKEND=pubsub');
  return {
    kind: 'pubsub',
    project: project ?? '',
    topics: { ...topics, medium: medium ?? '' },
    createTopics,
    verifyTopics,
    publishTimeoutMs,
    batchMaxDelayMs,
    batchMaxMessages,
    maxOutstandingMessages,
    maxOutstandingBytes,
    emulatorHost: p.string('PUBSUB_EMULATOR_HOST'),
  };
}
