/**
 * The adapters the config chooses: the config store, the queue backend and
 * the scheduler. Those backed by Google client libraries are imported only
 * when chosen, so the noop/memory path never loads them.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Metrics } from '../metrics.js';
import type { Backend } from '../queue/backend.js';
import { createNoopBackend } from '../queue/noop.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { createCachedStore } from '../storage/cached-store.js';
import { createLocalStore } from '../storage/local.js';
import { createMemoryObjects } from '../storage/memory.js';
import type { ObjectIO, Store } from '../storage/store.js';

/** @param memoryObjects objects for the memory store (tests: two apps sharing one = two replicas) */
export async function openStore(
  config: Readonly<Config>,
  logger: Logger,
  metrics: Metrics,
  memoryObjects: ObjectIO | undefined,
): Promise<Store> {
  const onRefresh = (error: Error | undefined) => metrics.storeRefreshed(error === undefined);
  const refreshIntervalMs = config.configRefreshIntervalMs;
  switch (config.store.kind) {
    case 'memory':
      logger.warn(
        'config store is in memory: producers and job types are lost at exit (set CONFIG_DIR or GCS_BUCKET)',
      );
      return createCachedStore(memoryObjects ?? createMemoryObjects(), {
        logger,
        refreshIntervalMs,
        onRefresh,
      });
    case 'local':
      return createLocalStore({ dir: config.store.dir, logger, refreshIntervalMs, onRefresh });
    case 'gcs': {
      const { createGcsStore } = await import('../storage/gcs.js');
      return createGcsStore({ config: config.store, logger, refreshIntervalMs, onRefresh });
    }
  }
}

export async function openBackend(
  config: Readonly<Config>,
  logger: Logger,
  metrics: Metrics,
): Promise<Backend> {
  switch (config.backend.kind) {
    case 'noop':
      logger.warn('QUEUE_BACKEND=noop: jobs are accepted and logged but NOT delivered anywhere');
      return createNoopBackend(logger);
    case 'pubsub': {
      const { createPubSubBackend } = await import('../queue/pubsub/backend.js');
      return createPubSubBackend({ config: config.backend, logger });
    }
    case 'nats': {
      const { createNatsBackend } = await import('../queue/nats/backend.js');
      return createNatsBackend({ config: config.backend, logger, metrics });
    }
  }
}

export async function openScheduler(
  config: Readonly<Config>,
  logger: Logger,
): Promise<Scheduler | undefined> {
  if (config.scheduler.kind === 'none' || config.backend.kind !== 'pubsub') return undefined;
  const { createCloudTasksScheduler } = await import('../scheduler/cloud-tasks.js');
  const { createPubSubPublishTarget } = await import('../queue/pubsub/publish-target.js');
  return createCloudTasksScheduler({
    config: config.scheduler,
    target: createPubSubPublishTarget(config.backend, config.scheduler.pubsubRestEndpoint),
    timeoutMs: config.backend.publishTimeoutMs,
    logger,
  });
}
