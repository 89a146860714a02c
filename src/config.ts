/**
 * Configuration: the only reader of `process.env`. `loadConfig(env)` is pure:
 * it applies every default, validates every variable, collects all problems
 * and throws one `ConfigError` whose message is a single line naming each bad
 * variable. `main.ts` prints it and exits non-zero before binding the port.
 */
import { PRIORITIES, type Priority } from './queue/backend.js';

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
  },
  /** How often TLS_CERT_FILE / TLS_KEY_FILE are re-read for a rotated pair, ms. */
  tlsReloadIntervalMs: 60_000,
  /** Health Watch streams open at once on one connection. */
  maxHealthWatchesPerConnection: 16,
  /** Jobs per second of an unregistered producer under RATE_LIMIT_MODE=enforce. */
  defaultRateLimitRps: 1000,
  /** How long an idempotency key remembers its job, ms (24 h). */
  idempotencyTtlMs: 24 * 3_600_000,
  /** Most idempotency keys one replica keeps in memory (without Redis). */
  idempotencyMaxKeys: 100_000,
} as const;

export interface Http2Limits {
  maxConcurrentStreams: number;
  maxConnectionIdleMs: number;
  maxConnectionAgeMs: number;
  maxConnectionAgeGraceMs: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  maxSessionMemoryMiB: number;
}

/** Pub/Sub's own limit on one message, bytes (10 MB). */
export const PUBSUB_MAX_MESSAGE_BYTES = 10_000_000;
/** Room for the non-payload fields of an EnqueueRequest, bytes. */
const REQUEST_OVERHEAD_BYTES = 8 * 1024;

export { PRIORITIES };

export type MessageFormat = 'native' | 'legacy';

export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** How often the two files are re-read for a rotated pair, ms. */
  reloadIntervalMs: number;
}

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

export type StoreConfig =
  | { kind: 'memory' }
  | { kind: 'local'; dir: string }
  | {
      kind: 'gcs';
      bucket: string;
      /** Object name prefix, '' or ending in '/'. */
      prefix: string;
      /** API endpoint override (GCS_ENDPOINT), e.g. an emulator; undefined = the client's default. */
      apiEndpoint: string | undefined;
    };

export type SchedulerConfig =
  | { kind: 'none' }
  | {
      kind: 'cloud-tasks';
      project: string;
      location: string;
      queue: string;
      serviceAccount: string;
      /** Base URL of the Pub/Sub REST API the task calls when it fires. */
      pubsubRestEndpoint: string;
      /** host:port of a plaintext Cloud Tasks endpoint (tests); undefined = Google. */
      apiEndpoint: string | undefined;
    };

export interface Config {
  grpcHost: string;
  grpcPort: number;
  grpcMaxReceiveBytes: number;
  http2: Http2Limits;
  maxHealthWatchesPerConnection: number;
  tls: TlsConfig | undefined;
  maxPayloadBytes: number;
  maxBulkJobs: number;
  legacyPayloadQueueRouting: boolean;
  messageFormat: MessageFormat;
  backend: BackendConfig;
  scheduler: SchedulerConfig;
  scheduleThresholdMs: number;
  healthCheckIntervalMs: number;
  store: StoreConfig;
  configRefreshIntervalMs: number;
  shutdownGraceMs: number;
  logLevel: string;
  /** Prometheus port; undefined = metrics off. */
  metricsPort: number | undefined;
  /** DogStatsD over UDP (SPEC §12); undefined = off. */
  datadog: DatadogConfig | undefined;
  /** OpenTelemetry export (SPEC §11); undefined = off (the API's no-op tracer). */
  tracing: TracingConfig | undefined;
  auth: AuthConfig;
  admission: AdmissionConfig;
  idempotency: IdempotencyConfig;
}

export interface DatadogConfig {
  host: string;
  port: number;
  /** `key:value` tags on every metric, in the order the Go service sent them. */
  globalTags: readonly string[];
}

export interface TracingConfig {
  /**
   * Where spans are POSTed (OTLP/HTTP): OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or
   * OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`, as the OTLP spec says.
   */
  tracesUrl: string;
  /** OTEL_SERVICE_NAME, default `jack`. */
  serviceName: string;
}

