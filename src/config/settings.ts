/**
 * Every environment variable Jack reads, as data: name, default, meaning,
 * one table per section file of this folder. `make docs` renders it into
 * docs/configuration.md (./reference.ts); reference.test.ts fails when a
 * variable read by a section file is missing here, or when the committed
 * page is stale. Defaults come from DEFAULTS, so a changed default changes
 * the page.
 */
import { DEFAULTS } from './defaults.js';

export interface Setting {
  /** The variable, e.g. `GRPC_PORT`. */
  readonly name: string;
  /** The default as an operator writes it (`10s`, `16MiB`), or what unset means. */
  readonly default: string;
  /** What it does, in one or two sentences (Markdown). */
  readonly description: string;
}

export interface SettingsSection {
  /** Section title in the reference. */
  readonly title: string;
  /** The file of src/config/ that parses these variables. */
  readonly file: string;
  /** The docs page that explains the feature, relative to docs/. */
  readonly page: string;
  readonly settings: readonly Setting[];
}

/** `90000` → `1m30s`, as the Go-style durations the parser accepts. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0ms';
  if (ms % 1000 !== 0) return `${ms}ms`;
  let s = ms / 1000;
  const parts: string[] = [];
  const d = Math.floor(s / 86_400);
  if (s % 86_400 === 0 && s >= 2 * 86_400) {
    // Only whole days read better as days (the ledger's 7d); the parser of
    // LEDGER_RETENTION takes them, the Go-style ones take hours.
    return `${d}d`;
  }
  const h = Math.floor(s / 3_600);
  if (h > 0) parts.push(`${h}h`);
  s -= h * 3_600;
  const m = Math.floor(s / 60);
  if (m > 0) parts.push(`${m}m`);
  s -= m * 60;
  if (s > 0) parts.push(`${s}s`);
  return parts.join('');
}

/** `16777216` → `16MiB`; other sizes stay bytes. */
export function formatSize(bytes: number): string {
  const mib = 1024 * 1024;
  if (bytes % mib === 0) return `${bytes / mib}MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024}KiB`;
  return String(bytes);
}

const dur = formatDuration;
const size = formatSize;
const num = (n: number) => String(n);

