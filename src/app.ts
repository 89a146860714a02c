/**
 * The composition root: config → metrics → store → backend → scheduler →
 * services → server. Adapters backed by Google client libraries are imported
 * only when chosen, so the noop/memory path never loads them. Everything is
 * released in reverse order of startup.
 */
import type { Logger } from 'pino';
import { createAdminService } from './api/admin-service.js';
import { createCallTracker } from './api/handler.js';
import { createHealthMonitor, type HealthMonitor } from './api/health.js';
import { createJobService } from './api/job-service.js';
import { createGrpcServer } from './api/server.js';
import type { Config } from './config.js';
import { toError } from './errors.js';
import { createJobIdGenerator } from './jobid/job-id.js';
import { createEnqueuer } from './jobs/enqueuer.js';
import { type Metrics, noopMetrics } from './metrics.js';
import type { Backend } from './queue/backend.js';
import { createNoopBackend } from './queue/noop.js';
import type { Scheduler } from './scheduler/scheduler.js';
import { createCachedStore } from './storage/cached-store.js';
import { createLocalStore } from './storage/local.js';
import { createMemoryObjects } from './storage/memory.js';
import type { ObjectIO, Store } from './storage/store.js';

export interface AppOverrides {
  /** Objects for the memory store (tests share one between two apps = two replicas). */
  memoryObjects?: ObjectIO;
  /** Replaces the configured queue backend (tests record or fail publishes with it). */
  backend?: Backend;
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
    let metrics: Metrics = noopMetrics;
    let metricsPort: number | undefined;
    if (config.metricsPort !== undefined) {
      const { startPrometheusExporter } = await import('./metrics/prometheus.js');
      const exporter = await startPrometheusExporter({
        host: config.grpcHost,
        port: config.metricsPort,
        logger,
      });
      releasers.push(() => exporter.close());
      metrics = exporter.metrics;
      metricsPort = exporter.port;
    }

    const store = await openStore(config, logger, metrics, overrides);
    releasers.push(() => store.close());

    const backend = overrides.backend ?? (await openBackend(config, logger));
    releasers.push(() => backend.close());

    const scheduler = await openScheduler(config, logger);
    if (scheduler !== undefined) releasers.push(() => scheduler.close());

    const health = createHealthMonitor({
      backend,
      scheduler,
      store,
      intervalMs: config.healthCheckIntervalMs,
      logger,
      metrics,
    });
    const calls = createCallTracker();
    const enqueuer = createEnqueuer({
      config,
      store,
      backend,
      scheduler,
      ids: createJobIdGenerator(),
      metrics,
    });
    const server = createGrpcServer({
      jobService: createJobService({
        enqueuer,
        scheduler,
        maxBulkJobs: config.maxBulkJobs,
        logger,
        metrics,
        calls,
      }),
      adminService: createAdminService({ store, logger, metrics, calls }),
      health: health.implementation,
      calls,
      maxReceiveBytes: config.grpcMaxReceiveBytes,
      tls: config.tls,
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