/** SPEC §8 admission control, and the Redis it shares state through. */
export interface AdmissionConfig {
  /** warn: unregistered producers/job types pass with a warning; enforce: NOT_FOUND. */
  validationMode: 'warn' | 'enforce';
  /** enforce: per-producer token buckets (rate_limit_rps). */
  rateLimitMode: 'off' | 'enforce';
  /** Rate of unregistered producers, jobs/s; ≤ 0 = unlimited. */
  defaultRateLimitRps: number;
  /** REDIS_URL (may hold a password: never log it); undefined = per-replica state. */
  redisUrl: string | undefined;
  /** REDIS_CA_FILE: PEM CA to trust for rediss:// instead of the system store. */
  redisCaFile: string | undefined;
}

/** SPEC §9: idempotency keys, in Redis when REDIS_URL is set, else in process. */
export interface IdempotencyConfig {
  /** IDEMPOTENCY_TTL: how long a key remembers its job. */
  ttlMs: number;
  /** IDEMPOTENCY_MAX_KEYS: bound of the in-process store. */
  maxKeys: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Parses and validates the environment. Throws ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): Readonly<Config> {
  const problems: string[] = [];
  const p = new Parser(env, problems);

  const grpcHost = p.string('GRPC_HOST') ?? DEFAULTS.grpcHost;
  const grpcPort = p.port('GRPC_PORT') ?? DEFAULTS.grpcPort;
  const grpcMaxReceiveBytes = p.size('GRPC_MAX_RECEIVE_BYTES') ?? DEFAULTS.grpcMaxReceiveBytes;
  const maxPayloadBytes = p.size('MAX_PAYLOAD_BYTES') ?? DEFAULTS.maxPayloadBytes;
  const maxBulkJobs = p.positiveInt('MAX_BULK_JOBS') ?? DEFAULTS.maxBulkJobs;
  if (maxPayloadBytes > PUBSUB_MAX_MESSAGE_BYTES) {
    problems.push(
      `MAX_PAYLOAD_BYTES=${maxPayloadBytes} is above the Pub/Sub message limit of ${PUBSUB_MAX_MESSAGE_BYTES} bytes`,
    );
  } else if (maxPayloadBytes + REQUEST_OVERHEAD_BYTES > grpcMaxReceiveBytes) {
    problems.push(
      `MAX_PAYLOAD_BYTES=${maxPayloadBytes} does not fit in one request of GRPC_MAX_RECEIVE_BYTES=${grpcMaxReceiveBytes} (leave ${REQUEST_OVERHEAD_BYTES} bytes for the other fields)`,
    );
  }

  const http2 = parseHttp2Limits(p);
  const maxHealthWatchesPerConnection =
    p.positiveInt('GRPC_MAX_HEALTH_WATCHES_PER_CONNECTION') ??
    DEFAULTS.maxHealthWatchesPerConnection;

  const certFile = p.string('TLS_CERT_FILE');
  const keyFile = p.string('TLS_KEY_FILE');
  let tls: TlsConfig | undefined;
  const tlsReloadIntervalMs =
    p.positiveDuration('TLS_RELOAD_INTERVAL') ?? DEFAULTS.tlsReloadIntervalMs;
  if (certFile !== undefined && keyFile !== undefined) {
    tls = { certFile, keyFile, reloadIntervalMs: tlsReloadIntervalMs };
  } else if (certFile !== undefined || keyFile !== undefined) {
    problems.push('TLS_CERT_FILE and TLS_KEY_FILE must be set together (both or neither)');
  }

  const legacyPayloadQueueRouting = p.bool('LEGACY_PAYLOAD_QUEUE_ROUTING') ?? false;
  const messageFormat = p.oneOf('MESSAGE_FORMAT', ['native', 'legacy'] as const) ?? 'native';

  const backend = parseBackend(p, env, problems);
  const scheduler = parseScheduler(p, backend, problems);
  const scheduleThresholdMs = p.duration('SCHEDULE_THRESHOLD') ?? DEFAULTS.scheduleThresholdMs;
  const healthCheckIntervalMs =
    p.positiveDuration('HEALTH_CHECK_INTERVAL') ?? DEFAULTS.healthCheckIntervalMs;

  const store = parseStore(p, problems);
  const configRefreshIntervalMs =
    p.positiveDuration('CONFIG_REFRESH_INTERVAL') ?? DEFAULTS.configRefreshIntervalMs;
  const shutdownGraceMs = p.duration('SHUTDOWN_GRACE_PERIOD') ?? DEFAULTS.shutdownGraceMs;
  const logLevel = p.oneOf('LOG_LEVEL', LOG_LEVELS) ?? DEFAULTS.logLevel;
  const metricsPort = p.port('METRICS_PORT');
  const datadog = parseDatadog(p);
  const tracing = parseTracing(p);
  const auth = parseAuth(p, env, tls, problems);
  const admission = parseAdmission(p, problems);

  // Idempotency keys (SPEC §9).
  const idempotency: IdempotencyConfig = {
    ttlMs: p.positiveDuration('IDEMPOTENCY_TTL') ?? DEFAULTS.idempotencyTtlMs,
    maxKeys: p.positiveInt('IDEMPOTENCY_MAX_KEYS') ?? DEFAULTS.idempotencyMaxKeys,
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    grpcHost,
    grpcPort,
    grpcMaxReceiveBytes,
    http2,
    maxHealthWatchesPerConnection,
    tls,
    maxPayloadBytes,
    maxBulkJobs,
    legacyPayloadQueueRouting,
    messageFormat,
    backend,
    scheduler,
    scheduleThresholdMs,
    healthCheckIntervalMs,
    store,
    configRefreshIntervalMs,
    shutdownGraceMs,
    logLevel,
    metricsPort,
    datadog,
    tracing,
    auth,
    admission,
    idempotency,
  });
}

