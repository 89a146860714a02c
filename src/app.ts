/**
 * The composition root: config → metrics → store → backend → scheduler →
 * services → server. Adapters backed by Google client libraries are imported
 * only when chosen, so the noop/memory path never loads them. Everything is
 * released in reverse order of startup.
 */
import { readFile } from 'node:fs/promises';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import { createMemoryLimiter } from './admission/memory.js';
import { createRateLimit, type RateLimit } from './admission/rate-limit.js';
import { createAdminService } from './api/admin-service.js';
import { createCallTracker } from './api/call-tracker.js';
import { createHealthMonitor, type HealthMonitor } from './api/health.js';
import { createAuthInterceptor } from './api/interceptors/auth.js';
import { loggingInterceptor } from './api/interceptors/logging.js';
import { metricsInterceptor } from './api/interceptors/metrics.js';
import { createJobService } from './api/job-service.js';
import { bindService, type Interceptor } from './api/pipeline.js';
import { createGrpcServer } from './api/server.js';
import { type Config, DEFAULTS } from './config/index.js';
import { JackError, toError } from './errors.js';
import { AdminServiceService } from './gen/jack/admin.js';
import { BackgroundJobsService } from './gen/jack/jack.js';
import { createIdempotency, type Idempotency } from './idempotency/idempotency.js';
import { createMemoryIdempotencyStore } from './idempotency/memory.js';
import { createIdentity } from './identity/identity.js';
import { createJobIdGenerator } from './jobid/job-id.js';
import { createEnqueuer } from './jobs/enqueuer.js';
import { fanOutMetrics } from './metrics/fan-out.js';
import type { Metrics } from './metrics.js';
import type { Backend } from './queue/backend.js';
import { createNoopBackend } from './queue/noop.js';
import type { RedisConnection } from './redis.js';
import type { Scheduler } from './scheduler/scheduler.js';
import { createCachedStore } from './storage/cached-store.js';
import { createLocalStore } from './storage/local.js';
import { createMemoryObjects } from './storage/memory.js';
import type { ObjectIO, Store } from './storage/store.js';
import type { CallTracing } from './tracing/wiring.js';

export interface AppOverrides {
  /** Objects for the memory store (tests share one between two apps = two replicas). */
  memoryObjects?: ObjectIO;
  /** Replaces the configured queue backend (tests record or fail publishes with it). */
  backend?: Backend;
  /** Replaces the OTLP exporter when tracing is on (tests read spans from memory). */
  spanExporter?: SpanExporter;
}

export interface App {
  /** The bound gRPC port. */
  readonly port: number;
  /** The bound metrics port, when metrics are on. */
  readonly metricsPort: number | undefined;
  readonly store: Store;
  readonly backend: Backend;
  readonly health: HealthMonitor;
  /**
   * SPEC §5 order: health NOT_SERVING, stop accepting calls, let calls in
   * flight finish (up to the grace period), flush the backend, release the
   * rest. Safe to call twice.
   */
  shutdown(): Promise<void>;
}

type Releaser = () => Promise<void>;

