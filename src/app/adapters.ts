/**
 * The adapters the config chooses: the config store, the queue backend and
 * the scheduler. Those backed by Google client libraries are imported only
 * when chosen, so the noop/memory path never loads them.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { LedgerStore } from '../ledger/ledger.js';
import type { Metrics } from '../metrics.js';
import type { Backend } from '../queue/backend.js';
import { createNoopBackend } from '../queue/noop.js';
import type { ScheduleStore } from '../scheduler/ledger-store.js';
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

/**
 * The scheduler of `config.scheduler`: none, Cloud Tasks, or the ledger
 * scheduler (SPEC §16), which keeps future jobs in `ledger` and publishes
 * them through `backend` when due.
 */
export async function openScheduler(
  config: Readonly<Config>,
  logger: Logger,
  deps: { ledger: LedgerStore | undefined; backend: Backend; metrics: Metrics },
): Promise<Scheduler | undefined> {
  if (config.scheduler.kind === 'ledger') return openLedgerScheduler(config, logger, deps);
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

async function openLedgerScheduler(
  config: Readonly<Config>,
  logger: Logger,
  deps: { ledger: LedgerStore | undefined; backend: Backend; metrics: Metrics },
): Promise<Scheduler> {
  const { ledger, backend, metrics } = deps;
  // Config refuses SCHEDULER=ledger with JOB_LEDGER=off; this guards the wiring.
  if (ledger === undefined) throw new Error('SCHEDULER=ledger needs the job ledger (JOB_LEDGER)');
  const { createLedgerScheduler, DEFAULT_POLL_INTERVAL_MS } = await import(
    '../scheduler/ledger.js'
  );
  let store: ScheduleStore;
  if (config.ledger.kind === 'postgres' && config.ledger.databaseUrl !== undefined) {
    const { openPostgresScheduleStore } = await import('../scheduler/ledger-postgres.js');
    store = openPostgresScheduleStore({
      url: config.ledger.databaseUrl.reveal(),
      logger,
      metrics,
      soonMs: DEFAULT_POLL_INTERVAL_MS,
      publishBudgetMs:
        config.backend.kind === 'pubsub' ? config.backend.publishTimeoutMs * 2 : 10_000,
    });
  } else {
    const { createMemoryScheduleStore } = await import('../scheduler/ledger-memory.js');
    store = createMemoryScheduleStore({ ledger, maxJobs: config.ledger.maxJobs });
  }
  return createLedgerScheduler({ store, backend, logger, metrics });
}
