/** The queue backend section: noop or Pub/Sub, its topics, batching and flow control. */
import { PRIORITIES, type Priority } from '../queue/backend.js';
import { DEFAULTS } from './defaults.js';
import { type Env, nonEmpty, type Parser } from './parser.js';

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
    };

export function parseBackend(p: Parser, env: Env, problems: string[]): BackendConfig {
  const kind = p.oneOf('QUEUE_BACKEND', ['noop', 'pubsub'] as const) ?? 'noop';
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

  if (kind === 'noop') {
    // An operator who configured Pub/Sub but forgot QUEUE_BACKEND must not
    // have jobs silently discarded (SPEC §3).
    const stray = [
      'PUBSUB_PROJECT',
      ...PRIORITIES.map((q) => `PUBSUB_TOPIC_${q.toUpperCase()}`),
    ].filter((name) => nonEmpty(env[name]));
    if (stray.length > 0) {
      problems.push(
        `${stray.join(', ')} set while QUEUE_BACKEND=noop (set QUEUE_BACKEND=pubsub to publish)`,
      );
    }
    return { kind: 'noop' };
  }
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
