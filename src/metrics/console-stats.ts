/**
 * The numbers behind the console's overview (SPEC §18): jobs accepted per
 * priority and pickup latency per priority against each lane's promise,
 * plus the ledger's buffer and the scheduler's waiting jobs. A `Metrics`
 * sink of its own, so the overview works whether or not Prometheus
 * (METRICS_PORT) is on; only counters, no ids, like /metrics.
 */
import { type Metrics, noopMetrics } from '../metrics.js';
import { PRIORITIES, type Priority } from '../queue/backend.js';

/** Seconds within which each lane promises a pickup (SPEC §14). */
export const LANE_PROMISE_SECONDS: Readonly<Record<Priority, number>> = {
  immediate: 5,
  high: 15,
  medium: 60,
  low: 300,
};

export interface PickupStats {
  /** First RUNNING reports seen. */
  count: number;
  /** Of those, picked up within the lane's promise. */
  withinPromise: number;
  /** Sum of the pickup latencies, seconds. */
  sumSeconds: number;
  /** The lane's promise, seconds. */
  promiseSeconds: number;
}

export interface ConsoleSnapshot {
  /** Jobs accepted (published or scheduled) since start, per priority. */
  enqueued: Record<Priority, number>;
  pickup: Record<Priority, PickupStats>;
  ledger: { bufferedRecords: number; writeFailures: number; droppedRecords: number };
  scheduler: { waitingJobs: number };
}

export interface ConsoleStats {
  readonly metrics: Metrics;
  snapshot(): ConsoleSnapshot;
}

export function createConsoleStats(): ConsoleStats {
  const perPriority = <T>(make: (p: Priority) => T) =>
    Object.fromEntries(PRIORITIES.map((p) => [p, make(p)])) as Record<Priority, T>;
  const enqueued = perPriority(() => 0);
  const pickup = perPriority(
    (p): PickupStats => ({
      count: 0,
      withinPromise: 0,
      sumSeconds: 0,
      promiseSeconds: LANE_PROMISE_SECONDS[p],
    }),
  );
  const ledger = { bufferedRecords: 0, writeFailures: 0, droppedRecords: 0 };
  const scheduler = { waitingJobs: 0 };
  return {
    metrics: {
      ...noopMetrics,
      jobFinished(priority, outcome) {
        if (priority !== undefined && (outcome === 'published' || outcome === 'scheduled')) {
          enqueued[priority] += 1;
        }
      },
      jobPickedUp(priority, seconds) {
        const s = pickup[priority];
        s.count += 1;
        s.sumSeconds += seconds;
        if (seconds <= s.promiseSeconds) s.withinPromise += 1;
      },
      ledgerWriteFailed(records) {
        ledger.writeFailures += records;
      },
      ledgerBufferDepth(records) {
        ledger.bufferedRecords = records;
      },
      ledgerRecordsDropped(records) {
        ledger.droppedRecords += records;
      },
      scheduledWaiting(jobs) {
        scheduler.waitingJobs = jobs;
      },
    },
    snapshot: () => ({
      enqueued: { ...enqueued },
      pickup: perPriority((p) => ({ ...pickup[p] })),
      ledger: { ...ledger },
      scheduler: { ...scheduler },
    }),
  };
}
