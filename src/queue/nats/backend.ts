/**
 * NATS JetStream backend (SPEC §17). Jobs go to `<prefix>.<priority>.<job_type>`
 * (subject.ts) on one stream, with the §3 attributes as headers and
 * `Nats-Msg-Id: <job_id>`, so the stream's duplicate window stores a
 * republished job (a retry after an unknown outcome, §9) once.
 *
 * Guarantees, as the Pub/Sub backend's:
 * - `publish` resolves only with the stream's PubAck (`<stream>:<seq>`); a
 *   duplicate PubAck is success too, and counted;
 * - every wait ends within `publishTimeoutMs` (a timer per message);
 * - while the connection is down a publish fails at once (UNAVAILABLE), and
 *   publishes awaiting their PubAck are capped (messages and bytes), so an
 *   outage cannot grow the client's buffer without bound;
 * - `close` waits for every publish in flight, then drains the connection.
 *
 * Credentials are never logged: `config.servers` carries none, and every
 * error text that leaves this file is Jack's own (the cause is redacted by
 * the logger).
 *
 * The only module that loads `nats` (`app/adapters.ts` imports it dynamically).
 */
import { readFile } from 'node:fs/promises';
import type {
  JetStreamClient,
  JetStreamManager,
  NatsConnection,
  NatsError,
  StreamInfo,
} from 'nats';
import type { Logger } from 'pino';
import type { NatsBackendConfig } from '../../config/index.js';
import { natsCredentialOptions } from '../../config/nats.js';
import { isJackError, JackError, toError } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import { withTimeout } from '../../timeout.js';
import { type Backend, type OutboundMessage, PRIORITIES } from '../backend.js';
import { FlowLimiter, type FlowLimiter as Limiter, messageBytes } from '../flow-limiter.js';
import { jobSubject, laneSubject, subjectCovers } from './subject.js';

export interface NatsBackendOptions {
  config: NatsBackendConfig;
  logger: Logger;
  /** Counts duplicate PubAcks. */
  metrics?: Pick<Metrics, 'duplicatePublished'>;
}

/** Extra time `close()` allows beyond the publish timeout before giving up on a drain. */
const CLOSE_MARGIN_MS = 1_000;

/** NATS error codes (the client's `ErrorCode` values) that mean "try again later". */
const UNAVAILABLE_CODES = new Set([
  'TIMEOUT',
  '503', // no responders: no stream listens on the subject (yet), or JetStream is down
  '408',
  'DISCONNECT',
  'CONNECTION_CLOSED',
  'CONNECTION_DRAINING',
  'CONNECTION_REFUSED',
  'CONNECTION_TIMEOUT',
  'CANCELLED',
]);

