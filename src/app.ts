/**
 * The composition root, in startup order: metrics → tracing → store →
 * identity → backend → job ledger → scheduler → health → shared state
 * (Redis: rate limits, idempotency keys) → enqueuer → gRPC server → HTTP
 * server. How each piece is chosen and opened lives in ./app/ (adapters,
 * ledger, shared state, telemetry); Google-backed adapters load only when
 * chosen. Everything is released in reverse order of startup.
 */
import { fileURLToPath } from 'node:url';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Logger } from 'pino';
import { createAdminService } from './api/admin-service.js';
import { createCallTracker } from './api/call-tracker.js';
import { withReusedWriters } from './api/codec.js';
import { createHealthMonitor, type HealthMonitor } from './api/health.js';
import { createConsoleHandler } from './api/http/console.js';
import { createHttpServer } from './api/http/server.js';
import { createAuthInterceptor } from './api/interceptors/auth.js';
import { loggingInterceptor } from './api/interceptors/logging.js';
import { metricsInterceptor } from './api/interceptors/metrics.js';
import { createJobService } from './api/job-service.js';
import { createJobsService } from './api/jobs-service.js';
import { bindService, type Interceptor } from './api/pipeline.js';
import { createGrpcServer } from './api/server.js';
import { openBackend, openScheduler, openStore } from './app/adapters.js';
import { openLedger } from './app/ledger.js';
import { type Releaser, release } from './app/release.js';
import { openIdempotency, openRateLimit, openRedis } from './app/shared-state.js';
import { openMetrics } from './app/telemetry.js';
import type { CallTracing } from './app/tracing.js';
import type { Config } from './config/index.js';
import { toError } from './errors.js';
import { AdminServiceService } from './gen/jack/admin.js';
import { BackgroundJobsService, EnqueueBulkResponse, EnqueueResponse } from './gen/jack/jack.js';
import { JobsService } from './gen/jack/jobs.js';
import { createIdentity } from './identity/identity.js';
import { createJobIdGenerator } from './jobid/job-id.js';
import { createEnqueuer } from './jobs/enqueuer.js';
import { withIdempotency } from './jobs/idempotent.js';
import type { LedgerStore } from './ledger/ledger.js';
import { createLedgerRecorder, type LedgerRecorder } from './ledger/recorder.js';
import { recordingBackend, recordingScheduler } from './ledger/recording.js';
import { type ConsoleStats, createConsoleStats } from './metrics/console-stats.js';
import type { Backend } from './queue/backend.js';
import type { ObjectIO, Store } from './storage/store.js';
import { withTimeout } from './timeout.js';

/**
 * The console built by `make build` (scripts/build-console.mjs): dist/console
 * beside src/ and dist/, whether this file runs from src/app.ts or dist/app.js.
 */
const CONSOLE_DIR = fileURLToPath(new URL('../dist/console/', import.meta.url));

export interface AppOverrides {
  /** Objects for the memory store (tests share one between two apps = two replicas). */
  memoryObjects?: ObjectIO;
  /** Replaces the configured queue backend (tests record or fail publishes with it). */
  backend?: Backend;
  /** Replaces the OTLP exporter when tracing is on (tests read spans from memory). */
  spanExporter?: SpanExporter;
  /** Replaces the job ledger's store (tests: two apps on one PostgreSQL = two replicas). */
  ledger?: LedgerStore;
}

export interface App {
  /** The bound gRPC port. */
  readonly port: number;
  /** The bound HTTP port (Connect, gRPC-Web, probes), when HTTP_PORT is set. */
  readonly httpPort: number | undefined;
  /** The bound metrics port, when metrics are on. */
  readonly metricsPort: number | undefined;
  readonly store: Store;
  readonly backend: Backend;
  readonly health: HealthMonitor;
  /** The job ledger (SPEC §14); undefined with JOB_LEDGER=off. */
  readonly ledger: LedgerStore | undefined;
  /**
   * SPEC §5 order: health NOT_SERVING, stop accepting calls, let calls in
   * flight finish (up to the grace period), flush the backend, release the
   * rest. Safe to call twice.
   */
  shutdown(): Promise<void>;
}

