/**
 * Google Cloud Pub/Sub backend (SPEC §3). One `Topic` object per priority,
 * created once, each with its own batching, so an immediate job never waits
 * behind a low-priority batch even when both share the medium topic.
 *
 * Guarantees:
 * - `publish` resolves only with the message id the server returned;
 * - every wait (flow control, batching, the RPC and its retries) ends within
 *   `publishTimeoutMs`: a gax timeout bounds the RPC and its retries, and a
 *   timer per message bounds the whole call even if the library stalls;
 * - `close` waits for every publish in flight, then closes the client.
 *
 * This is the only module that loads `@google-cloud/pubsub` (`app.ts` imports
 * it dynamically), so the noop path never pays for it.
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { Logger } from 'pino';
import { JackError } from '../../errors.js';
import { withTimeout } from '../../timeout.js';
import { type Backend, type OutboundMessage, PRIORITIES, type Priority } from '../backend.js';
import {
  classifyPubSubError,
  GRPC_ALREADY_EXISTS,
  GRPC_NOT_FOUND,
  publishFailure,
} from './errors.js';
import { FlowLimiter, messageBytes } from './flow-limiter.js';
import {
  type PubSubBackendConfig,
  topicForPriority,
  topicResourceName,
  topicVariable,
} from './topics.js';

export interface PubSubBackendOptions {
  config: PubSubBackendConfig;
  logger: Logger;
}

/**
 * With `PUBSUB_VERIFY_TOPICS=false` health follows publish outcomes: a publish
 * failure newer than the last success fails `check()` for this long. It then
 * passes again, so a replica taken out of rotation gets traffic again and
 * proves itself (or fails again) instead of staying out for good.
 */
export const PUBLISH_FAILURE_HEALTH_WINDOW_MS = 30_000;

/** Extra time `close()` allows beyond the publish timeout before giving up on a flush. */
const CLOSE_MARGIN_MS = 1_000;

interface Lane {
  priority: Priority;
  /** Short topic name as configured. */
  topicName: string;
  topic: Topic;
  limiter: FlowLimiter;
}

/**
 * Creates the Pub/Sub backend and, before returning, makes sure every
 * configured topic exists (or creates it with `createTopics`).
 * @throws JackError `failed_precondition` naming every missing topic and its
 *   variable; `unavailable` when Pub/Sub cannot be reached to check.
 */
export async function createPubSubBackend(options: PubSubBackendOptions): Promise<Backend> {
  const { config, logger } = options;
  const { PubSub } = await import('@google-cloud/pubsub');
  const timeoutMs = config.publishTimeoutMs;
  const client: PubSub = new PubSub({
    projectId: config.project,
    // Explicit rather than left to the library's read of process.env, so the
    // value of the parsed config (and of tests' env objects) is what counts.
    ...(config.emulatorHost === undefined
      ? {}
      : {
          apiEndpoint: config.emulatorHost,
          emulatorMode: true,
          // Without it, gax asks the credentials for their universe, which
          // probes the GCE metadata server (a warning and a delay) although
          // the emulator needs no credentials at all.
          universeDomain: 'googleapis.com',
        }),
  });
  const endpoint = config.emulatorHost ?? 'pubsub.googleapis.com';

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

  try {
    await prepareTopics();
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }

  let closed = false;
  let closing: Promise<void> | undefined;
  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  let lastSuccessAt = 0;
  let lastFailureAt = 0;
  let lastFailure: JackError | undefined;

  const publish = (message: OutboundMessage): Promise<string> => {
    if (closed) {
      return Promise.reject(
        new JackError(
          'unavailable',
          'the Pub/Sub backend is shutting down; retry on another replica',
        ),
      );
    }
    const lane = lanes[message.priority];
    const bytes = messageBytes(message);
    inFlight += 1;
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      let waiting: ReturnType<FlowLimiter['acquire']>;

      const settle = (err: JackError | undefined, id?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        inFlight -= 1;
        if (inFlight === 0) onIdle?.();
        if (err === undefined && id !== undefined) {
          lastSuccessAt = Date.now();
          resolve(id);
        } else {
          const failure =
            err ??
            new JackError(
              'internal',
              'Pub/Sub returned no message id: the job may not be enqueued',
              {
                cause: new Error(`no message id from ${lane.topic.name}`),
              },
            );
          lastFailureAt = Date.now();
          lastFailure = failure;
          reject(failure);
        }
      };

      const timer = setTimeout(() => {
        waiting?.cancel();
        settle(
          new JackError(
            'unavailable',
            `Pub/Sub did not accept the job within ${timeoutMs} ms; retry`,
            { cause: new Error(`publish to ${lane.topic.name}: PUBSUB_PUBLISH_TIMEOUT passed`) },
          ),
        );
      }, timeoutMs);

      const send = () => {
        if (settled) {
          // Timed out while waiting for room: the caller was told UNAVAILABLE,
          // so this message must not go out now.
          lane.limiter.release(bytes);
          return;
        }
        try {
          lane.topic.publishMessage(
            { data: message.data, attributes: message.attributes as Record<string, string> },
            (err, id) => {
              lane.limiter.release(bytes);
              if (err) {
                settle(publishFailure(classifyPubSubError(err, `publish to ${lane.topic.name}`)));
              } else if (typeof id === 'string' && id !== '') settle(undefined, id);
              else settle(undefined);
            },
          );
        } catch (err) {
          // publishMessage throws synchronously only for malformed input.
          lane.limiter.release(bytes);
          settle(
            publishFailure(
              new JackError('internal', `cannot publish to ${lane.topic.name}`, { cause: err }),
            ),
          );
        }
      };

      waiting = lane.limiter.acquire(bytes);
      if (waiting === undefined) send();
      else void waiting.admitted.then(send);
    });
  };

  const check = async () => {
    if (!config.verifyTopics && !config.createTopics) {
      // Without topics.get permission the only signal is how publishes went.
      if (
        lastFailure !== undefined &&
        lastFailureAt > lastSuccessAt &&
        Date.now() - lastFailureAt < PUBLISH_FAILURE_HEALTH_WINDOW_MS
      ) {
        // Health logs this for the operator: the library's text helps there.
        const cause = lastFailure.cause instanceof Error ? lastFailure.cause : lastFailure;
        throw new JackError('unavailable', `recent publishes failed: ${cause.message}`);
      }
      return;
    }
    await Promise.all(
      [...distinct.values()].map(async ({ lane }) => {
        if (!(await topicExists(lane))) {
          throw new JackError('internal', `Pub/Sub topic ${lane.topic.name} no longer exists`);
        }
      }),
    );
  };

  const close = () => {
    closing ??= (async () => {
      closed = true;
      const idle =
        inFlight === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              onIdle = resolve;
            });
      // Sends every partly filled batch now instead of after its delay.
      for (const priority of PRIORITIES) void lanes[priority].topic.flush().catch(() => {});
      // Each publish settles within the timeout on its own; this is a backstop.
      const gaveUp = await withTimeout(
        idle.then(() => false),
        timeoutMs + CLOSE_MARGIN_MS,
        () => true,
      );
      if (gaveUp) logger.error({ inFlight }, 'Pub/Sub publishes still in flight at close');
      await client.close();
    })();
    return closing;
  };

  logger.info(
    {
      project: config.project,
      endpoint,
      topics: Object.fromEntries(PRIORITIES.map((p) => [p, lanes[p].topic.name])),
    },
    'Pub/Sub backend ready',
  );

  return {
    kind: 'pubsub',
    publish,
    publishMany: (messages) => Promise.allSettled(messages.map(publish)),
    check,
    close,
  };
}