export const SETTINGS: readonly SettingsSection[] = [
  {
    title: 'Server and limits',
    file: 'index.ts',
    page: 'operating.md',
    settings: [
      {
        name: 'GRPC_PORT',
        default: num(DEFAULTS.grpcPort),
        description:
          'gRPC port (all services, health and reflection). `0` picks a free port (the startup line says which).',
      },
      { name: 'GRPC_HOST', default: DEFAULTS.grpcHost, description: 'Address to bind.' },
      {
        name: 'GRPC_MAX_RECEIVE_BYTES',
        default: size(DEFAULTS.grpcMaxReceiveBytes),
        description: 'Largest request accepted; larger → `RESOURCE_EXHAUSTED`.',
      },
      {
        name: 'MAX_PAYLOAD_BYTES',
        default: num(DEFAULTS.maxPayloadBytes),
        description:
          'Largest job payload. Above 10 MB (the Pub/Sub limit) or not fitting in one request is a startup error.',
      },
      {
        name: 'MAX_BULK_JOBS',
        default: num(DEFAULTS.maxBulkJobs),
        description: 'Most jobs in one `EnqueueBulk`.',
      },
      {
        name: 'GRPC_MAX_HEALTH_WATCHES_PER_CONNECTION',
        default: num(DEFAULTS.maxHealthWatchesPerConnection),
        description:
          'Open health `Watch` streams per connection; one more is `RESOURCE_EXHAUSTED`.',
      },
      {
        name: 'MAX_WATCHES_PER_CONNECTION',
        default: num(DEFAULTS.maxWatchesPerConnection),
        description:
          'Open `jack.Jobs/WatchJob` streams per connection; one more is `RESOURCE_EXHAUSTED`.',
      },
      {
        name: 'LEGACY_PAYLOAD_QUEUE_ROUTING',
        default: 'false',
        description:
          "Route by a JSON payload's `queue` field, as the Go service did (see producing.md). Booleans accept `true`/`t`/`1`/`yes`/`on` and `false`/`f`/`0`/`no`/`off` in any letter case.",
      },
      {
        name: 'MESSAGE_FORMAT',
        default: 'native',
        description:
          "`native` (message data = the payload bytes, metadata in attributes/headers) or `legacy` (the Go service's JSON envelope).",
      },
      {
        name: 'SCHEDULE_THRESHOLD',
        default: dur(DEFAULTS.scheduleThresholdMs),
        description: 'A job whose `run_at` is at least this far ahead goes to the scheduler.',
      },
      {
        name: 'HEALTH_CHECK_INTERVAL',
        default: dur(DEFAULTS.healthCheckIntervalMs),
        description: 'How often the backend (and scheduler) are probed for health.',
      },
      {
        name: 'CONFIG_REFRESH_INTERVAL',
        default: dur(DEFAULTS.configRefreshIntervalMs),
        description: 'How often every replica re-reads the config store.',
      },
      {
        name: 'SHUTDOWN_GRACE_PERIOD',
        default: dur(DEFAULTS.shutdownGraceMs),
        description: 'How long calls in flight may run after SIGTERM/SIGINT.',
      },
      {
        name: 'LOG_LEVEL',
        default: DEFAULTS.logLevel,
        description: '`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.',
      },
      {
        name: 'METRICS_PORT',
        default: 'unset (off)',
        description: 'Serve Prometheus metrics on `/metrics` at this port (bound on `GRPC_HOST`).',
      },
    ],
  },
  {
    title: 'HTTP/2 connection limits and TLS',
    file: 'server.ts',
    page: 'operating.md',
    settings: [
      {
        name: 'GRPC_MAX_CONCURRENT_STREAMS',
        default: num(DEFAULTS.http2.maxConcurrentStreams),
        description:
          'Streams (calls) open at once on one HTTP/2 connection; more wait in the client.',
      },
      {
        name: 'GRPC_MAX_CONNECTION_IDLE',
        default: dur(DEFAULTS.http2.maxConnectionIdleMs),
        description: 'A connection without a call for this long is closed (GOAWAY).',
      },
      {
        name: 'GRPC_MAX_CONNECTION_AGE',
        default: dur(DEFAULTS.http2.maxConnectionAgeMs),
        description:
          'Every connection is asked to go away after this long (clients reconnect, also to other replicas).',
      },
      {
        name: 'GRPC_MAX_CONNECTION_AGE_GRACE',
        default: dur(DEFAULTS.http2.maxConnectionAgeGraceMs),
        description: 'Calls still open at that age get this long before the connection is closed.',
      },
      {
        name: 'GRPC_KEEPALIVE_TIME',
        default: dur(DEFAULTS.http2.keepaliveTimeMs),
        description: 'Jack pings every connection this often, to find peers that vanished.',
      },
      {
        name: 'GRPC_KEEPALIVE_TIMEOUT',
        default: dur(DEFAULTS.http2.keepaliveTimeoutMs),
        description: 'A ping unanswered for this long closes the connection.',
      },
      {
        name: 'GRPC_MAX_SESSION_MEMORY_MIB',
        default: num(DEFAULTS.http2.maxSessionMemoryMiB),
        description:
          'Memory (MiB) one connection may hold, queued responses included, before new streams on it are refused.',
      },
      {
        name: 'GRPC_MAX_CONNECTIONS',
        default: num(DEFAULTS.http2.maxConnections),
        description:
          'TCP connections open at once on the gRPC port; one more is closed at once and counted in `jack_connections_refused_total`. Keep it below `ulimit -n`.',
      },
      {
        name: 'GRPC_HANDSHAKE_TIMEOUT',
        default: dur(DEFAULTS.http2.handshakeTimeoutMs),
        description:
          "A connection whose peer has not acknowledged Jack's HTTP/2 SETTINGS by then is closed.",
      },
      {
        name: 'TLS_CERT_FILE',
        default: 'unset',
        description:
          'PEM certificate chain: serve TLS (gRPC and HTTP). Set with `TLS_KEY_FILE`, both or neither.',
      },
      {
        name: 'TLS_KEY_FILE',
        default: 'unset',
        description: 'PEM private key of `TLS_CERT_FILE`.',
      },
      {
        name: 'TLS_RELOAD_INTERVAL',
        default: dur(DEFAULTS.tlsReloadIntervalMs),
        description:
          'How often the two TLS files are re-read; a changed, matching pair serves new connections without a restart.',
      },
    ],
  },
  {
    title: 'HTTP: Connect, gRPC-Web, probes and the console',
    file: 'http.ts',
    page: 'http-and-console.md',
    settings: [
      {
        name: 'HTTP_PORT',
        default: 'unset (off; `make run` sets `8080`)',
        description:
          'Serve Connect, gRPC-Web, `/healthz`, `/readyz` and the console on this port (HTTP/1.1 and h2c, or TLS with the gRPC certificate). Must differ from `GRPC_PORT`.',
      },
      {
        name: 'HTTP_CORS_ORIGINS',
        default: 'unset (no cross-origin calls)',
        description:
          'Comma-separated exact origins (`https://console.example.com`) allowed to call from a browser page of another origin.',
      },
      {
        name: 'HTTP_MAX_CONNECTIONS',
        default: num(DEFAULTS.http.maxConnections),
        description:
          'Open HTTP connections at once; more are closed on accept and counted in jack_connections_refused_total{listener="http"}.',
      },
      {
        name: 'HTTP_HEADERS_TIMEOUT',
        default: dur(DEFAULTS.http.headersTimeoutMs),
        description: "Time for a request's headers to arrive (slow clients are cut off).",
      },
      {
        name: 'HTTP_IDLE_TIMEOUT',
        default: dur(DEFAULTS.http.idleTimeoutMs),
        description: 'An idle keep-alive connection is closed after this.',
      },
    ],
  },
  {
    title: 'Queue backend: Pub/Sub',
    file: 'backend.ts',
    page: 'backends.md',
    settings: [
      {
        name: 'QUEUE_BACKEND',
        default: 'noop',
        description:
          '`noop` (accept, deliver nothing; a startup warning says so), `pubsub` or `nats`.',
      },
      {
        name: 'PUBSUB_PROJECT',
        default: '— (required with `pubsub`)',
        description:
          'Google Cloud project of the topics. Set with another backend: a startup error.',
      },
      {
        name: 'PUBSUB_TOPIC_MEDIUM',
        default: '— (required with `pubsub`)',
        description: 'Topic of MEDIUM jobs and of every priority without a topic of its own.',
      },
      ...(['IMMEDIATE', 'HIGH', 'LOW'] as const).map((p) => ({
        name: `PUBSUB_TOPIC_${p}`,
        default: 'unset (the MEDIUM topic)',
        description: `Topic of ${p} jobs.`,
      })),
      {
        name: 'PUBSUB_CREATE_TOPICS',
        default: 'false',
        description:
          'Create missing topics at startup (development). Otherwise a missing topic stops startup.',
      },
      {
        name: 'PUBSUB_VERIFY_TOPICS',
        default: 'true',
        description:
          'Check at startup that every topic exists (needs `pubsub.topics.get`). `false` skips it; health then follows publish outcomes.',
      },
      {
        name: 'PUBSUB_PUBLISH_TIMEOUT',
        default: dur(DEFAULTS.pubsubPublishTimeoutMs),
        description:
          'Upper bound of every wait on Pub/Sub for one publish; past it the call answers `UNAVAILABLE`.',
      },
      ...(['immediate', 'high', 'medium', 'low'] as const).map((p) => ({
        name: `PUBSUB_BATCH_MAX_DELAY_${p.toUpperCase()}`,
        default: dur(DEFAULTS.pubsubBatchMaxDelayMs[p]),
        description: `How long the publisher may hold a message of the ${p.toUpperCase()} lane to batch it.`,
      })),
      {
        name: 'PUBSUB_BATCH_MAX_MESSAGES',
        default: num(DEFAULTS.pubsubBatchMaxMessages),
        description: 'Messages per publish batch.',
      },
      {
        name: 'PUBSUB_MAX_OUTSTANDING_MESSAGES',
        default: num(DEFAULTS.pubsubMaxOutstandingMessages),
        description:
          'Flow control: messages in flight per topic before new publishes wait (bounded by the publish timeout).',
      },
      {
        name: 'PUBSUB_MAX_OUTSTANDING_BYTES',
        default: size(DEFAULTS.pubsubMaxOutstandingBytes),
        description: 'Flow control: bytes in flight per topic.',
      },
      {
        name: 'PUBSUB_EMULATOR_HOST',
        default: 'unset',
        description:
          "`host:port` of a Pub/Sub emulator: Jack passes it to the Pub/Sub client explicitly (plaintext, no credentials). Unset: Google's Pub/Sub with Application Default Credentials.",
      },
    ],
  },
  {
    title: 'Queue backend: NATS JetStream',
    file: 'nats.ts',
    page: 'backends.md',
    settings: [
      {
        name: 'NATS_URL',
        default: '— (required with `nats`)',
        description:
          'One or more servers, comma-separated: `nats://host[:4222]` or `tls://host[:port]` (any `tls://` entry makes TLS required). `nats://user:password@host` carries credentials.',
      },
      {
        name: 'NATS_CREDS_FILE',
        default: 'unset',
        description: 'A `.creds` file (JWT + NKey seed) instead.',
      },
      {
        name: 'NATS_TOKEN',
        default: 'unset',
        description: 'A token instead. Set only one of the three kinds of credentials.',
      },
      { name: 'NATS_STREAM', default: DEFAULTS.natsStream, description: 'The JetStream stream.' },
      {
        name: 'NATS_SUBJECT_PREFIX',
        default: DEFAULTS.natsSubjectPrefix,
        description: 'First token(s) of every subject: `<prefix>.<priority>.<job_type>`.',
      },
      {
        name: 'NATS_PUBLISH_TIMEOUT',
        default: dur(DEFAULTS.natsPublishTimeoutMs),
        description: 'Bound of one publish, PubAck included; then `UNAVAILABLE`.',
      },
      {
        name: 'NATS_MAX_PENDING_MESSAGES',
        default: num(DEFAULTS.natsMaxPendingMessages),
        description:
          'Publishes awaiting their PubAck; beyond it a publish waits (within its timeout).',
      },
      {
        name: 'NATS_MAX_PENDING_BYTES',
        default: size(DEFAULTS.natsMaxPendingBytes),
        description: 'Bytes of publishes awaiting their PubAck.',
      },
      {
        name: 'NATS_CREATE_STREAM',
        default: 'false',
        description:
          'Development: create the stream when missing (file storage, subjects `<prefix>.>`).',
      },
      {
        name: 'NATS_STREAM_REPLICAS',
        default: '1',
        description: 'Replicas of a stream Jack creates.',
      },
      {
        name: 'NATS_DUPLICATE_WINDOW',
        default: dur(DEFAULTS.natsDuplicateWindowMs),
        description: 'Duplicate window of a stream Jack creates.',
      },
    ],
  },
  {
    title: 'Scheduled jobs',
    file: 'scheduler.ts',
    page: 'producing.md',
    settings: [
      {
        name: 'SCHEDULER',
        default: '`none` (`cloudtasks` when `CLOUD_TASKS_*` are set)',
        description:
          '`none`, `cloudtasks` or `ledger` (future jobs kept in the job ledger and published by Jack when due).',
      },
      ...(['PROJECT', 'LOCATION', 'QUEUE'] as const).map((p) => ({
        name: `CLOUD_TASKS_${p}`,
        default: 'unset',
        description: `Cloud Tasks ${p.toLowerCase()}; all three turn on the Cloud Tasks scheduler (needs \`QUEUE_BACKEND=pubsub\`).`,
      })),
      {
        name: 'CLOUD_TASKS_SERVICE_ACCOUNT',
        default: '— (required with Cloud Tasks)',
        description: 'Service account whose OAuth token the task uses to publish.',
      },
      {
        name: 'CLOUD_TASKS_ENDPOINT',
        default: 'unset',
        description: '`host:port` of a plaintext Cloud Tasks endpoint (tests, emulators).',
      },
      {
        name: 'PUBSUB_REST_ENDPOINT',
        default: DEFAULTS.pubsubRestEndpoint,
        description: 'Base URL the fired task publishes to.',
      },
    ],
  },
  {
    title: 'Configuration store (producers, job types, API keys)',
    file: 'store.ts',
    page: 'operating.md',
    settings: [
      {
        name: 'CONFIG_DIR',
        default: 'unset (`./data` with `make run`)',
        description:
          'Keep producers, job types and keys in this local directory. Neither this nor `GCS_BUCKET`: in memory, lost at exit.',
      },
      {
        name: 'GCS_BUCKET',
        default: 'unset',
        description: 'Keep them in this Google Cloud Storage bucket.',
      },
      {
        name: 'GCS_PREFIX',
        default: '""',
        description: 'Object name prefix in the bucket (a trailing `/` is added).',
      },
      {
        name: 'GCS_ENDPOINT',
        default: 'unset',
        description: 'GCS JSON API endpoint override (emulators, tests).',
      },
    ],
  },
  {
    title: 'Admission control and Redis',
    file: 'admission.ts',
    page: 'producing.md',
    settings: [
      {
        name: 'VALIDATION_MODE',
        default: 'warn',
        description:
          '`warn`: unregistered producers and job types are accepted with a warning. `enforce`: refused with `NOT_FOUND`.',
      },
      {
        name: 'RATE_LIMIT_MODE',
        default: 'off',
        description:
          "`enforce`: each producer's `rate_limit_rps` is a token bucket; jobs over it get `RESOURCE_EXHAUSTED` with a `RetryInfo`.",
      },
      {
        name: 'DEFAULT_RATE_LIMIT_RPS',
        default: num(DEFAULTS.defaultRateLimitRps),
        description: 'Rate of unregistered producers, jobs/s. `0` or negative: unlimited.',
      },
      {
        name: 'REDIS_URL',
        default: 'unset (per-replica state)',
        description:
          '`redis://[user:password@]host[:port][/db]` or `rediss://` (TLS): rate-limit buckets and idempotency keys shared by every replica. Redis ≥ 6.0. Never logged.',
      },
      {
        name: 'REDIS_CA_FILE',
        default: 'unset',
        description: 'PEM CA certificate(s) to trust for `rediss://` instead of the system store.',
      },
    ],
  },
  {
    title: 'Idempotency',
    file: 'idempotency.ts',
    page: 'producing.md',
    settings: [
      {
        name: 'IDEMPOTENCY_TTL',
        default: dur(DEFAULTS.idempotencyTtlMs),
        description: 'How long an idempotency key remembers its job.',
      },
      {
        name: 'IDEMPOTENCY_MAX_KEYS',
        default: num(DEFAULTS.idempotencyMaxKeys),
        description:
          'Without `REDIS_URL`: most keys one replica keeps in memory; the least recently used go first.',
      },
    ],
  },
  {
    title: 'Job ledger',
    file: 'ledger.ts',
    page: 'operating.md',
    settings: [
      {
        name: 'JOB_LEDGER',
        default: `\`${DEFAULTS.jobLedger}\` (\`postgres\` when \`LEDGER_DATABASE_URL\` is set)`,
        description:
          '`memory`: per replica, at most `LEDGER_MAX_JOBS`, lost at exit. `postgres`: shared by every replica. `off`: no records.',
      },
      {
        name: 'LEDGER_DATABASE_URL',
        default: 'unset',
        description:
          'libpq URL (`postgres://user:password@host:5432/jack?sslmode=verify-full`). Never logged. Set with `JOB_LEDGER=memory` or `off`: a startup error.',
      },
      {
        name: 'LEDGER_WRITE_TIMEOUT',
        default: dur(DEFAULTS.ledgerWriteTimeoutMs),
        description:
          'The longest an enqueue waits for its record; then the record waits in the buffer.',
      },
      {
        name: 'LEDGER_BUFFER',
        default: num(DEFAULTS.ledgerBuffer),
        description:
          'Records waiting for an unreachable ledger; beyond it the oldest is dropped and counted.',
      },
      {
        name: 'LEDGER_MAX_JOBS',
        default: num(DEFAULTS.ledgerMaxJobs),
        description: 'Records of the memory ledger (oldest out first).',
      },
      {
        name: 'LEDGER_RETENTION',
        default: dur(DEFAULTS.ledgerRetentionMs),
        description: 'Records are deleted this long after their last change (`7d`, `72h`, `30m`).',
      },
    ],
  },
  {
    title: 'Authentication',
    file: 'auth.ts',
    page: 'security.md',
    settings: [
      {
        name: 'AUTH_MODE',
        default: 'off',
        description:
          '`off`: no credential asked (a startup warning when not bound to loopback); `on`: every call needs one.',
      },
      {
        name: 'AUTH_BOOTSTRAP_ADMIN_KEY',
        default: 'unset',
        description:
          'Admin bearer secret (≥ 32 characters) to create the first keys. Never logged.',
      },
      {
        name: 'AUTH_ADMIN_PRINCIPALS',
        default: 'unset',
        description: 'Comma-separated OIDC / certificate principals that are admins.',
      },
      {
        name: 'AUTH_WORKER_PRINCIPALS',
        default: 'unset',
        description:
          'Comma-separated OIDC / certificate principals with the worker role (report and read job records).',
      },
      {
        name: 'AUTH_OIDC_ISSUER',
        default: 'unset',
        description: 'Accept OIDC ID tokens of this issuer. Set with `AUTH_OIDC_AUDIENCE`.',
      },
      {
        name: 'AUTH_OIDC_AUDIENCE',
        default: 'unset',
        description: 'The audience those tokens must name.',
      },
      {
        name: 'AUTH_OIDC_JWKS_URL',
        default: 'discovered from the issuer',
        description: 'JWKS location override.',
      },
      {
        name: 'TLS_CLIENT_CA_FILE',
        default: 'unset',
        description:
          'Require client certificates signed by this PEM CA (mTLS); needs `TLS_CERT_FILE`/`TLS_KEY_FILE`.',
      },
    ],
  },
  {
    title: 'Metrics export (DogStatsD) and tracing',
    file: 'telemetry.ts',
    page: 'operating.md',
    settings: [
      {
        name: 'DATADOG_STATSD_ADDR',
        default: 'unset (off)',
        description:
          "`host:port` (or `host`, port 8125) of a DogStatsD agent: send the Go service's `jack.*` metrics over UDP.",
      },
      {
        name: 'ENV',
        default: 'development',
        description: 'Value of the `env:` global DogStatsD tag.',
      },
      ...(
        [
          ['DD_ENTITY_ID', 'dd.internal.entity_id'],
          ['DD_ENV', 'env'],
          ['DD_SERVICE', 'service'],
          ['DD_VERSION', 'version'],
        ] as const
      ).map(([name, tag]) => ({
        name,
        default: 'unset',
        description: `When set, added as the global DogStatsD tag \`${tag}:\` after Jack's own.`,
      })),
      {
        name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
        default: 'unset (tracing off)',
        description:
          'Base URL of an OTLP/HTTP receiver (`http://otel-collector:4318`): turns tracing on; spans go to `…/v1/traces`.',
      },
      {
        name: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
        default: 'endpoint + `/v1/traces`',
        description: 'Full URL for spans, overriding the above.',
      },
      { name: 'OTEL_SERVICE_NAME', default: 'jack', description: '`service.name` of the spans.' },
      {
        name: 'OTEL_SDK_DISABLED',
        default: 'false',
        description: '`true` turns tracing off even with an endpoint set.',
      },
    ],
  },
];