/** Runs releasers last-in-first-out; every one runs, the first error is rethrown. */
async function release(releasers: Releaser[]): Promise<void> {
  let first: unknown;
  for (const fn of [...releasers].reverse()) {
    try {
      await fn();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}

export async function startApp(
  config: Readonly<Config>,
  logger: Logger,
  overrides: AppOverrides = {},
): Promise<App> {
  const releasers: Releaser[] = [];
  try {
    const sinks: Metrics[] = [];
    let metricsPort: number | undefined;
    if (config.metricsPort !== undefined) {
      const { startPrometheusExporter } = await import('./metrics/prometheus.js');
      const exporter = await startPrometheusExporter({
        host: config.grpcHost,
        port: config.metricsPort,
        logger,
      });
      releasers.push(() => exporter.close());
      sinks.push(exporter.metrics);
      metricsPort = exporter.port;
    }
    if (config.datadog !== undefined) {
      const { startDogStatsd } = await import('./metrics/dogstatsd.js');
      const dogstatsd = startDogStatsd({ ...config.datadog, logger });
      releasers.push(() => dogstatsd.close());
      sinks.push(dogstatsd.metrics);
      logger.info({ host: config.datadog.host, port: config.datadog.port }, 'dogstatsd metrics on');
    }
    const metrics: Metrics = fanOutMetrics(sinks);

    // Tracing off: nothing of OpenTelemetry's SDK is loaded, nothing wraps a call.
    let tracing: CallTracing | undefined;
    if (config.tracing !== undefined) {
      const { startCallTracing } = await import('./tracing/wiring.js');
      tracing = await startCallTracing(config.tracing, config.backend, {
        exporter: overrides.spanExporter,
      });
      releasers.push((tracing as CallTracing).shutdown); // last out: flushes the final spans
    }

    const store = await openStore(config, logger, metrics, overrides);
    releasers.push(() => store.close());

    // After the store: AUTH_MODE=on needs to know whether an admin key exists.
    const identity = await createIdentity({
      config: config.auth,
      grpcHost: config.grpcHost,
      store,
      logger,
    });
    if (identity !== undefined) releasers.push(async () => identity.close());

    const untracedBackend = overrides.backend ?? (await openBackend(config, logger));
    releasers.push(() => untracedBackend.close());
    const backend = tracing?.backend(untracedBackend) ?? untracedBackend;

    const untracedScheduler = await openScheduler(config, logger);
    if (untracedScheduler !== undefined) releasers.push(() => untracedScheduler.close());
    const scheduler =
      untracedScheduler === undefined
        ? undefined
        : (tracing?.scheduler(untracedScheduler) ?? untracedScheduler);

    const health = createHealthMonitor({
      backend,
      scheduler,
      store,
      intervalMs: config.healthCheckIntervalMs,
      logger,
      metrics,
      maxWatchesPerConnection: config.maxHealthWatchesPerConnection,
    });
    // One Redis connection (REDIS_URL) for all shared state (SPEC §8, §9).
    const redis = await openRedis(config, logger);
    if (redis !== undefined) releasers.push(() => redis.close());
    const rateLimit = await openRateLimit(config, logger, metrics, store, redis);
    releasers.push(() => rateLimit.close());

    const calls = createCallTracker();
    const idempotency = await openIdempotency(config, logger, metrics, redis);
    const enqueuer = createEnqueuer({
      config,
      store,
      backend,
      scheduler,
      ids: createJobIdGenerator(),
      metrics,
      authorize: identity?.authorizeJob,
      validationMode: config.admission.validationMode,
      rateLimit,
      idempotency,
    });
    // The order of concerns around every call (STYLE §11): written down once, here.
    const interceptors: Interceptor[] = [
      loggingInterceptor(logger),
      metricsInterceptor(metrics),
      tracing?.interceptor ?? ((next) => next),
      createAuthInterceptor(identity, logger),
    ];
    const pipeline = { interceptors, calls };
    const server = createGrpcServer({
      services: [
        bindService(
          BackgroundJobsService,
          createJobService({ enqueuer, scheduler, maxBulkJobs: config.maxBulkJobs, metrics }),
          pipeline,
        ),
        bindService(AdminServiceService, createAdminService({ store }), pipeline),
      ],
      health: health.implementation,
      calls,
      maxReceiveBytes: config.grpcMaxReceiveBytes,
      http2: config.http2,
      tls: config.tls,
      clientCaFile: config.auth.clientCaFile,
      logger,
    });
    const port = await server.listen(config.grpcHost, config.grpcPort);
    releasers.push(() => server.shutdown(config.shutdownGraceMs));
    await health.checkNow();
    health.start();

    let stopping: Promise<void> | undefined;
    return {
      port,
      metricsPort,
      store,
      backend,
      health,
      shutdown() {
        stopping ??= (async () => {
          health.shutDown();
          await release(releasers);
        })();
        return stopping;
      },
    };
  } catch (err) {
    await release(releasers).catch((releaseErr: unknown) =>
      logger.warn({ err: toError(releaseErr) }, 'cleanup after failed startup failed'),
    );
    throw err;
  }
}

async function openStore(
  config: Readonly<Config>,
  logger: Logger,
  metrics: Metrics,
  overrides: AppOverrides,
): Promise<Store> {
  const onRefresh = (error: Error | undefined) => metrics.storeRefreshed(error === undefined);
  const refreshIntervalMs = config.configRefreshIntervalMs;
  switch (config.store.kind) {
    case 'memory':
      logger.warn(
        'config store is in memory: producers and job types are lost at exit (set CONFIG_DIR or GCS_BUCKET)',
      );
      return createCachedStore(overrides.memoryObjects ?? createMemoryObjects(), {
        logger,
        refreshIntervalMs,
        onRefresh,
      });
    case 'local':
      return createLocalStore({ dir: config.store.dir, logger, refreshIntervalMs, onRefresh });
    case 'gcs': {
      const { createGcsStore } = await import('./storage/gcs.js');
      return createGcsStore({ config: config.store, logger, refreshIntervalMs, onRefresh });
    }
  }
}

/**
 * Idempotency keys (SPEC §9): in Redis when there is a connection, else in
 * process. A claim's lease outlasts the slowest enqueue (a schedule and a
 * publish are each bounded by PUBSUB_PUBLISH_TIMEOUT), so only the claim of
 * a replica that died runs out.
 */
async function openIdempotency(
  config: Readonly<Config>,
  logger: Logger,
  metrics: Metrics,
  redis: RedisConnection | undefined,
): Promise<Idempotency> {
  const publishTimeoutMs =
    config.backend.kind === 'pubsub'
      ? config.backend.publishTimeoutMs
      : DEFAULTS.pubsubPublishTimeoutMs;
  const common = {
    ttlMs: config.idempotency.ttlMs,
    leaseMs: 2 * publishTimeoutMs + 1_000,
    metrics,
    logger,
  };
  if (redis === undefined) {
    logger.info(
      { maxKeys: config.idempotency.maxKeys },
      'idempotency keys are kept in process: de-duplication is per replica (set REDIS_URL to share keys between replicas)',
    );
    const store = createMemoryIdempotencyStore({ maxKeys: config.idempotency.maxKeys });
    return createIdempotency({ store, ...common });
  }
  const { createRedisIdempotencyStore } = await import('./idempotency/redis.js');
  logger.info({ redis: redis.target }, 'idempotency keys are kept in Redis, shared by replicas');
  return createIdempotency({
    store: createRedisIdempotencyStore({ connection: redis }),
    ...common,
  });
}

async function openBackend(config: Readonly<Config>, logger: Logger): Promise<Backend> {
  switch (config.backend.kind) {
    case 'noop':
      logger.warn('QUEUE_BACKEND=noop: jobs are accepted and logged but NOT delivered anywhere');
      return createNoopBackend(logger);
    case 'pubsub': {
      const { createPubSubBackend } = await import('./queue/pubsub/backend.js');
      return createPubSubBackend({ config: config.backend, logger });
    }
  }
}

async function openScheduler(
  config: Readonly<Config>,
  logger: Logger,
): Promise<Scheduler | undefined> {
  if (config.scheduler.kind === 'none' || config.backend.kind !== 'pubsub') return undefined;
  const { createCloudTasksScheduler } = await import('./scheduler/cloud-tasks.js');
  const { createPubSubPublishTarget } = await import('./queue/pubsub/publish-target.js');
  return createCloudTasksScheduler({
    config: config.scheduler,
    target: createPubSubPublishTarget(config.backend, config.scheduler.pubsubRestEndpoint),
    timeoutMs: config.backend.publishTimeoutMs,
    logger,
  });
}

/**
 * How long startup waits for Redis before serving anyway, ms: rate limits
 * then fall back to per-replica buckets and keyed calls get UNAVAILABLE.
 */
const REDIS_STARTUP_WAIT_MS = 2000;

/** The Redis connection when REDIS_URL is set; ioredis is loaded only then. */
async function openRedis(
  config: Readonly<Config>,
  logger: Logger,
): Promise<RedisConnection | undefined> {
  const url = config.admission.redisUrl;
  if (url === undefined) return undefined;
  const { createRedisConnection } = await import('./redis.js');
  const caFile = config.admission.redisCaFile;
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = await readFile(caFile, 'utf8');
    } catch (err) {
      throw new JackError(
        'failed_precondition',
        `REDIS_CA_FILE=${caFile} cannot be read: ${(err as NodeJS.ErrnoException).code}`,
        { cause: err },
      );
    }
  }
  const redis = createRedisConnection({ url, logger, ca });
  // Serving never waits for Redis (the limiter falls back), but a short
  // wait lets the first calls share buckets in the normal case.
  if (!(await redis.waitUntilReady(REDIS_STARTUP_WAIT_MS))) {
    logger.warn({ redis: redis.target }, 'redis not reachable at startup; serving without it');
  }
  return redis;
}

/** SPEC §8 rate limits: off, per replica (memory), or shared through Redis. */
async function openRateLimit(
  config: Readonly<Config>,
  logger: Logger,
  metrics: Metrics,
  store: Store,
  redis: RedisConnection | undefined,
): Promise<RateLimit> {
  const { rateLimitMode, defaultRateLimitRps } = config.admission;
  const options = { store, defaultRps: defaultRateLimitRps, metrics };
  if (rateLimitMode === 'off') return createRateLimit({ ...options, limiter: undefined });
  if (redis === undefined) {
    logger.info('rate limits per replica (no REDIS_URL): N replicas admit up to N x each rate');
    return createRateLimit({ ...options, limiter: createMemoryLimiter() });
  }
  const { createRedisLimiter } = await import('./admission/redis.js');
  const limiter = createRedisLimiter({
    connection: redis,
    fallback: createMemoryLimiter(),
    logger,
    metrics,
  });
  logger.info({ redis: redis.target }, 'rate limits shared by every replica through redis');
  return createRateLimit({ ...options, limiter });
}
