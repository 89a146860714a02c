/**
 * The Prometheus metric set behind `Metrics`. Every label value comes from a
 * fixed set (method names, status names, priorities, outcomes, service
 * names) or, for the admission metrics, from the registered producer ids,
 * capped at MAX_PRODUCER_LABELS: never a job id or job type, so cardinality
 * stays bounded whatever the callers send.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { IdempotencyOutcome, JobOutcome, JobStateLabel, Metrics } from '../metrics.js';
import { PRIORITIES, type Priority } from '../queue/backend.js';
import {
  HotCounter,
  HotHistogram,
  type HotMetric,
  type Labels,
  registerHot,
} from './hot-metric.js';

/**
 * Producer label values kept per exporter: callers pass registered producer
 * ids only (unregistered ones share one label), and past this many distinct
 * ids the rest are counted as '(other)', so a huge registry cannot blow up
 * the series count either.
 */
const MAX_PRODUCER_LABELS = 500;

/** Seconds; enqueue answers are sub-millisecond on noop, tens of ms through Pub/Sub. */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
/**
 * Seconds from QUEUED to a worker's first RUNNING, with an edge at each
 * lane's promise (SPEC §14: immediate 5 s, high 15 s, medium 60 s, low 300 s).
 */
/** Seconds a scheduled job was published after its run_at; SPEC §16 promises 1 s at p99. */
export const SCHEDULE_LATENESS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
export const PICKUP_LATENCY_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600, 1800];
const JOB_STATE_LABELS: readonly JobStateLabel[] = [
  'scheduled',
  'queued',
  'running',
  'succeeded',
  'failed',
  'dead',
  'cancelled',
];
const BULK_SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

const IDEMPOTENCY_OUTCOMES: readonly IdempotencyOutcome[] = [
  'claimed',
  'retried',
  'duplicate',
  'conflict',
  'in_progress',
  'store_error',
];