/**
 * CancelJob's record: bounded by LEDGER_WRITE_TIMEOUT, and never fails the
 * cancel (the scheduler already dropped the job; the queue is the truth).
 */
async function recordCancelled(
  ledger: LedgerStore,
  jobId: string,
  timeoutMs: number,
  logger: Logger,
): Promise<void> {
  try {
    await withTimeout(ledger.cancel(jobId, new Date()), timeoutMs, () => {
      throw new Error(`no answer within ${timeoutMs} ms (LEDGER_WRITE_TIMEOUT)`);
    });
  } catch (err) {
    logger.warn({ err: toError(err), jobId }, 'job ledger: could not record CANCELLED');
  }
}

export async function startApp(
  config: Readonly<Config>,
  logger: Logger,
  overrides: AppOverrides = {},
): Promise<App> {
  const releasers: Releaser[] = [];
  try {
    // The console's overview counts for itself, with or without METRICS_PORT.
    const consoleStats = config.http === undefined ? undefined : createConsoleStats();
    const { metrics, metricsPort } = await openMetrics(
      config,
      logger,
      releasers,
      consoleStats === undefined ? [] : [consoleStats.metrics],
    );

    // Tracing off: nothing of OpenTelemetry's SDK is loaded, nothing wraps a call.
    let tracing: CallTracing | undefined;
    if (config.tracing !== undefined) {
      const { startCallTracing } = await import('./app/tracing.js');
      tracing = await startCallTracing(config.tracing, config.backend, {
        exporter: overrides.spanExporter,
      });
      releasers.push((tracing as CallTracing).shutdown); // last out: flushes the final spans
    }

    const store = await openStore(config, logger, metrics, overrides.memoryObjects);
    releasers.push(() => store.close());

    // After the store: AUTH_MODE=on needs to know whether an admin key exists.
    const identity = await createIdentity({
      config: config.auth,
      grpcHost: config.grpcHost,
      store,
      logger,
    });
    if (identity !== undefined) releasers.push(async () => identity.close());

    const untracedBackend = overrides.backend ?? (await openBackend(config, logger, metrics));
    releasers.push(() => untracedBackend.close());
    const backend = tracing?.backend(untracedBackend) ?? untracedBackend;

    // The job ledger (SPEC §14): its store, and the recorder the enqueue path writes through.
    let ledger: LedgerStore | undefined;
    let recorder: LedgerRecorder | undefined;
    if (overrides.ledger !== undefined) {
      ledger = overrides.ledger;
      const shared = createLedgerRecorder({
        store: ledger,
        logger,
        metrics,
        writeTimeoutMs: config.ledger.writeTimeoutMs,
        bufferSize: config.ledger.bufferSize,
      });
      recorder = shared;
      releasers.push(() => shared.close());
    } else {
      const opened = await openLedger(config, logger, metrics);
      releasers.push(...opened.releasers);
      ledger = opened.store;
      recorder = opened.recorder;
    }

    // The ledger scheduler publishes the message it stored, whose trace
    // context is the enqueuing call's (tracedScheduler): the untraced backend.
    const untracedScheduler = await openScheduler(config, logger, {
      ledger,
      backend: untracedBackend,
      metrics,
    });
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
      ledgerHealthy:
        recorder === undefined ? undefined : () => (recorder as LedgerRecorder).healthy,
    });
    // An outage or its end shows in health at once, not at the next periodic check.
    const unsubscribeLedgerHealth = recorder?.onHealthChange(() => {
      void health.checkNow().catch(() => undefined);
    });
    if (unsubscribeLedgerHealth !== undefined)
      releasers.push(async () => unsubscribeLedgerHealth());
    // One Redis connection (REDIS_URL) for all shared state (SPEC §8, §9).
    const redis = await openRedis(config, logger);
    if (redis !== undefined) releasers.push(() => redis.close());
    const rateLimit = await openRateLimit(config, logger, metrics, store, redis);
    releasers.push(() => rateLimit.close());

    const calls = createCallTracker();
    const idempotency = await openIdempotency(config, logger, metrics, redis);
    // The enqueue path, in the order a job takes: its idempotency key (SPEC
    // §9), then check, route, admit and dispatch; every job the backend or
    // scheduler accepted is recorded before the call answers (SPEC §14).
    const jobPath = createEnqueuer({
      config,
      store,
      backend: recorder === undefined ? backend : recordingBackend(backend, recorder),
      // The ledger scheduler (SPEC §16) writes its SCHEDULED record itself,
      // in one transaction with the message it keeps.
      scheduler:
        recorder === undefined || scheduler === undefined || scheduler.kind === 'ledger'
          ? scheduler
          : recordingScheduler(scheduler, recorder),
      ids: createJobIdGenerator(),
      metrics,
      authorize: identity?.authorizeJob,
      validationMode: config.admission.validationMode,
      rateLimit,
    });
    const enqueuer = withIdempotency(jobPath, { idempotency, metrics });
    // The order of concerns around every call (STYLE §11): written down once, here.
    const interceptors: Interceptor[] = [
      loggingInterceptor(logger),
      metricsInterceptor(metrics),
      ...(tracing === undefined ? [] : [tracing.interceptor]),
      createAuthInterceptor(identity, logger),
    ];
    const pipeline = { interceptors, calls };
    const jobsService = createJobsService({
      ledger,
      maxWatchesPerConnection: config.maxWatchesPerConnection,
      // SCHEDULED past its run_at reads QUEUED only under a scheduler Jack
      // does not see (Cloud Tasks); the ledger scheduler records QUEUED itself.
      externalScheduler: scheduler !== undefined && scheduler.kind !== 'ledger',
    });
    // Every service, bound once to the pipeline; gRPC and HTTP serve these same
    // chains. A new service is one line here (and, for HTTP, its .proto file
    // in src/api/http/connect.ts's DESCRIPTORS).
    const services = [
      bindService(
        withReusedWriters(BackgroundJobsService, {
          enqueue: EnqueueResponse,
          enqueueBulk: EnqueueBulkResponse,
        }),
        createJobService({
          enqueuer,
          scheduler,
          maxBulkJobs: config.maxBulkJobs,
          metrics,
          recordCancelled:
            ledger === undefined
              ? undefined
              : (jobId) => recordCancelled(ledger, jobId, config.ledger.writeTimeoutMs, logger),
        }),
        pipeline,
      ),
      bindService(AdminServiceService, createAdminService({ store }), pipeline),
      bindService(JobsService, jobsService.handlers, pipeline),
    ];
    const server = createGrpcServer({
      services,
      health: health.implementation,
      calls,
      maxReceiveBytes: config.grpcMaxReceiveBytes,
      http2: config.http2,
      tls: config.tls,
      clientCaFile: config.auth.clientCaFile,
      logger,
      metrics,
    });
    const port = await server.listen(config.grpcHost, config.grpcPort);
    releasers.push(() => server.shutdown(config.shutdownGraceMs));
    let httpPort: number | undefined;
    if (config.http !== undefined) {
      const httpServer = createHttpServer({
        services,
        health: health.implementation,
        calls,
        config: config.http,
        maxReceiveBytes: config.grpcMaxReceiveBytes,
        tls: config.tls,
        clientCaFile: config.auth.clientCaFile,
        logger,
        onConnectionRefused: () => metrics.connectionRefused('http'),
        staticHandler: createConsoleHandler({
          dir: CONSOLE_DIR,
          overview: () => ({
            ...(consoleStats as ConsoleStats).snapshot(),
            health: Object.fromEntries(health.implementation.statusList()),
            components: {
              backend: config.backend.kind,
              scheduler: config.scheduler.kind,
              ledger: config.ledger.kind,
            },
          }),
        }),
      });
      httpPort = await httpServer.listen(config.grpcHost, config.http.port);
      releasers.push(() => httpServer.shutdown(config.shutdownGraceMs));
    }
    // Released before the server stops: open WatchJob streams end with a status, not a cut.
    releasers.push(async () => jobsService.endWatches());
    await health.checkNow();
    health.start();

    let stopping: Promise<void> | undefined;
    return {
      port,
      httpPort,
      metricsPort,
      store,
      backend,
      health,
      ledger,
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
