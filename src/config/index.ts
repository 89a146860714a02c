/**
 * Configuration: the only reader of `process.env`. `loadConfig(env)` is pure:
 * it applies every default (./defaults.ts), validates every variable, collects
 * all problems and throws one `ConfigError` whose message is a single line
 * naming each bad variable. `main.ts` prints it and exits non-zero before
 * binding the port. One file per section parses its variables.
 */
import { type AdmissionConfig, parseAdmission } from './admission.js';
import { type AuthConfig, parseAuth } from './auth.js';
import { type BackendConfig, type MessageFormat, parseBackend } from './backend.js';
import { DEFAULTS, PUBSUB_MAX_MESSAGE_BYTES, REQUEST_OVERHEAD_BYTES } from './defaults.js';
import { type HttpConfig, parseHttp } from './http.js';
import { type IdempotencyConfig, parseIdempotency } from './idempotency.js';
import { type LedgerConfig, parseLedger } from './ledger.js';
import { type Env, Parser } from './parser.js';
import { parseScheduler, type SchedulerConfig } from './scheduler.js';
import { type Http2Limits, parseHttp2Limits, parseTls, type TlsConfig } from './server.js';
import { parseStore, type StoreConfig } from './store.js';
import { type DatadogConfig, parseDatadog, parseTracing, type TracingConfig } from './telemetry.js';

export type { AdmissionConfig } from './admission.js';
export { type AuthConfig, MIN_BOOTSTRAP_ADMIN_KEY_CHARS, Secret } from './auth.js';
export type { BackendConfig, MessageFormat, NatsBackendConfig } from './backend.js';
export { DEFAULTS, PUBSUB_MAX_MESSAGE_BYTES } from './defaults.js';
export type { HttpConfig } from './http.js';
export type { IdempotencyConfig } from './idempotency.js';
export type { LedgerConfig } from './ledger.js';
export { parseDurationMs, parseSizeBytes } from './parser.js';
export type { SchedulerConfig } from './scheduler.js';
export type { Http2Limits, TlsConfig } from './server.js';
export type { StoreConfig } from './store.js';
export type { DatadogConfig, TracingConfig } from './telemetry.js';

export interface Config {
  grpcHost: string;
  grpcPort: number;
  grpcMaxReceiveBytes: number;
  http2: Http2Limits;
  /** Connect, gRPC-Web and HTTP probes (SPEC §18); undefined = off (HTTP_PORT unset). */
  http: HttpConfig | undefined;
  maxHealthWatchesPerConnection: number;
  /** MAX_WATCHES_PER_CONNECTION: open WatchJob streams on one connection (SPEC §14). */
  maxWatchesPerConnection: number;
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
  /** The job ledger (SPEC §14). */
  ledger: LedgerConfig;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

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
  const http = parseHttp(p);
  if (http !== undefined && http.port !== 0 && http.port === grpcPort) {
    problems.push(`HTTP_PORT=${http.port} is GRPC_PORT too: give HTTP its own port`);
  }
  const maxHealthWatchesPerConnection =
    p.positiveInt('GRPC_MAX_HEALTH_WATCHES_PER_CONNECTION') ??
    DEFAULTS.maxHealthWatchesPerConnection;
  const maxWatchesPerConnection =
    p.positiveInt('MAX_WATCHES_PER_CONNECTION') ?? DEFAULTS.maxWatchesPerConnection;

  const tls = parseTls(p);

  const legacyPayloadQueueRouting = p.bool('LEGACY_PAYLOAD_QUEUE_ROUTING') ?? false;
  const messageFormat = p.oneOf('MESSAGE_FORMAT', ['native', 'legacy'] as const) ?? 'native';

  const backend = parseBackend(p, env, problems);
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

  const idempotency = parseIdempotency(p);
  const ledger = parseLedger(p, env, problems);
  const scheduler = parseScheduler(p, backend, ledger, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    grpcHost,
    grpcPort,
    grpcMaxReceiveBytes,
    http2,
    http,
    maxHealthWatchesPerConnection,
    maxWatchesPerConnection,
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
    ledger,
  });
}
