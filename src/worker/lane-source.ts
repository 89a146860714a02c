/**
 * The one thing a backend gives the worker: the messages of a lane (SPEC
 * §15). One implementation per backend, one file each (`pubsub.ts`; NATS
 * JetStream, §17, adds `nats.ts`). The worker owns everything else —
 * decoding, priority, de-duplication, retries, reports — so an
 * implementation only pulls, leases and settles.
 */

/** One delivery of one message. Settle it exactly once: `ack()`, `nack()` or `term()`. */
export interface Delivery {
  data: Buffer;
  attributes: Readonly<Record<string, string>>;
  /** The backend's message id. */
  messageId: string;
  /**
   * How many times the backend has delivered this message, this one
   * included, when it counts (Pub/Sub: only with a dead-letter policy; NATS:
   * always); undefined when it does not.
   */
  deliveryAttempt: number | undefined;
  /** Done: the backend forgets the message. */
  ack(): void;
  /**
   * Not done: the backend redelivers it, to this or another worker. Without
   * `delayMs`, after the backend's own backoff (Pub/Sub: the subscription's
   * retry policy; NATS: the lane's nak delay, growing with the delivery
   * count); `0` asks for at once (a worker handing back what it holds as it
   * stops). A backend that cannot delay one message (Pub/Sub) ignores it.
   */
  nack(delayMs?: number): void;
  /**
   * Optional: never deliver it again (a DEAD job). NATS `term`, which the
   * server announces with an advisory a dead-letter process can follow;
   * where a backend has none (Pub/Sub) the worker acknowledges instead.
   */
  term?(): void;
}

/**
 * A lane that cannot be read at all — it does not exist, or the credentials
 * may not read it: configuration, not weather. Sources report it through
 * `onError` (and keep retrying); `jack work` stops on it with one line.
 */
export class LaneUnusableError extends Error {
  constructor(
    message: string,
    readonly reason: 'not_found' | 'permission_denied',
  ) {
    super(message);
    this.name = 'LaneUnusableError';
  }
}

export interface LaneOptions {
  /**
   * Most messages the lane may hold at once (running and waiting in the
   * worker): the backend must not deliver more until some are settled.
   * Small, so a lane never hoards messages another worker could run.
   */
  maxMessages: number;
  /** How long the lease of a held message is extended at most (the longest job timeout and a margin). */
  maxLeaseMs: number;
  /** `close` waits this long for held messages to be settled before handing the rest back. */
  closeTimeoutMs: number;
}

export interface LaneSource {
  /**
   * Starts delivering. The lease of every delivered message is kept alive
   * (extended) until it is settled. `onError` hears stream failures the
   * source could not recover from by itself (it keeps retrying).
   */
  start(onDelivery: (delivery: Delivery) => void, onError: (err: Error) => void): void;
  /**
   * Stops pulling at once; then waits (up to `closeTimeoutMs`) until every
   * delivered message is settled, hands back (nacks) what is left, and
   * flushes the outstanding acks and nacks.
   */
  close(): Promise<void>;
}

/** What `createLane` needs to know (development only, `createSubscriptions`). */
export interface CreateLaneOptions {
  /** The lane's priority: which of Jack's topics (streams) it reads. */
  priority: 'immediate' | 'high' | 'medium' | 'low';
  /** Only these job types (a filter); undefined: every type. */
  jobTypes: readonly string[] | undefined;
  /**
   * Without it, creating a lane is refused outside a development setup
   * (Pub/Sub: an emulator; NATS: a backend made with `development: true`).
   */
  allowOutsideEmulator: boolean;
}

/** A queue backend as the worker sees it: lanes by name (a subscription, a consumer). */
export interface WorkerBackend {
  /** Which backend, for logs and metrics: `pubsub`, `nats`. */
  readonly kind: string;
  lane(name: string, options: LaneOptions): LaneSource;
  /**
   * Optional, for development: creates the lane `name` when it does not
   * exist yet. Rejects with a reason a person can act on.
   */
  createLane?(name: string, options: CreateLaneOptions): Promise<void>;
  /** Closes the backend's connections (after every lane is closed). */
  close(): Promise<void>;
}
