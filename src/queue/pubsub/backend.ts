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
 * This is the only module that loads `@google-cloud/pubsub` (`app/adapters.ts` imports
 * it dynamically), so the noop path never pays for it.
 */
import type { PubSub } from '@google-cloud/pubsub';
import type { Logger } from 'pino';
import { JackError } from '../../errors.js';
import { requireGoogleCredentials } from '../../google-credentials.js';
import { withTimeout } from '../../timeout.js';
import { type Backend, type OutboundMessage, PRIORITIES } from '../backend.js';
import { type FlowLimiter, messageBytes } from '../flow-limiter.js';
import { classifyPubSubError, publishFailure } from './errors.js';
import { createTopicChecks, openLanes } from './lanes.js';
import type { PubSubBackendConfig } from './topics.js';

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
  if (config.emulatorHost === undefined) {
    await requireGoogleCredentials(
      client.auth,
      'the Pub/Sub backend (QUEUE_BACKEND=pubsub)',
      'set PUBSUB_EMULATOR_HOST to use the emulator',
    );
  }
  const endpoint = config.emulatorHost ?? 'pubsub.googleapis.com';

  const laneSet = openLanes(client, config);
  const { lanes, distinct } = laneSet;
  const { topicExists, prepareTopics } = createTopicChecks(config, laneSet, endpoint, logger);

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