function parseHttp2Limits(p: Parser): Http2Limits {
  const d = DEFAULTS.http2;
  return {
    maxConcurrentStreams: p.positiveInt('GRPC_MAX_CONCURRENT_STREAMS') ?? d.maxConcurrentStreams,
    maxConnectionIdleMs: p.positiveDuration('GRPC_MAX_CONNECTION_IDLE') ?? d.maxConnectionIdleMs,
    maxConnectionAgeMs: p.positiveDuration('GRPC_MAX_CONNECTION_AGE') ?? d.maxConnectionAgeMs,
    maxConnectionAgeGraceMs:
      p.duration('GRPC_MAX_CONNECTION_AGE_GRACE') ?? d.maxConnectionAgeGraceMs,
    keepaliveTimeMs: p.positiveDuration('GRPC_KEEPALIVE_TIME') ?? d.keepaliveTimeMs,
    keepaliveTimeoutMs: p.positiveDuration('GRPC_KEEPALIVE_TIMEOUT') ?? d.keepaliveTimeoutMs,
    maxSessionMemoryMiB: p.positiveInt('GRPC_MAX_SESSION_MEMORY_MIB') ?? d.maxSessionMemoryMiB,
  };
}

/** DogStatsD's default port, as datadog-go uses when the address has none. */
const DOGSTATSD_DEFAULT_PORT = 8125;

/**
 * DATADOG_STATSD_ADDR (`host:port`, `[v6]:port` or `host`) and the global
 * tags the Go service sent: its own `service:jack-service` and
 * `env:$ENV` (default `development`), then what datadog-go adds from
 * DD_ENTITY_ID, DD_ENV, DD_SERVICE and DD_VERSION when they are set.
 */
function parseDatadog(p: Parser): DatadogConfig | undefined {
  const address = p.string('DATADOG_STATSD_ADDR');
  if (address === undefined) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:/[\]]+))(?::(\d{1,5}))?$/.exec(address);
  const port = m?.[3] === undefined ? DOGSTATSD_DEFAULT_PORT : Number(m[3]);
  if (m === null || port < 1 || port > 65535) {
    p.problem(
      `DATADOG_STATSD_ADDR=${JSON.stringify(address)} is not host:port (DogStatsD goes over UDP, e.g. localhost:8125)`,
    );
    return undefined;
  }
  const globalTags = ['service:jack-service', `env:${p.string('ENV') ?? 'development'}`];
  for (const [name, tag] of [
    ['DD_ENTITY_ID', 'dd.internal.entity_id'],
    ['DD_ENV', 'env'],
    ['DD_SERVICE', 'service'],
    ['DD_VERSION', 'version'],
  ] as const) {
    const value = p.string(name);
    if (value !== undefined) globalTags.push(`${tag}:${value}`);
  }
  return { host: (m[1] ?? m[2]) as string, port, globalTags };
}

/** OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set and OTEL_SDK_DISABLED is not true. */
function parseTracing(p: Parser): TracingConfig | undefined {
  const endpoint = p.url('OTEL_EXPORTER_OTLP_ENDPOINT');
  const disabled = p.bool('OTEL_SDK_DISABLED') ?? false;
  if (endpoint === undefined || disabled) return undefined;
  const tracesUrl =
    p.url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  return { tracesUrl, serviceName: p.string('OTEL_SERVICE_NAME') ?? 'jack' };
}

function parseAdmission(p: Parser, problems: string[]): AdmissionConfig {
  const validationMode = p.oneOf('VALIDATION_MODE', ['warn', 'enforce'] as const) ?? 'warn';
  const rateLimitMode = p.oneOf('RATE_LIMIT_MODE', ['off', 'enforce'] as const) ?? 'off';
  const defaultRateLimitRps = p.integer('DEFAULT_RATE_LIMIT_RPS') ?? DEFAULTS.defaultRateLimitRps;
  const redisUrl = p.string('REDIS_URL');
  // The value is never echoed: it may carry the Redis password.
  if (redisUrl !== undefined && !isRedisUrl(redisUrl)) {
    problems.push(
      'REDIS_URL is not a redis:// or rediss:// URL (redis[s]://[user:password@]host[:port][/db])',
    );
  }
  const redisCaFile = p.string('REDIS_CA_FILE');
  if (redisCaFile !== undefined && !redisUrl?.startsWith('rediss://')) {
    problems.push('REDIS_CA_FILE is set but REDIS_URL is not a rediss:// (TLS) URL');
  }
  return { validationMode, rateLimitMode, defaultRateLimitRps, redisUrl, redisCaFile };
}

function parseBackend(p: Parser, env: Env, problems: string[]): BackendConfig {
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

function parseScheduler(p: Parser, backend: BackendConfig, problems: string[]): SchedulerConfig {
  const names = ['CLOUD_TASKS_PROJECT', 'CLOUD_TASKS_LOCATION', 'CLOUD_TASKS_QUEUE'] as const;
  const [project, location, queue] = names.map((name) => p.string(name));
  const serviceAccount = p.string('CLOUD_TASKS_SERVICE_ACCOUNT');
  const pubsubRestEndpoint = (p.url('PUBSUB_REST_ENDPOINT') ?? DEFAULTS.pubsubRestEndpoint).replace(
    /\/+$/,
    '',
  );
  const apiEndpoint = p.string('CLOUD_TASKS_ENDPOINT');
  const given = [project, location, queue].filter((v) => v !== undefined).length;
  if (given === 0) return { kind: 'none' };
  if (given < 3 || project === undefined || location === undefined || queue === undefined) {
    problems.push(`${names.join(', ')} must be set together to enable the Cloud Tasks scheduler`);
    return { kind: 'none' };
  }
  if (serviceAccount === undefined) {
    problems.push(
      'CLOUD_TASKS_SERVICE_ACCOUNT is required with the Cloud Tasks scheduler (its token publishes the job)',
    );
  }
  if (backend.kind !== 'pubsub') {
    problems.push(
      'the Cloud Tasks scheduler publishes to Pub/Sub topics: it needs QUEUE_BACKEND=pubsub',
    );
  }
  return {
    kind: 'cloud-tasks',
    project,
    location,
    queue,
    serviceAccount: serviceAccount ?? '',
    pubsubRestEndpoint,
    apiEndpoint,
  };
}

function parseStore(p: Parser, problems: string[]): StoreConfig {
  const bucket = p.string('GCS_BUCKET');
  const dir = p.string('CONFIG_DIR');
  const prefixRaw = p.string('GCS_PREFIX');
  const apiEndpoint = p.url('GCS_ENDPOINT');
  if (bucket !== undefined && dir !== undefined) {
    problems.push('GCS_BUCKET and CONFIG_DIR are both set: choose one config store');
  }
  if (bucket !== undefined) {
    let prefix = prefixRaw ?? '';
    if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
    return { kind: 'gcs', bucket, prefix, apiEndpoint };
  }
  if (prefixRaw !== undefined) problems.push('GCS_PREFIX is set but GCS_BUCKET is not');
  if (dir !== undefined) return { kind: 'local', dir };
  return { kind: 'memory' };
}

// --- Identity (SPEC §7) ------------------------------------------------------

export const MIN_BOOTSTRAP_ADMIN_KEY_CHARS = 32;

/** A secret that stays out of logs: JSON and inspect show `[redacted]`; `reveal()` gives the value. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[redacted]';
  }
}

export interface AuthConfig {
  /** `off`: every caller may do everything (today's behaviour); `on`: SPEC §7. */
  mode: 'off' | 'on';
  /** AUTH_BOOTSTRAP_ADMIN_KEY: a secret accepted as an admin credential. Never logged. */
  bootstrapAdminKey: Secret | undefined;
  /** AUTH_ADMIN_PRINCIPALS: OIDC / certificate principals that are admins. */
  adminPrincipals: readonly string[];
  /** Set when AUTH_OIDC_ISSUER and AUTH_OIDC_AUDIENCE are. */
  oidc: { issuer: string; audience: string; jwksUrl: string | undefined } | undefined;
  /** TLS_CLIENT_CA_FILE: clients must present a certificate signed by this CA. */
  clientCaFile: string | undefined;
}

