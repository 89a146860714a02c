/**
 * The Pub/Sub lanes: one `Topic` object per priority with its own batching
 * and flow limiter, and the checks that the configured topics exist (or
 * their creation with PUBSUB_CREATE_TOPICS), each bounded by the publish
 * timeout.
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { Logger } from 'pino';
import { JackError } from '../../errors.js';
import { withTimeout } from '../../timeout.js';
import { PRIORITIES, type Priority } from '../backend.js';
import { FlowLimiter } from '../flow-limiter.js';
import { classifyPubSubError, GRPC_ALREADY_EXISTS, GRPC_NOT_FOUND } from './errors.js';
import {
  type PubSubBackendConfig,
  topicForPriority,
  topicResourceName,
  topicVariable,
} from './topics.js';

export interface Lane {
  priority: Priority;
  /** Short topic name as configured. */
  topicName: string;
  topic: Topic;
  limiter: FlowLimiter;
}

export interface Lanes {
  /** The lane of each priority (priorities may share a topic). */
  lanes: Record<Priority, Lane>;
  /** One lane per distinct topic, for administration and health checks. */
  distinct: Map<string, { lane: Lane; variables: string[] }>;
  /** Call options of every topic call: the publish timeout bounds each one. */
  gaxOpts: { timeout: number };
}

/** Builds the lanes of `client` for the configured topics. */
export function openLanes(client: PubSub, config: PubSubBackendConfig): Lanes {
  const timeoutMs = config.publishTimeoutMs;
  // `timeout` alone makes gax cap each attempt AND the whole retry loop at
  // this value (CallSettings.merge), instead of the 60 s / 600 s defaults.
  const gaxOpts = { timeout: timeoutMs };
  const lanes = {} as Record<Priority, Lane>;
  for (const priority of PRIORITIES) {
    const topicName = topicForPriority(config, priority);
    const topic = client.topic(topicResourceName(config.project, topicName), {
      batching: {
        maxMessages: config.batchMaxMessages,
        maxMilliseconds: config.batchMaxDelayMs[priority],
      },
      gaxOpts,
    });
    lanes[priority] = {
      priority,
      topicName,
      topic,
      limiter: new FlowLimiter(config.maxOutstandingMessages, config.maxOutstandingBytes),
    };
  }
  /** One lane per distinct topic, for administration and health checks. */
  const distinct = new Map<string, { lane: Lane; variables: string[] }>();
  for (const priority of PRIORITIES) {
    const lane = lanes[priority];
    const configured = config.topics[priority] !== undefined;
    const entry = distinct.get(lane.topicName) ?? { lane, variables: [] };
    if (configured) entry.variables.push(topicVariable(priority));
    distinct.set(lane.topicName, entry);
  }
  return { lanes, distinct, gaxOpts };
}

export interface TopicChecks {
  /** True when the topic exists; false on NOT_FOUND; throws when Pub/Sub cannot answer. */
  topicExists(lane: Lane): Promise<boolean>;
  /** Creates, verifies or skips the topics as configured; throws naming every missing one. */
  prepareTopics(): Promise<void>;
}

export function createTopicChecks(
  config: PubSubBackendConfig,
  { distinct, gaxOpts }: Lanes,
  endpoint: string,
  logger: Logger,
): TopicChecks {
  const timeoutMs = config.publishTimeoutMs;
  /** Runs `work` but gives up after the publish timeout, whatever the library does. */
  const bounded = async <T>(what: string, work: Promise<T>): Promise<T> => {
    try {
      return await withTimeout(work, timeoutMs, () => {
        throw new JackError('unavailable', `${what}: no answer within ${timeoutMs} ms`);
      });
    } catch (err) {
      throw classifyPubSubError(err, what);
    }
  };

  /** True when the topic exists; false on NOT_FOUND; throws when Pub/Sub cannot answer. */
  const topicExists = async (lane: Lane): Promise<boolean> => {
    try {
      await bounded(
        `cannot reach Pub/Sub at ${endpoint} to check topic ${lane.topic.name}`,
        lane.topic.getMetadata(gaxOpts),
      );
      return true;
    } catch (err) {
      if ((err as { cause?: { code?: unknown } }).cause?.code === GRPC_NOT_FOUND) return false;
      throw err;
    }
  };

  const prepareTopics = async () => {
    if (config.createTopics) {
      for (const { lane } of distinct.values()) {
        if (await topicExists(lane)) continue;
        try {
          await bounded(`cannot create topic ${lane.topic.name}`, lane.topic.create(gaxOpts));
          logger.info({ topic: lane.topic.name }, 'created Pub/Sub topic (PUBSUB_CREATE_TOPICS)');
        } catch (err) {
          // Another replica created it between our check and our create.
          if ((err as { cause?: { code?: unknown } }).cause?.code !== GRPC_ALREADY_EXISTS) {
            throw err;
          }
        }
      }
      return;
    }
    if (!config.verifyTopics) {
      logger.info(
        'PUBSUB_VERIFY_TOPICS=false: topics not checked; health follows publish outcomes',
      );
      return;
    }
    const missing: string[] = [];
    for (const [name, { lane, variables }] of distinct) {
      if (!(await topicExists(lane))) {
        missing.push(`${lane.topic.name} (${variables.join(', ') || name})`);
      }
    }
    if (missing.length > 0) {
      throw new JackError(
        'failed_precondition',
        `Pub/Sub topic${missing.length > 1 ? 's' : ''} not found: ${missing.join(', ')}; create ${missing.length > 1 ? 'them' : 'it'} or set PUBSUB_CREATE_TOPICS=true (development)`,
      );
    }
  };

  return { topicExists, prepareTopics };
}
