/**
 * The NATS JetStream lane source (SPEC §15, §17): one durable pull consumer
 * per lane, on Jack's stream.
 *
 * - Pulls in bounded batches: a fetch asks for no more than the lane has
 *   room for (`maxMessages` minus what the worker holds), and the next one
 *   waits until something is settled, so a lane never hoards messages that
 *   another worker, or a higher lane, could run (§15 priority).
 * - Settles with `ack`, `nak` (with a delay: the lane's backoff, growing
 *   with the delivery count; `0` at once) and `term` (DEAD: never again;
 *   the server publishes a MSG_TERMINATED advisory a dead-letter process
 *   can follow). The attempt is JetStream's delivery count.
 * - Keeps each held message's lease alive (`working()`, an in-progress ack)
 *   at a third of the consumer's `ack_wait`, up to `maxLeaseMs`.
 * - `close()` ends the open pull request at once, waits up to
 *   `closeTimeoutMs` for the held messages to be settled, naks the rest
 *   (no delay) and flushes.
 *
 * Consumers are the operator's (their name is the lane); `createLane`
 * creates one for development only. Every error text that leaves this file
 * is its own: no server URL with credentials, no library text.
 */
import {
  AckPolicy,
  type ConnectionOptions,
  type Consumer,
  type ConsumerMessages,
  connect,
  DeliverPolicy,
  type JetStreamClient,
  type JsMsg,
  millis,
  type NatsConnection,
  type NatsError,
  nanos,
} from 'nats';
import {
  type Delivery,
  type LaneOptions,
  type LaneSource,
  LaneUnusableError,
  type WorkerBackend,
} from './lane-source.js';

export interface NatsBackendOptions {
  /** A connection of your own (left open by `close()`); else one is made from the rest. */
  connection?: NatsConnection;
  /** Servers, `host:port` or `nats://host:port` (NATS_URL); credentials go in `connectOptions`. */
  servers?: string | string[];
  /** Any other client option: `user`/`pass`, `token`, `authenticator` (creds file), `tls`. */
  connectOptions?: Omit<ConnectionOptions, 'servers'>;
  /** Jack's stream (NATS_STREAM). Default `JACK`. */
  stream?: string;
  /** Jack's subject prefix (NATS_SUBJECT_PREFIX): where `createLane` points a consumer. Default `jack`. */
  subjectPrefix?: string;
  /**
   * The delay of a `nack()` without one: `minMs` × 2^(delivery count − 1),
   * at most `maxMs`. Default 1 s … 60 s.
   */
  nakDelay?: { minMs: number; maxMs: number };
  /** A development server: `createSubscriptions: true` may create consumers. */
  development?: boolean;
  /** `ack_wait` of a consumer `createLane` creates (ms). Default 30 s. */
  createdAckWaitMs?: number;
}

const DEFAULT_STREAM = 'JACK';
const DEFAULT_PREFIX = 'jack';
const DEFAULT_NAK_DELAY = { minMs: 1_000, maxMs: 60_000 };
const DEFAULT_ACK_WAIT_MS = 30_000;
/** How long one pull request waits at the server for messages (the client's minimum is 1 s). */
const FETCH_EXPIRES_MS = 5_000;
/** Retry pace after a failed pull: from this, doubling, up to RETRY_MAX_MS. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;
/** A pull that came back empty sooner than this waits the rest, so nothing can spin. */
const MIN_PULL_MS = 100;
/** The longest `close()` waits for the server to take the last acks and naks. */
const FLUSH_TIMEOUT_MS = 2_000;
/** JetStream API error codes. */
const CONSUMER_NOT_FOUND = 10014;
const STREAM_NOT_FOUND = 10059;

interface Connected {
  nc: NatsConnection;
  js: JetStreamClient;
}