function parseAuth(
  p: Parser,
  env: Env,
  tls: TlsConfig | undefined,
  problems: string[],
): AuthConfig {
  const mode = p.oneOf('AUTH_MODE', ['off', 'on'] as const) ?? 'off';
  // Read by hand: the Parser's messages quote the value, and this one is a secret.
  const bootstrapAdminKey = nonEmpty(env.AUTH_BOOTSTRAP_ADMIN_KEY)
    ? env.AUTH_BOOTSTRAP_ADMIN_KEY.trim()
    : undefined;
  if (bootstrapAdminKey !== undefined && bootstrapAdminKey.length < MIN_BOOTSTRAP_ADMIN_KEY_CHARS) {
    problems.push(
      `AUTH_BOOTSTRAP_ADMIN_KEY is too short: at least ${MIN_BOOTSTRAP_ADMIN_KEY_CHARS} characters (value not shown)`,
    );
  }
  const adminPrincipals = (p.string('AUTH_ADMIN_PRINCIPALS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const issuer = p.url('AUTH_OIDC_ISSUER');
  const audience = p.string('AUTH_OIDC_AUDIENCE');
  const jwksUrl = p.url('AUTH_OIDC_JWKS_URL');
  let oidc: AuthConfig['oidc'];
  if (issuer !== undefined && audience !== undefined) oidc = { issuer, audience, jwksUrl };
  else if (issuer !== undefined || audience !== undefined) {
    problems.push('AUTH_OIDC_ISSUER and AUTH_OIDC_AUDIENCE must be set together');
  } else if (jwksUrl !== undefined) {
    problems.push('AUTH_OIDC_JWKS_URL is set but AUTH_OIDC_ISSUER is not');
  }
  const clientCaFile = p.string('TLS_CLIENT_CA_FILE');
  if (clientCaFile !== undefined && tls === undefined && !nonEmpty(env.TLS_CERT_FILE)) {
    problems.push(
      'TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE (client certificates need TLS)',
    );
  }
  if (adminPrincipals.length > 0 && oidc === undefined && clientCaFile === undefined) {
    problems.push(
      'AUTH_ADMIN_PRINCIPALS needs AUTH_OIDC_ISSUER or TLS_CLIENT_CA_FILE (nothing else yields principals)',
    );
  }
  if (mode === 'off') {
    // An operator who configured identity but not the switch must not run an
    // open service believing it is closed (the same rule as QUEUE_BACKEND).
    const stray = [
      'AUTH_BOOTSTRAP_ADMIN_KEY',
      'AUTH_ADMIN_PRINCIPALS',
      'AUTH_OIDC_ISSUER',
      'AUTH_OIDC_AUDIENCE',
    ].filter((name) => nonEmpty(env[name]));
    if (stray.length > 0) {
      problems.push(
        `${stray.join(', ')} set while AUTH_MODE=off (set AUTH_MODE=on to require credentials)`,
      );
    }
  }
  return {
    mode,
    bootstrapAdminKey: bootstrapAdminKey === undefined ? undefined : new Secret(bootstrapAdminKey),
    adminPrincipals,
    oidc,
    clientCaFile,
  };
}

function isRedisUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (
      (url.protocol === 'redis:' || url.protocol === 'rediss:') &&
      url.hostname !== '' &&
      /^\/?\d*$/.test(url.pathname) &&
      url.search === ''
    );
  } catch {
    return false;
  }
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** Parses a Go-style duration ("1m", "1h30m", "250ms", "0") into milliseconds. */
export function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * (DURATION_UNITS_MS[m[2] ?? ''] ?? Number.NaN);
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** Parses a byte size: a plain integer, or with KB/KiB/MB/MiB/GB/GiB. */
export function parseSizeBytes(text: string): number | undefined {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  if (m === null) return undefined;
  const unit = SIZE_UNITS[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Number(m[1]) * unit;
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * Boolean spellings, matched in any letter case: Jack's own words plus every
 * form Go's `strconv.ParseBool` accepts (`t`, `f`, `1`, `0`, …), so an env
 * file written for the Go service keeps working (SPEC §12).
 */
const TRUE_FORMS = ['true', 't', '1', 'yes', 'on'];
const FALSE_FORMS = ['false', 'f', '0', 'no', 'off'];
const BOOLEAN_FORMS: ReadonlyMap<string, boolean> = new Map([
  ...TRUE_FORMS.map((form) => [form, true] as const),
  ...FALSE_FORMS.map((form) => [form, false] as const),
]);
const BOOLEAN_WHAT = `a boolean (${TRUE_FORMS.join('|')} or ${FALSE_FORMS.join('|')}, in any letter case)`;

/** Reads one variable at a time; records a problem naming the variable when it does not parse. */
class Parser {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  /** The trimmed value, or undefined when unset or blank. */
  string(name: string): string | undefined {
    const value = this.env[name];
    return nonEmpty(value) ? value.trim() : undefined;
  }

  /** Records a problem the typed readers cannot express. */
  problem(message: string): void {
    this.problems.push(message);
  }

  private parse<T>(name: string, what: string, fn: (s: string) => T | undefined): T | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    const value = fn(raw);
    if (value === undefined) this.problems.push(`${name}=${JSON.stringify(raw)} is not ${what}`);
    return value;
  }

  port(name: string): number | undefined {
    return this.parse(name, 'a port number (0-65535)', (s) => {
      const n = /^\d+$/.test(s) ? Number(s) : Number.NaN;
      return n >= 0 && n <= 65535 ? n : undefined;
    });
  }

  positiveInt(name: string): number | undefined {
    return this.parse(name, 'a positive integer', (s) => {
      const n = /^\d+$/.test(s) ? Number(s) : Number.NaN;
      return Number.isSafeInteger(n) && n > 0 ? n : undefined;
    });
  }

  /** Any whole number, negative and zero included. */
  integer(name: string): number | undefined {
    return this.parse(name, 'a whole number', (s) => {
      const n = /^-?\d+$/.test(s) ? Number(s) : Number.NaN;
      return Number.isSafeInteger(n) ? n : undefined;
    });
  }

  size(name: string): number | undefined {
    return this.parse(name, 'a size in bytes (e.g. 1048576, 512KiB, 16MiB)', (s) => {
      const n = parseSizeBytes(s);
      return n !== undefined && n > 0 ? n : undefined;
    });
  }

  duration(name: string): number | undefined {
    return this.parse(name, 'a duration (e.g. 500ms, 10s, 1m)', parseDurationMs);
  }

  positiveDuration(name: string): number | undefined {
    return this.parse(name, 'a positive duration (e.g. 500ms, 10s, 1m)', (s) => {
      const ms = parseDurationMs(s);
      return ms !== undefined && ms > 0 ? ms : undefined;
    });
  }

  bool(name: string): boolean | undefined {
    return this.parse(name, BOOLEAN_WHAT, (s) => BOOLEAN_FORMS.get(s.toLowerCase()));
  }

  url(name: string): string | undefined {
    return this.parse(name, 'an http(s) URL', (s) =>
      /^https?:\/\/[^\s/]+/.test(s) ? s : undefined,
    );
  }

  oneOf<const T extends string>(name: string, allowed: readonly T[]): T | undefined {
    return this.parse(name, `one of ${allowed.join('|')}`, (s) =>
      (allowed as readonly string[]).includes(s) ? (s as T) : undefined,
    );
  }
}