function natsCode(err: unknown): string | undefined {
  const code = (err as Partial<NatsError> | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The servers as a log may show them (no credentials are ever in `servers`). */
function where(config: NatsBackendConfig): string {
  return config.servers.map((s) => `${config.tls ? 'tls' : 'nats'}://${s}`).join(',');
}

/**
 * A failed publish as the client sees it (SPEC §6): the code and a message
 * of Jack's own; the client library's text stays in `cause`, for the log.
 */
function publishFailure(err: unknown): JackError {
  if (isJackError(err)) return err;
  const code = natsCode(err);
  if (code === 'BAD_HEADER') {
    return new JackError(
      'invalid_argument',
      'trace_id and correlation_id must not contain line breaks on the NATS backend',
      { cause: toError(err) },
    );
  }
  if (code !== undefined && UNAVAILABLE_CODES.has(code)) {
    return new JackError('unavailable', 'NATS is unavailable: the job was not enqueued; retry', {
      cause: toError(err),
    });
  }
  return new JackError(
    'internal',
    'NATS refused the job: it was not enqueued (the cause is logged)',
    { cause: toError(err) },
  );
}

/**
 * Connects, checks (or creates) the stream, and returns the backend.
 * @throws JackError `failed_precondition` (one line, no credentials) when the
 *   stream is missing or does not cover the subjects, JetStream is off, or
 *   the credentials are refused; `unavailable` when no server answers.
 */
export async function createNatsBackend(options: NatsBackendOptions): Promise<Backend> {
  const { config, logger, metrics } = options;
  const nats = await import('nats');
  const timeoutMs = config.publishTimeoutMs;
  const servers = where(config);

  let authenticator: ReturnType<typeof nats.credsAuthenticator> | undefined;
  if (config.credsFile !== undefined) {
    let creds: Buffer;
    try {
      creds = await readFile(config.credsFile);
    } catch {
      throw new JackError('failed_precondition', 'NATS_CREDS_FILE cannot be read');
    }
    authenticator = nats.credsAuthenticator(new Uint8Array(creds));
  }

  let nc: NatsConnection;
  try {
    nc = await nats.connect({
      servers: config.servers,
      ...natsCredentialOptions(config),
      ...(authenticator === undefined ? {} : { authenticator }),
      name: 'jack',
      timeout: timeoutMs,
      // Keep trying for good: health reports the outage; publishes fail fast meanwhile.
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 10_000,
      maxPingOut: 2,
      // No stack captured per request: Jack turns every failure into its own
      // error, and the client's two Error objects per publish (the request's
      // and its timeout's) were ~15 % of an Enqueue's CPU on NATS.
      noAsyncTraces: true,
    });
  } catch (err) {
    const code = natsCode(err);
    if (
      code === 'AUTHORIZATION_VIOLATION' ||
      code === 'BAD_AUTHENTICATION' ||
      code === 'BAD_CREDS'
    ) {
      throw new JackError('failed_precondition', `NATS at ${servers} refused Jack's credentials`, {
        cause: toError(err),
      });
    }
    throw new JackError('unavailable', `cannot connect to NATS at ${servers}`, {
      cause: toError(err),
    });
  }

  let js: JetStreamClient;
  let jsm: JetStreamManager;
  try {
    jsm = await nc.jetstreamManager({ timeout: timeoutMs });
    js = nc.jetstream({ timeout: timeoutMs });
    await prepareStream(jsm, config, nats, logger);
  } catch (err) {
    await nc.close().catch(() => {});
    if (isJackError(err)) throw err;
    if (natsCode(err) === '503') {
      throw new JackError('failed_precondition', `JetStream is not enabled on NATS at ${servers}`, {
        cause: toError(err),
      });
    }
    throw new JackError('unavailable', `NATS at ${servers} did not answer the stream check`, {
      cause: toError(err),
    });
  }

  let connected = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        connected = false;
        logger.warn({ servers }, 'NATS connection lost; reconnecting');
      } else if (status.type === 'reconnect') {
        connected = true;
        logger.info({ servers }, 'NATS connection restored');
      }
    }
  })().catch(() => {});

  const limiter: Limiter = new FlowLimiter(config.maxPendingMessages, config.maxPendingBytes);
  let closed = false;
  let closing: Promise<void> | undefined;
  let inFlight = 0;
  /**
   * The publishes of one event-loop turn, sent together: the client writes
   * its buffer to the socket once per microtask checkpoint, so sent one by
   * one (each Enqueue in a callback of its own) every job cost a socket
   * write of its own (~9 % of an Enqueue's CPU).
   */
  let sendsThisTurn: (() => void)[] = [];
  const sendThisTurn = (send: () => void) => {
    if (sendsThisTurn.length === 0) {
      setImmediate(() => {
        const sends = sendsThisTurn;
        sendsThisTurn = [];
        for (const next of sends) next();
      });
    }
    sendsThisTurn.push(send);
  };
  let onIdle: (() => void) | undefined;

  const publish = (message: OutboundMessage): Promise<string> => {
    if (closed) {
      return Promise.reject(
        new JackError('unavailable', 'the NATS backend is shutting down; retry on another replica'),
      );
    }
    if (!connected || nc.isClosed()) {
      // Handing it to the client would only grow its reconnect buffer.
      return Promise.reject(
        new JackError('unavailable', 'NATS is unavailable: the job was not enqueued; retry', {
          cause: new Error(`not connected to ${servers}`),
        }),
      );
    }
    const subject = jobSubject(
      config.subjectPrefix,
      message.priority,
      message.attributes.job_type ?? '',
    );
    const bytes = messageBytes(message);
    inFlight += 1;
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      let waiting: ReturnType<FlowLimiter['acquire']>;
      const started = Date.now();

      const settle = (err: JackError | undefined, id?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        inFlight -= 1;
        if (inFlight === 0) onIdle?.();
        if (err === undefined && id !== undefined) resolve(id);
        else reject(err);
      };

      const timer = setTimeout(() => {
        waiting?.cancel();
        settle(
          new JackError(
            'unavailable',
            `NATS did not accept the job within ${timeoutMs} ms; retry`,
            {
              cause: new Error(`publish to ${subject}: NATS_PUBLISH_TIMEOUT passed`),
            },
          ),
        );
      }, timeoutMs);

      const send = () => {
        if (settled) {
          // Timed out while waiting for room: the caller was told UNAVAILABLE.
          limiter.release(bytes);
          return;
        }
        let sent: Promise<{ stream: string; seq: number; duplicate: boolean }>;
        try {
          const headers = nats.headers();
          for (const key in message.attributes) {
            headers.set(key, message.attributes[key] as string);
          }
          sent = js.publish(subject, message.data, {
            msgID: message.jobId,
            headers,
            timeout: Math.max(1, timeoutMs - (Date.now() - started)),
          });
        } catch (err) {
          limiter.release(bytes);
          settle(publishFailure(err));
          return;
        }
        sent.then(
          (ack) => {
            limiter.release(bytes);
            if (ack.duplicate) metrics?.duplicatePublished(message.priority);
            settle(undefined, `${ack.stream}:${ack.seq}`);
          },
          (err: unknown) => {
            limiter.release(bytes);
            settle(publishFailure(err));
          },
        );
      };

      waiting = limiter.acquire(bytes);
      if (waiting === undefined) sendThisTurn(send);
      else void waiting.admitted.then(send);
    });
  };

  const check = async () => {
    if (!connected || nc.isClosed()) {
      throw new JackError('unavailable', `not connected to NATS at ${servers}`);
    }
    let info: StreamInfo;
    try {
      info = await withTimeout(jsm.streams.info(config.stream), timeoutMs, () => {
        throw new JackError(
          'unavailable',
          `NATS at ${servers} did not answer the stream check in time`,
        );
      });
    } catch (err) {
      if (isJackError(err)) throw err;
      if (isStreamNotFound(err)) {
        throw new JackError('internal', `NATS stream ${config.stream} no longer exists`);
      }
      throw new JackError('unavailable', `NATS stream check failed: ${toError(err).message}`);
    }
    const uncovered = uncoveredLanes(info, config);
    if (uncovered.length > 0) {
      throw new JackError(
        'internal',
        `NATS stream ${config.stream} no longer covers ${uncovered.join(', ')}`,
      );
    }
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
      const gaveUp = await withTimeout(
        idle.then(() => false),
        timeoutMs + CLOSE_MARGIN_MS,
        () => true,
      );
      if (gaveUp) logger.error({ inFlight }, 'NATS publishes still in flight at close');
      // drain() flushes what the client holds; a server that never answers must not hold us.
      await withTimeout(
        nc.drain().catch(() => nc.close()),
        CLOSE_MARGIN_MS,
        () => nc.close().catch(() => {}),
      ).catch(() => {});
    })();
    return closing;
  };

  logger.info(
    { servers, stream: config.stream, subjects: `${config.subjectPrefix}.<priority>.<job_type>` },
    'NATS JetStream backend ready',
  );

  return {
    kind: 'nats',
    publish,
    publishMany: (messages) => Promise.allSettled(messages.map(publish)),
    check,
    close,
  };
}

