import type { Priority } from './queue/backend.js';

/** What happened to one job. */
export type JobOutcome = 'published' | 'scheduled' | 'refused' | 'failed';

/** A routed job as the Go service's DogStatsD metrics tag it (SPEC §12). */
export interface RoutedJob {
  producerId: string;
  jobType: string;
  priority: Priority;
}

/** A routed job handed to the backend or, when `scheduled`, to the scheduler. */
export interface DispatchedJob extends RoutedJob {
  scheduled: boolean;
  payloadBytes: number;
}

/** Why the scheduler did not take a job: too big for it, or it failed to store it. */
export type ScheduleFailure = 'too_large' | 'create';

/**
 * What an idempotency key did to one job (SPEC §9): claimed (new key),
 * retried (same job id after an unknown outcome), duplicate (answered from
 * the key), conflict, in_progress, store_error (the store failed).
 */
export type IdempotencyOutcome =
  | 'claimed'
  | 'retried'
  | 'duplicate'
  | 'conflict'
  | 'in_progress'
  | 'store_error';

/**
 * What the service reports for monitoring. The Prometheus implementation
 * lives in `metrics/prometheus.ts` and is loaded only when METRICS_PORT is
 * set; otherwise `noopMetrics` costs nothing on the hot path.
 */
export interface Metrics {
  /** One finished RPC: method name (e.g. `Enqueue`), status name, duration. */
  callFinished(method: string, code: string, seconds: number): void;
  /** One job's outcome; priority is undefined when the job failed validation. */
  jobFinished(priority: Priority | undefined, outcome: JobOutcome): void;
  /**
   * Time the backend took to accept one message; `inBulk` when it was part of
   * an EnqueueBulk call (then `seconds` is the whole batch's time).
   */
  publishFinished(priority: Priority, ok: boolean, seconds: number, inBulk?: boolean): void;
  /**
   * One routed job of an `Enqueue` or `EnqueueBulk` call was handed on, with
   * its result; `seconds` runs from the start of the job's enqueue.
   */
  jobDispatched(
    call: 'Enqueue' | 'EnqueueBulk',
    job: DispatchedJob,
    ok: boolean,
    seconds: number,
  ): void;
  /** LEGACY_PAYLOAD_QUEUE_ROUTING took the job's priority from its payload. */
  legacyRouted(job: RoutedJob): void;
  /** The scheduler took one job (ok) or refused it (`failure` says why). */
  scheduleFinished(ok: boolean, seconds: number, failure?: ScheduleFailure): void;
  /** Jobs in one EnqueueBulk call. */
  bulkSize(jobs: number): void;
  /** One refresh of the config store. */
  storeRefreshed(ok: boolean): void;
  /**
   * The broker acknowledged a publish as a duplicate of a job id it already
   * stored (NATS JetStream's duplicate window, SPEC §17): stored once, counted here.
   */
  duplicatePublished(priority: Priority): void;
  /** Current health of one service name ('' is the whole server). */
  healthChanged(service: string, serving: boolean): void;
  /**
   * Jobs let through admission control (SPEC §8), by producer: a registered
   * producer id, or `UNREGISTERED_PRODUCER_LABEL` (bounded cardinality).
   */
  jobsAdmitted(producer: string, count: number): void;
  /** Jobs refused by admission control, by producer (as above) and bulk reason. */
  jobsRejected(producer: string, reason: AdmissionReason, count: number): void;
  /** True while the shared (Redis) rate limiter serves from per-replica buckets. */
  rateLimiterFallback(active: boolean): void;
  /** One job with an idempotency key, or one failed idempotency store operation. */
  idempotencyAnswered(outcome: IdempotencyOutcome): void;
  /** The job ledger (SPEC §14) recorded a job entering `state` (counted once, by the replica that wrote it). */
  jobTransition(state: JobStateLabel): void;
  /** A job's first RUNNING: seconds from QUEUED (or its `run_at`) until a worker picked it up. */
  jobPickedUp(priority: Priority, seconds: number): void;
  /** Ledger records that could not be written in time (they wait in the buffer). */
  ledgerWriteFailed(records: number): void;
  /** Records waiting in the ledger's in-process buffer now. */
  ledgerBufferDepth(records: number): void;
  /** Records dropped because the ledger buffer was full (oldest first). */
  ledgerRecordsDropped(records: number): void;
  /** Future jobs the ledger scheduler (SPEC §16) holds now. */
  scheduledWaiting(jobs: number): void;
  /** A scheduled job published by the ledger scheduler: seconds from its run_at to the publish. */
  scheduledPublished(latenessSeconds: number): void;
  /** A TCP connection closed at once: the listener (`grpc`) had its maximum open. */
  connectionRefused(listener: string): void;
}

/** A job state as a metric label (SPEC §14 `JobState`, lower case). */
export type JobStateLabel =
  | 'scheduled'
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'dead'
  | 'cancelled';

/** Why admission control refused a job (the EnqueueBulk reasons of SPEC §8). */
export type AdmissionReason = 'unregistered' | 'rate_limited';

/** Producer label of jobs from producers that are not registered. */
export const UNREGISTERED_PRODUCER_LABEL = '(unregistered)';

export const noopMetrics: Metrics = {
  callFinished() {},
  jobFinished() {},
  publishFinished() {},
  jobDispatched() {},
  legacyRouted() {},
  scheduleFinished() {},
  bulkSize() {},
  storeRefreshed() {},
  duplicatePublished() {},
  healthChanged() {},
  jobsAdmitted() {},
  jobsRejected() {},
  rateLimiterFallback() {},
  idempotencyAnswered() {},
  jobTransition() {},
  jobPickedUp() {},
  ledgerWriteFailed() {},
  ledgerBufferDepth() {},
  ledgerRecordsDropped() {},
  scheduledWaiting() {},
  scheduledPublished() {},
  connectionRefused() {},
};
