import type { Metrics } from '../metrics.js';
import { noopMetrics } from '../metrics.js';

/**
 * One `Metrics` that hands every event to each of `sinks` (Prometheus and
 * DogStatsD side by side). With one sink it is that sink, with none the
 * no-op, so the hot path pays for the fan-out only when it is needed.
 */
export function fanOutMetrics(sinks: readonly Metrics[]): Metrics {
  if (sinks.length === 0) return noopMetrics;
  if (sinks.length === 1) return sinks[0] as Metrics;
  const all = [...sinks];
  return {
    callFinished(method, code, seconds) {
      for (const m of all) m.callFinished(method, code, seconds);
    },
    jobFinished(priority, outcome) {
      for (const m of all) m.jobFinished(priority, outcome);
    },
    publishFinished(priority, ok, seconds, inBulk) {
      for (const m of all) m.publishFinished(priority, ok, seconds, inBulk);
    },
    jobDispatched(call, job, ok, seconds) {
      for (const m of all) m.jobDispatched(call, job, ok, seconds);
    },
    legacyRouted(job) {
      for (const m of all) m.legacyRouted(job);
    },
    scheduleFinished(ok, seconds, failure) {
      for (const m of all) m.scheduleFinished(ok, seconds, failure);
    },
    bulkSize(jobs) {
      for (const m of all) m.bulkSize(jobs);
    },
    connectionRefused(listener) {
      for (const m of all) m.connectionRefused(listener);
    },
    storeRefreshed(ok) {
      for (const m of all) m.storeRefreshed(ok);
    },
    duplicatePublished(priority) {
      for (const m of all) m.duplicatePublished(priority);
    },
    healthChanged(service, serving) {
      for (const m of all) m.healthChanged(service, serving);
    },
    jobsAdmitted(producer, count) {
      for (const m of all) m.jobsAdmitted(producer, count);
    },
    jobsRejected(producer, reason, count) {
      for (const m of all) m.jobsRejected(producer, reason, count);
    },
    rateLimiterFallback(active) {
      for (const m of all) m.rateLimiterFallback(active);
    },
    idempotencyAnswered(outcome) {
      for (const m of all) m.idempotencyAnswered(outcome);
    },
    jobTransition(state) {
      for (const m of all) m.jobTransition(state);
    },
    jobPickedUp(priority, seconds) {
      for (const m of all) m.jobPickedUp(priority, seconds);
    },
    ledgerWriteFailed(records) {
      for (const m of all) m.ledgerWriteFailed(records);
    },
    ledgerBufferDepth(records) {
      for (const m of all) m.ledgerBufferDepth(records);
    },
    ledgerRecordsDropped(records) {
      for (const m of all) m.ledgerRecordsDropped(records);
    },
    scheduledWaiting(jobs) {
      for (const m of all) m.scheduledWaiting(jobs);
    },
    scheduledPublished(latenessSeconds) {
      for (const m of all) m.scheduledPublished(latenessSeconds);
    },
  };
}