function apiCode(err: unknown): number | undefined {
  return (err as Partial<NatsError> | undefined)?.api_error?.err_code;
}
function clientCode(err: unknown): string | undefined {
  const code = (err as Partial<NatsError> | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A pull failure in this file's own words; LaneUnusableError when it is configuration. */
function laneFailure(stream: string, name: string, err: unknown): Error {
  const code = apiCode(err);
  const text = err instanceof Error ? err.message : String(err);
  if (code === CONSUMER_NOT_FOUND || /consumer not found/i.test(text)) {
    return new LaneUnusableError(`no consumer ${name} on NATS stream ${stream}`, 'not_found');
  }
  if (code === STREAM_NOT_FOUND || /stream not found/i.test(text)) {
    return new LaneUnusableError(`no NATS stream ${stream} (lane ${name})`, 'not_found');
  }
  const client = clientCode(err);
  if (client === 'PERMISSIONS_VIOLATION' || client === 'AUTHORIZATION_VIOLATION') {
    return new LaneUnusableError(
      `the NATS credentials may not read consumer ${name} on stream ${stream}`,
      'permission_denied',
    );
  }
  return new Error(
    `pulling NATS consumer ${name} on stream ${stream} failed (${client ?? code ?? 'unknown'}); retrying`,
  );
}

/** The headers of a message as the worker's attributes: Jack's §3 names, without NATS's own. */
function attributesOf(message: JsMsg): Record<string, string> {
  const attributes: Record<string, string> = {};
  const headers = message.headers;
  if (headers === undefined) return attributes;
  for (const key of headers.keys()) {
    if (!key.toLowerCase().startsWith('nats-')) attributes[key] = headers.get(key);
  }
  return attributes;
}

/** A WorkerBackend over NATS JetStream: each lane names a durable pull consumer on `stream`. */
export function natsBackend(options: NatsBackendOptions = {}): WorkerBackend {
  const stream = options.stream ?? DEFAULT_STREAM;
  const prefix = options.subjectPrefix ?? DEFAULT_PREFIX;
  const nakDelay = options.nakDelay ?? DEFAULT_NAK_DELAY;
  const owned = options.connection === undefined;
  let connecting: Promise<Connected> | undefined;

  /** The shared connection; a failed attempt is forgotten so the next call tries again. */
  const connected = (): Promise<Connected> => {
    connecting ??= (async () => {
      const nc =
        options.connection ??
        (await connect({
          // No stack captured per request (the worker reports its own errors).
          noAsyncTraces: true,
          ...options.connectOptions,
          ...(options.servers === undefined ? {} : { servers: options.servers }),
          name: options.connectOptions?.name ?? 'jack-worker',
          // Once connected, ride out a server restart for good.
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: 250,
        }).catch((err: unknown) => {
          const code = clientCode(err);
          if (code === 'AUTHORIZATION_VIOLATION' || code === 'BAD_AUTHENTICATION') {
            throw new LaneUnusableError(
              'NATS refused the worker’s credentials',
              'permission_denied',
            );
          }
          throw new Error(`cannot connect to NATS (${code ?? 'unknown'}); retrying`);
        }));
      return { nc, js: nc.jetstream() };
    })();
    const attempt = connecting;
    attempt.catch(() => {
      if (connecting === attempt) connecting = undefined;
    });
    return attempt;
  };

  return {
    kind: 'nats',
    lane: (name, laneOptions) => natsLane(connected, stream, name, laneOptions, nakDelay),
    async createLane(name, { priority, allowOutsideEmulator }) {
      if (options.development !== true && !allowOutsideEmulator) {
        throw new Error(
          'creating NATS consumers is for development: refused unless the backend is made with development: true (jack work: NATS_CREATE_STREAM=true) or allowOutsideEmulator is passed',
        );
      }
      const { nc } = await connected();
      const jsm = await nc.jetstreamManager();
      try {
        await jsm.consumers.info(stream, name);
        return;
      } catch (err) {
        if (apiCode(err) !== CONSUMER_NOT_FOUND) throw laneFailure(stream, name, err);
      }
      // The whole lane, not filtered by job type (several filter subjects
      // need NATS 2.10): the worker hands back types it has no handler for.
      await jsm.consumers.add(stream, {
        durable_name: name,
        filter_subject: `${prefix}.${priority}.>`,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(options.createdAckWaitMs ?? DEFAULT_ACK_WAIT_MS),
        max_deliver: -1,
      });
    },
    async close() {
      const open = connecting;
      connecting = undefined;
      if (!owned || open === undefined) return;
      const nc = await open.then(
        (c) => c.nc,
        () => undefined,
      );
      if (nc === undefined || nc.isClosed()) return;
      await bounded(
        nc.drain().catch(() => nc.close()),
        FLUSH_TIMEOUT_MS,
      );
      if (!nc.isClosed()) await nc.close().catch(() => {});
    },
  };
}

/** Resolves when `promise` settles or `ms` pass, whichever is first; never rejects. */
async function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

function natsLane(
  connected: () => Promise<Connected>,
  stream: string,
  name: string,
  options: LaneOptions,
  nakDelay: { minMs: number; maxMs: number },
): LaneSource {
  /** Delivered and not yet settled: what counts against `maxMessages`. */
  const held = new Map<JsMsg, () => void>();
  let closing = false;
  let batch: ConsumerMessages | undefined;
  let loop: Promise<void> | undefined;
  /** Wakes the pull loop (room freed, or closing). */
  let wake: (() => void) | undefined;
  const wakeUp = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  let ackWaitMs = DEFAULT_ACK_WAIT_MS;
  /** The connection once the lane has one: `close()` flushes it. */
  let nc: NatsConnection | undefined;

  function delivery(message: JsMsg): Delivery {
    const deliveryCount = message.info.deliveryCount;
    const since = Date.now();
    const lease = setInterval(
      () => {
        if (Date.now() - since > options.maxLeaseMs) clearInterval(lease);
        else message.working();
      },
      Math.max(250, Math.floor(ackWaitMs / 3)),
    );
    lease.unref();
    let settled = false;
    const settle = (how: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(lease);
      held.delete(message);
      try {
        how();
      } catch {
        // The connection is closed: the server redelivers after ack_wait.
      }
      wakeUp();
    };
    held.set(message, () => settle(() => message.nak()));
    return {
      data: Buffer.from(message.data),
      attributes: attributesOf(message),
      messageId: `${message.info.stream}:${message.seq}`,
      deliveryAttempt: deliveryCount,
      ack: () => settle(() => message.ack()),
      nack: (delayMs?: number) =>
        settle(() => {
          const delay =
            delayMs ??
            Math.min(nakDelay.maxMs, nakDelay.minMs * 2 ** Math.min(deliveryCount - 1, 30));
          if (delay > 0) message.nak(delay);
          else message.nak();
        }),
      term: () => settle(() => message.term()),
    };
  }

  async function pull(onDelivery: (d: Delivery) => void, onError: (err: Error) => void) {
    let consumer: Consumer | undefined;
    let failures = 0;
    while (!closing) {
      try {
        if (consumer === undefined) {
          const { nc: connection, js } = await connected();
          nc = connection;
          consumer = await js.consumers.get(stream, name);
          const ackWait = (await consumer.info(true)).config.ack_wait;
          ackWaitMs = ackWait === undefined ? DEFAULT_ACK_WAIT_MS : millis(ackWait);
        }
        const room = options.maxMessages - held.size;
        if (room <= 0) {
          await pause(ackWaitMs);
          continue;
        }
        if (closing) break;
        const began = Date.now();
        batch = await consumer.fetch({ max_messages: room, expires: FETCH_EXPIRES_MS });
        let got = 0;
        for await (const message of batch) {
          got += 1;
          // Arrived as we stop: straight back, no delay.
          if (closing) message.nak();
          else onDelivery(delivery(message));
        }
        batch = undefined;
        failures = 0;
        const took = Date.now() - began;
        if (got === 0 && took < MIN_PULL_MS && !closing) await pause(MIN_PULL_MS - took);
      } catch (err) {
        batch = undefined;
        if (closing) return;
        // Looked up again next time: it may have been (re)created meanwhile.
        consumer = undefined;
        onError(err instanceof LaneUnusableError ? err : laneFailure(stream, name, err));
        failures += 1;
        await pause(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(failures - 1, 10)));
      }
    }
  }

  return {
    start(onDelivery, onError) {
      loop ??= pull(onDelivery, onError);
    },
    async close() {
      closing = true;
      // Ends the open pull request: the client unsubscribes its inbox and
      // the server, seeing no interest, sends it nothing more. (Letting it
      // run out instead would have it bring back the very messages this
      // worker hands back, each delivery counted.) A message already in
      // transit when it ends is redelivered after the consumer's ack_wait.
      batch?.stop();
      wakeUp();
      // A loop still connecting or looking up its consumer ends on its own.
      await bounded(loop ?? Promise.resolve(), FLUSH_TIMEOUT_MS);
      if (held.size > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.closeTimeoutMs);
          const check = () => {
            if (held.size === 0) {
              clearTimeout(timer);
              resolve();
            } else {
              wake = check;
            }
          };
          check();
        });
      }
      // What the worker still holds goes back at once.
      for (const handBack of [...held.values()]) handBack();
      if (nc !== undefined && !nc.isClosed()) await bounded(nc.flush(), FLUSH_TIMEOUT_MS);
    },
  };
}
