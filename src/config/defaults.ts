/**
 * Every default of the configuration, in one block, each with its unit.
 * `loadConfig` (./index.ts) and the section parsers take them from here.
 */
import type { Priority } from '../priority.js';

/** Every default, with its unit. */
export const DEFAULTS = {
  /** gRPC listen port. */
  grpcPort: 50051,
  /** Address the gRPC server binds to (all interfaces). */
  grpcHost: '0.0.0.0',
  /** Largest request the server accepts, bytes (16 MiB). */
  grpcMaxReceiveBytes: 16 * 1024 * 1024,
  /** Largest job payload, bytes (1 MiB). */
  maxPayloadBytes: 1_048_576,
  /** Most jobs in one EnqueueBulk call. */
  maxBulkJobs: 1000,
  /** Upper bound of every wait on Pub/Sub for one publish, ms. */
  pubsubPublishTimeoutMs: 5_000,
  /** Publisher batching delay per priority, ms: urgent topics flush at once. */
  pubsubBatchMaxDelayMs: { immediate: 0, high: 1, medium: 10, low: 50 } as Record<Priority, number>,
  /** Messages per publisher batch. */
  pubsubBatchMaxMessages: 100,
  /** Flow control: messages in flight per topic before publish waits. */
  pubsubMaxOutstandingMessages: 10_000,
  /** Flow control: bytes in flight per topic before publish waits (256 MiB). */
  pubsubMaxOutstandingBytes: 256 * 1024 * 1024,
  /** NATS JetStream stream the jobs are stored on (SPEC §17). */
  natsStream: 'JACK',
  /** First token(s) of every job subject: `<prefix>.<priority>.<job_type>`. */
  natsSubjectPrefix: 'jack',
  /** Duplicate window of a stream Jack creates (NATS_CREATE_STREAM), ms. */
  natsDuplicateWindowMs: 2 * 60_000,
  /** Upper bound of every wait on NATS for one publish (PubAck included), ms. */
  natsPublishTimeoutMs: 5_000,
  /** Publishes awaiting their PubAck before a new one waits (bounded memory in an outage). */
  natsMaxPendingMessages: 10_000,
  /** Bytes of publishes awaiting their PubAck before a new one waits (256 MiB). */
  natsMaxPendingBytes: 256 * 1024 * 1024,
  /** How often the backend (and scheduler) are probed for health, ms. */
  healthCheckIntervalMs: 10_000,
  /** A job at least this far in the future goes to the scheduler, ms. */
  scheduleThresholdMs: 60_000,
  /** Where Cloud Tasks sends the publish request when a task fires. */
  pubsubRestEndpoint: 'https://pubsub.googleapis.com',
  /** How often every replica re-reads the config store, ms. */
  configRefreshIntervalMs: 30_000,
  /** How long in-flight calls may run after SIGTERM, ms. */
  shutdownGraceMs: 10_000,
  logLevel: 'info',
  /**
   * HTTP/2 bounds of one client connection (SPEC §6): what a client that
   * opens streams and never finishes or reads them can make Jack hold.
   */
  /** The HTTP transport (SPEC §18), when HTTP_PORT is set. */
  http: {
    /** Open HTTP connections at once; more are closed on accept. */
    maxConnections: 1024,
    /** Time for a request's headers to arrive (slow-loris), ms. */
    headersTimeoutMs: 10_000,
    /** An idle keep-alive connection is closed after this, ms. */
    idleTimeoutMs: 30_000,
    /** Largest request head, bytes (Node's default). */
    maxHeaderBytes: 16 * 1024,
    /** Most headers in one request. */
    maxHeadersCount: 100,
  },
  http2: {
    /** Streams open at once on one connection. */
    maxConcurrentStreams: 100,
    /** A connection without a call for this long is closed, ms. */
    maxConnectionIdleMs: 5 * 60_000,
    /** Every connection is asked to go away after this long, ms (clients reconnect). */
    maxConnectionAgeMs: 30 * 60_000,
    /** Calls still running at that point get this long before the connection is closed, ms. */
    maxConnectionAgeGraceMs: 60_000,
    /** Keepalive ping interval of the server, ms: a vanished peer is noticed. */
    keepaliveTimeMs: 60_000,
    /** A ping unanswered for this long closes the connection, ms. */
    keepaliveTimeoutMs: 20_000,
    /**
     * Memory one connection may hold, in MiB, counting responses queued for
     * a client that does not read them: beyond it, new streams are refused.
     */
    maxSessionMemoryMiB: 32,
    /**
     * TCP connections open at once on the gRPC port: each costs a file
     * descriptor and its session memory, and a process has a limited number
     * of descriptors (often 65 536 in containers, 1024 on a bare shell).
     */
    maxConnections: 10_000,
    /** A peer that has not acknowledged Jack's HTTP/2 SETTINGS by then is cut off, ms. */
    handshakeTimeoutMs: 5_000,
  },
  /** How often TLS_CERT_FILE / TLS_KEY_FILE are re-read for a rotated pair, ms. */
  tlsReloadIntervalMs: 60_000,
  /** Health Watch streams open at once on one connection. */
  maxHealthWatchesPerConnection: 16,
  /** WatchJob streams open at once on one connection (SPEC §14). */
  maxWatchesPerConnection: 16,
  /** Jobs per second of an unregistered producer under RATE_LIMIT_MODE=enforce. */
  defaultRateLimitRps: 1000,
  /** How long an idempotency key remembers its job, ms (24 h). */
  idempotencyTtlMs: 24 * 3_600_000,
  /** Most idempotency keys one replica keeps in memory (without Redis). */
  idempotencyMaxKeys: 100_000,
  /** Where job records are kept (SPEC §14): in process, per replica. */
  jobLedger: 'memory' as 'memory' | 'postgres' | 'off',
  /** Longest an enqueue waits for the ledger before its record waits in the buffer, ms. */
  ledgerWriteTimeoutMs: 1_000,
  /** Records waiting for an unreachable ledger, at most (then the oldest is dropped). */
  ledgerBuffer: 10_000,
  /** Records the memory ledger keeps, at most (oldest first out). */
  ledgerMaxJobs: 100_000,
  /** Records are deleted this long after their last change, ms (7 days). */
  ledgerRetentionMs: 7 * 86_400_000,
} as const;

/** Pub/Sub's own limit on one message, bytes (10 MB). */
export const PUBSUB_MAX_MESSAGE_BYTES = 10_000_000;
/** Room for the non-payload fields of an EnqueueRequest, bytes. */
export const REQUEST_OVERHEAD_BYTES = 8 * 1024;