/** Builds the metric set on `registry` and the `Metrics` that feeds it. */
export function createPrometheusMetrics(registry: Registry): Metrics {
  const hot = <M extends HotMetric<{ labels: Labels }>>(metric: M): M =>
    registerHot(registry, metric);
  const calls = hot(
    new HotCounter('jack_grpc_calls_total', 'Finished gRPC calls by method and status code.', [
      'method',
      'code',
    ]),
  );
  const callSeconds = hot(
    new HotHistogram(
      'jack_enqueue_duration_seconds',
      'Time to answer Enqueue and EnqueueBulk calls, by method and status code.',
      ['method', 'code'],
      LATENCY_BUCKETS,
    ),
  );
  const jobs = hot(
    new HotCounter(
      'jack_jobs_total',
      "Jobs by priority and outcome (published, scheduled, refused, failed); priority is 'none' for jobs refused before routing.",
      ['priority', 'outcome'],
    ),
  );
  const publishSeconds = hot(
    new HotHistogram(
      'jack_publish_duration_seconds',
      'Time the queue backend took to accept one message, by priority and result.',
      ['priority', 'result'],
      LATENCY_BUCKETS,
    ),
  );
  const bulkSizes = hot(
    new HotHistogram('jack_bulk_size_jobs', 'Jobs per EnqueueBulk call.', [], BULK_SIZE_BUCKETS),
  );
  const idempotency = hot(
    new HotCounter(
      'jack_idempotency_total',
      'Jobs with an idempotency key by outcome (claimed, retried, duplicate, conflict, in_progress), and failed idempotency store operations (store_error).',
      ['outcome'],
    ),
  );
  // Cold paths: plain prom-client.
  const storeRefreshes = new Counter({
    name: 'jack_store_refreshes_total',
    help: 'Config store refreshes, by result (ok, failed).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const connectionsRefused = new Counter({
    name: 'jack_connections_refused_total',
    help: 'TCP connections closed at once because the listener had its maximum open (GRPC_MAX_CONNECTIONS, HTTP_MAX_CONNECTIONS), by listener (grpc, http).',
    labelNames: ['listener'] as const,
    registers: [registry],
  });
  const duplicates = new Counter({
    name: 'jack_backend_duplicates_total',
    help: 'Publishes the broker acknowledged as a duplicate of a job id it already stored, by priority.',
    labelNames: ['priority'] as const,
    registers: [registry],
  });
  const health = new Gauge({
    name: 'jack_health_serving',
    help: "1 when the service is SERVING, 0 otherwise; service '' is the whole server.",
    labelNames: ['service'] as const,
    registers: [registry],
  });
  const admitted = hot(
    new HotCounter(
      'jack_admission_admitted_jobs_total',
      "Jobs let through admission control (SPEC §8), by producer ('(unregistered)' for unregistered producers).",
      ['producer'],
    ),
  );
  const rejected = hot(
    new HotCounter(
      'jack_admission_rejected_jobs_total',
      'Jobs refused by admission control, by producer and reason (unregistered, rate_limited).',
      ['producer', 'reason'],
    ),
  );
  const fallback = new Gauge({
    name: 'jack_rate_limiter_fallback',
    help: '1 while the shared (Redis) rate limiter is unreachable and each replica limits on its own.',
    registers: [registry],
  });
  const transitions = hot(
    new HotCounter(
      'jack_job_transitions_total',
      'Job ledger records entering a state (SPEC §14), counted by the replica that wrote the change.',
      ['state'],
    ),
  );
  const pickup = hot(
    new HotHistogram(
      'jack_job_pickup_latency_seconds',
      "Seconds from QUEUED (or run_at) to a worker's first RUNNING report, by priority; edges at each lane's promise (5, 15, 60, 300 s).",
      ['priority'],
      PICKUP_LATENCY_BUCKETS,
    ),
  );
  const ledgerWriteFailures = new Counter({
    name: 'jack_ledger_write_failures_total',
    help: 'Job ledger records that could not be written within LEDGER_WRITE_TIMEOUT (they wait in the buffer).',
    registers: [registry],
  });
  const ledgerBuffer = new Gauge({
    name: 'jack_ledger_buffer_records',
    help: 'Job ledger records waiting in the in-process buffer for the ledger to come back.',
    registers: [registry],
  });
  const ledgerDropped = new Counter({
    name: 'jack_ledger_dropped_records_total',
    help: 'Job ledger records dropped because the buffer (LEDGER_BUFFER) was full, oldest first.',
    registers: [registry],
  });
  const scheduledWaiting = new Gauge({
    name: 'jack_scheduled_jobs_waiting',
    help: 'Future jobs the ledger scheduler (SCHEDULER=ledger) holds, as last counted by this replica.',
    registers: [registry],
  });
  const lateness = new Histogram({
    name: 'jack_scheduled_lateness_seconds',
    help: "Seconds from a scheduled job's run_at until the ledger scheduler published it (SPEC §16: within 1 s at p99).",
    buckets: SCHEDULE_LATENESS_BUCKETS,
    registers: [registry],
  });
  const producerLabels = new Set<string>();
  const producerLabel = (producer: string): string => {
    if (producerLabels.has(producer)) return producer;
    if (producerLabels.size >= MAX_PRODUCER_LABELS) return '(other)';
    producerLabels.add(producer);
    return producer;
  };
  // Series that exist from the start, so dashboards see zeros, not gaps.
  for (const method of ['Enqueue', 'EnqueueBulk']) {
    calls.child(method, 'OK');
    callSeconds.child(method, 'OK');
  }
  for (const priority of PRIORITIES) {
    for (const outcome of ['published', 'scheduled', 'failed']) jobs.child(priority, outcome);
    publishSeconds.child(priority, 'ok');
  }
  jobs.child('none', 'refused');
  for (const outcome of IDEMPOTENCY_OUTCOMES) idempotency.child(outcome);
  bulkSizes.child();
  for (const state of JOB_STATE_LABELS) transitions.child(state);
  for (const priority of PRIORITIES) pickup.child(priority);
  storeRefreshes.labels('ok');
  storeRefreshes.labels('failed');

  return {
    callFinished(method, code, seconds) {
      calls.child(method, code).inc();
      if (method === 'Enqueue' || method === 'EnqueueBulk') {
        callSeconds.child(method, code).observe(seconds);
      }
    },
    jobFinished(priority: Priority | undefined, outcome: JobOutcome) {
      jobs.child(priority ?? 'none', outcome).inc();
    },
    publishFinished(priority, ok, seconds) {
      publishSeconds.child(priority, ok ? 'ok' : 'failed').observe(seconds);
    },
    // Already counted by jobFinished and publishFinished; the per-producer
    // and per-job-type detail stays out of Prometheus to bound cardinality.
    jobDispatched() {},
    legacyRouted() {},
    scheduleFinished() {},
    bulkSize(count) {
      bulkSizes.child().observe(count);
    },
    connectionRefused(listener) {
      connectionsRefused.labels(listener).inc();
    },
    storeRefreshed(ok) {
      storeRefreshes.labels(ok ? 'ok' : 'failed').inc();
    },
    duplicatePublished(priority) {
      duplicates.labels(priority).inc();
    },
    healthChanged(service, serving) {
      health.labels(service).set(serving ? 1 : 0);
    },
    jobsAdmitted(producer, count) {
      admitted.child(producerLabel(producer)).inc(count);
    },
    jobsRejected(producer, reason, count) {
      rejected.child(producerLabel(producer), reason).inc(count);
    },
    rateLimiterFallback(active) {
      fallback.set(active ? 1 : 0);
    },
    idempotencyAnswered(outcome) {
      idempotency.child(outcome).inc();
    },
    jobTransition(state) {
      transitions.child(state).inc();
    },
    jobPickedUp(priority, seconds) {
      pickup.child(priority).observe(seconds);
    },
    ledgerWriteFailed(records) {
      ledgerWriteFailures.inc(records);
    },
    ledgerBufferDepth(records) {
      ledgerBuffer.set(records);
    },
    ledgerRecordsDropped(records) {
      ledgerDropped.inc(records);
    },
    scheduledWaiting(jobs) {
      scheduledWaiting.set(jobs);
    },
    scheduledPublished(latenessSeconds) {
      lateness.observe(Math.max(0, latenessSeconds));
    },
  };
}
