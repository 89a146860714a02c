import type { Logger } from 'pino';
import { toError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { Backend } from '../queue/backend.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Store } from '../storage/store.js';
import { withTimeout } from '../timeout.js';
import { BoundedHealth } from './health-service.js';

export const SERVICE_JOBS = 'jack.BackgroundJobs';
export const SERVICE_ADMIN = 'jack.AdminService';
export const SERVICE_LEDGER = 'jack.Jobs';
/** '' is the whole server. */
export const HEALTH_SERVICES = ['', SERVICE_JOBS, SERVICE_ADMIN, SERVICE_LEDGER] as const;

/** Shortest time a backend or scheduler check may take before it counts as failed, ms. */
export const MIN_CHECK_TIMEOUT_MS = 2_000;

export interface HealthMonitorDeps {
  backend: Backend;
  scheduler: Scheduler | undefined;
  store: Store;
  intervalMs: number;
  logger: Logger;
  metrics: Metrics;
  /** Open Watch streams allowed per connection. */
  maxWatchesPerConnection: number;
  /**
   * Whether the job ledger takes writes now (the recorder's view, SPEC §14).
   * Absent: no ledger to watch, jack.Jobs is SERVING (with JOB_LEDGER=off it
   * answers every call, with FAILED_PRECONDITION).
   */
  ledgerHealthy?: () => boolean;
}

/**
 * grpc.health.v1 state, kept current by a periodic check:
 * - `jack.BackgroundJobs` follows the backend (and scheduler) check;
 * - `jack.AdminService` follows the config store's last refresh;
 * - `jack.Jobs` follows the ledger's writes (NOT_SERVING while they fail);
 * - `''` is SERVING only when the first two are: a ledger outage never
 *   stops enqueueing (the queue is the truth, SPEC §14).
 * Enqueue keeps working from the last store snapshot while the store is
 * down, which is why the two services are reported apart.
 */
export interface HealthMonitor {
  readonly implementation: BoundedHealth;
  /** Runs one check now and updates the statuses. */
  checkNow(): Promise<void>;
  /** Starts the periodic check. */
  start(): void;
  /**
   * Everything NOT_SERVING for good, then every Watch stream ended with OK
   * (before the server closes connections); stops the periodic check.
   */
  shutDown(): void;
}

export function createHealthMonitor(deps: HealthMonitorDeps): HealthMonitor {
  const { backend, scheduler, store, logger, metrics } = deps;
  const implementation = new BoundedHealth(
    Object.fromEntries(HEALTH_SERVICES.map((s) => [s, 'NOT_SERVING'])),
    deps.maxWatchesPerConnection,
  );
  const current = new Map<string, boolean>();
  let shuttingDown = false;
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  // A short interval must not turn a slow but healthy answer into a failure
  // (a loaded machine answers a topic lookup in more than 200 ms).
  const checkTimeoutMs = Math.max(deps.intervalMs, MIN_CHECK_TIMEOUT_MS);

  const set = (service: string, serving: boolean) => {
    if (shuttingDown || current.get(service) === serving) return;
    current.set(service, serving);
    implementation.setStatus(service, serving ? 'SERVING' : 'NOT_SERVING');
    metrics.healthChanged(service, serving);
  };

  /** A check that does not answer within checkTimeoutMs (the interval, at least 2 s) counts as failed. */
  const bounded = async (what: string, check: () => Promise<void>): Promise<string | undefined> => {
    try {
      await withTimeout(check(), checkTimeoutMs, () => {
        throw new Error(`${what} check timed out after ${checkTimeoutMs} ms`);
      });
      return undefined;
    } catch (err) {
      return `${what}: ${toError(err).message}`;
    }
  };

  const checkNow = async () => {
    const failures = (
      await Promise.all([
        bounded('backend', () => backend.check()),
        scheduler === undefined ? undefined : bounded('scheduler', () => scheduler.check()),
      ])
    ).filter((f): f is string => f !== undefined);
    const storeError = store.lastRefreshError();
    const jobsOk = failures.length === 0;
    const storeOk = storeError === undefined;
    if (!jobsOk && current.get(SERVICE_JOBS) !== false)
      logger.warn({ failures }, 'backend unhealthy: NOT_SERVING');
    if (jobsOk && current.get(SERVICE_JOBS) === false)
      logger.info('backend healthy again: SERVING');
    if (!storeOk && current.get(SERVICE_ADMIN) !== false) {
      logger.warn({ err: storeError }, 'config store unhealthy: admin NOT_SERVING');
    }
    set(SERVICE_JOBS, jobsOk);
    set(SERVICE_ADMIN, storeOk);
    set(SERVICE_LEDGER, deps.ledgerHealthy?.() ?? true);
    set('', jobsOk && storeOk);
  };

  return {
    implementation,
    checkNow,
    start() {
      if (started) return;
      started = true;
      // The next check is scheduled when the last one has finished, so slow
      // checks never pile up.
      const schedule = () => {
        if (shuttingDown) return;
        timer = setTimeout(() => {
          checkNow()
            .catch((err: unknown) => logger.error({ err }, 'health check crashed'))
            .finally(schedule);
        }, deps.intervalMs);
        timer.unref();
      };
      schedule();
    },
    shutDown() {
      if (timer !== undefined) clearTimeout(timer);
      for (const service of HEALTH_SERVICES) {
        implementation.setStatus(service, 'NOT_SERVING');
        metrics.healthChanged(service, false);
      }
      shuttingDown = true;
      implementation.endWatches();
    },
  };
}