function isStreamNotFound(err: unknown): boolean {
  const api = (err as Partial<NatsError> | undefined)?.api_error;
  return api?.err_code === 10059 || /stream not found/i.test(toError(err).message);
}

/** The lane subjects (`<prefix>.<priority>.>`) no subject of the stream covers. */
function uncoveredLanes(info: StreamInfo, config: NatsBackendConfig): string[] {
  const subjects = info.config.subjects ?? [];
  return PRIORITIES.map((p) => laneSubject(config.subjectPrefix, p)).filter(
    (lane) => !subjects.some((filter) => subjectCovers(filter, lane)),
  );
}

/** At startup: the stream exists and covers every lane, or is created (development). */
async function prepareStream(
  jsm: JetStreamManager,
  config: NatsBackendConfig,
  nats: typeof import('nats'),
  logger: Logger,
): Promise<void> {
  let info: StreamInfo | undefined;
  try {
    info = await jsm.streams.info(config.stream);
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  if (info === undefined) {
    if (!config.createStream) {
      throw new JackError(
        'failed_precondition',
        `NATS stream ${config.stream} does not exist (create it covering ${config.subjectPrefix}.>, or set NATS_CREATE_STREAM=true in development)`,
      );
    }
    await jsm.streams.add({
      name: config.stream,
      subjects: [`${config.subjectPrefix}.>`],
      storage: nats.StorageType.File,
      num_replicas: config.streamReplicas,
      duplicate_window: nats.nanos(config.duplicateWindowMs),
    });
    logger.warn(
      { stream: config.stream, replicas: config.streamReplicas },
      'NATS_CREATE_STREAM=true: created the NATS stream (development only)',
    );
    return;
  }
  const uncovered = uncoveredLanes(info, config);
  if (uncovered.length > 0) {
    throw new JackError(
      'failed_precondition',
      `NATS stream ${config.stream} does not cover ${uncovered.join(', ')} (its subjects: ${(info.config.subjects ?? []).join(', ') || 'none'})`,
    );
  }
}
