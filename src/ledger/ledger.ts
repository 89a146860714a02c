/**
 * The job ledger (SPEC §14): one record per job from enqueue to its end.
 * The queue is the truth, the ledger its record — nothing here may fail an
 * enqueue (the buffered recorder in ./recorder.ts sits between the enqueue
 * path and a store).
 *
 * A store keeps records (`memory.ts`: per replica, bounded; `postgres.ts`:
 * shared by every replica). Report rules (§14) are one pure function,
 * `applyReport` in ./rules.ts, used by both stores.
 *
 * Errors are JackErrors: `unavailable` when the store cannot be reached.
 */
import type { Job, JobState } from '../gen/jack/jobs.js';
import type { Queue } from '../gen/jack/storage.js';

export type { Job } from '../gen/jack/jobs.js';
export { JobState } from '../gen/jack/jobs.js';

/** What the enqueue path records once the backend (or a scheduler) accepted a job. */
export interface AcceptedJob {
  jobId: string;
  producerId: string;
  jobType: string;
  queue: Queue;
  /** QUEUED, or SCHEDULED when a scheduler holds the job. */
  state: JobState.JOB_STATE_QUEUED | JobState.JOB_STATE_SCHEDULED;
  createdAt: Date;
  runAt: Date | undefined;
  maxRetries: number;
  traceId: string;
  correlationId: string;
  shadow: boolean;
  /** The backend's message id, when known ('' otherwise). */
  messageId: string;
  payloadBytes: number;
}

/** A scheduled job its scheduler has just published. */
export interface PublishedJob {
  jobId: string;
  /** The backend's message id ('' when unknown). */
  messageId: string;
}

/** A worker's report (ReportJobStatus), already validated. */
export interface JobReport {
  jobId: string;
  producerId: string;
  jobType: string;
  /** RUNNING, SUCCEEDED, FAILED or DEAD. */
  state: JobState;
  attempt: number;
  /** Already cut to 1024 bytes at a character boundary. */
  error: string;
  worker: string;
  queue: Queue;
}

/** Where a page of ListJobs continues: after this (created_at, job_id), newest first. */
export interface ListCursor {
  createdAt: Date;
  jobId: string;
}

export interface ListJobsQuery {
  producerId: string | undefined;
  jobType: string | undefined;
  /** Empty: every state. */
  states: readonly JobState[];
  createdAfter: Date | undefined;
  createdBefore: Date | undefined;
  includeShadow: boolean;
  /** 1..1000, already clamped. */
  limit: number;
  after: ListCursor | undefined;
}

export interface ListJobsPage {
  jobs: Job[];
  /** Set when more records may follow. */
  next: ListCursor | undefined;
}

export interface LedgerStore {
  /** `memory` or `postgres`, for logs and health. */
  readonly kind: string;
  /** Whether records outlive the process and are shared by replicas. */
  readonly shared: boolean;
  /** Writes accepted jobs in one batch; a job id already recorded is left as it is. */
  recordAccepted(jobs: readonly AcceptedJob[]): Promise<void>;
  /**
   * A scheduler of Jack's own (SPEC §16) published these SCHEDULED jobs: each
   * becomes QUEUED with the backend's message id. A record in any other
   * state (cancelled meanwhile, already reported by a worker) stays as it is.
   */
  recordPublished(published: readonly PublishedJob[], at: Date): Promise<void>;
  /**
   * CancelJob: a record that is not terminal becomes CANCELLED; answers the
   * record as it stands (undefined when unknown).
   */
  cancel(jobId: string, at: Date): Promise<Job | undefined>;
  /** Applies a report under the §14 rules and answers the record as it stands. */
  report(report: JobReport, at: Date): Promise<Job>;
  get(jobId: string): Promise<Job | undefined>;
  list(query: ListJobsQuery): Promise<ListJobsPage>;
  /**
   * Calls `listener` with the id of every job whose record changed — on this
   * replica and, for a shared store, on any other (within 1 s). A new record
   * is no change: nobody can be watching it yet (WatchJob answers NOT_FOUND
   * for a job without a record), and announcing every Enqueue would cost a
   * NOTIFY each. Returns the unsubscribe function.
   */
  onChange(listener: (jobId: string) => void): () => void;
  /** Deletes up to `batchSize` records last changed before `before`; answers how many. */
  deleteExpired(before: Date, batchSize: number): Promise<number>;
  /** Resolves when the store answers; rejects (`unavailable`) when it does not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
