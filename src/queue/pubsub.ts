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
import { type BackendConfig, PRIORITIES } from '../config.js';
import { isJackError, JackError, toError } from '../errors.js';
import type { Backend, OutboundMessage, Priority } from './backend.js';

export type PubSubBackendConfig = Extract<BackendConfig, { kind: 'pubsub' }>;

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

/** gRPC status codes, numbered as on the wire (google-gax errors carry them as `code`). */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_NOT_FOUND = 5;
const GRPC_ALREADY_EXISTS = 6;
const GRPC_UNAVAILABLE = 14;

/** Socket-level failures that mean "could not reach Pub/Sub" when no gRPC code is attached. */
const UNREACHABLE_PATTERN =
  /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EAI_AGAIN|No connection established|Failed to connect/i;

/** Env variable that configures the topic of a priority (for error messages). */
export function topicVariable(priority: Priority): string {
  return `PUBSUB_TOPIC_${priority.toUpperCase()}`;
}

/** The topic a priority publishes to: its own, else the medium topic (SPEC §3). */
export function topicForPriority(config: PubSubBackendConfig, priority: Priority): string {
  return config.topics[priority] ?? config.topics.medium;
}

/**
 * Full resource name `projects/P/topics/T`; a topic already given in that
 * form is kept as is.
 */
export function topicResourceName(project: string, topic: string): string {
  return topic.startsWith('projects/') ? topic : `projects/${project}/topics/${topic}`;
}

/**
 * Turns anything the client library threw into a JackError: Pub/Sub
 * unreachable, out of time or overloaded on its side → `unavailable` (the
 * caller may retry); everything else (permission, missing topic, bad
 * request) → `internal`.
 */
export function classifyPubSubError(err: unknown, what: string): JackError {
  if (isJackError(err)) return err;
  const error = toError(err);
  const code = (error as { code?: unknown }).code;
  const unavailable =
    code === GRPC_UNAVAILABLE ||
    code === GRPC_DEADLINE_EXCEEDED ||
    (typeof code !== 'number' && UNREACHABLE_PATTERN.test(error.message));
  return new JackError(
    unavailable ? 'unavailable' : 'internal',
    `${what}: ${firstLine(error.message)}`,
    { cause: error },
  );
}

/**
 * A failed publish as the client sees it (SPEC §6): the code and a message
 * of Jack's own, without topic names or the library's text; those stay in
 * `cause`, which the call's log line carries.
 */
export function publishFailure(err: unknown): JackError {
  const classified = classifyPubSubError(err, 'publish failed');
  return new JackError(
    classified.code,
    classified.code === 'unavailable'
      ? 'Pub/Sub is unavailable: the job was not enqueued; retry'
      : 'Pub/Sub refused the job: it was not enqueued (the cause is logged)',
    { cause: classified },
  );
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** Approximate size of a message in Pub/Sub's accounting: data plus attributes. */
function messageBytes(message: OutboundMessage): number {
  let bytes = message.data.length;
  for (const key in message.attributes) {
    bytes += key.length + (message.attributes[key]?.length ?? 0);
  }
  return bytes;
}

/**
 * Publisher flow control with cancellation. The library's own flow control
 * (`topic.flowControlled()`) keeps every id promise until `all()` is called
 * and cannot withdraw a waiting message; here a message whose caller already
 * got UNAVAILABLE leaves the queue and is never published.
 */
/** @internal Exported for its unit tests. */
export class FlowLimiter {
  private messages = 0;
  private bytes = 0;
  private readonly waiters: { bytes: number; admit: () => void; cancelled: boolean }[] = [];

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  /** Admits at once (returns undefined: the hot path allocates nothing) or queues. */
  acquire(bytes: number): { admitted: Promise<void>; cancel: () => void } | undefined {
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return undefined;
    }
    let waiter: (typeof this.waiters)[number] | undefined;
    const admitted = new Promise<void>((resolve) => {
      waiter = { bytes, admit: resolve, cancelled: false };
      this.waiters.push(waiter);
    });
    return {
      admitted,
      cancel: () => {
        if (waiter !== undefined) waiter.cancelled = true;
        this.admitWaiting();
      },
    };
  }

  release(bytes: number): void {
    this.messages -= 1;
    this.bytes -= bytes;
    this.admitWaiting();
  }

  private fits(bytes: number): boolean {
    // A single message larger than the byte limit still goes out, alone.
    if (this.messages === 0) return true;
    return this.messages + 1 <= this.maxMessages && this.bytes + bytes <= this.maxBytes;
  }

  private take(bytes: number): void {
    this.messages += 1;
    this.bytes += bytes;
  }

  private admitWaiting(): void {
    for (;;) {
      const next = this.waiters[0];
      if (next === undefined) return;
      if (next.cancelled) {
        this.waiters.shift();
        continue;
      }
      if (!this.fits(next.bytes)) return;
      this.waiters.shift();
      this.take(next.bytes);
      next.admit();
    }
  }
}

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
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new JackError('unavailable', `${what}: no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      throw classifyPubSubError(err, what);
    } finally {
      clearTimeout(timer);
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
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = await Promise.race([
        idle.then(() => false),
        new Promise<boolean>((resolve) => {
          // Each publish settles within the timeout on its own; this is a backstop.
          timer = setTimeout(() => resolve(true), timeoutMs + CLOSE_MARGIN_MS);
        }),
      ]);
      clearTimeout(timer);
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
