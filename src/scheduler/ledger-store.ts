/**
 * Where the ledger scheduler (SPEC §16) keeps future jobs: the SCHEDULED
 * ledger record and the whole message it will publish, changed together.
 * `ledger-postgres.ts`: shared by every replica, survives restarts, each due
 * job claimed by one replica under a row lock; `ledger-memory.ts`: this
 * replica only, lost at exit.
 *
 * Errors are JackErrors: `unavailable` when the store cannot be reached,
 * `resource_exhausted` when a bounded store is full.
 */
import { Queue } from '../gen/jack/storage.js';
import { type AcceptedJob, JobState } from '../ledger/ledger.js';
import type { OutboundMessage, Priority } from '../queue/backend.js';

/** A job due to be published: its message, and when it was due. */
export interface DueJob {
  message: OutboundMessage;
  runAt: Date;
}

/** A future job: what is published when it is due, and its ledger record. */
export interface ScheduledJob extends DueJob {
  record: AcceptedJob;
}

/** The outcome of publishing one claimed job: its message id, or the failure (it stays scheduled). */
export type PublishOutcome = { messageId: string } | { error: unknown };

export interface ScheduleStore {
  readonly kind: 'memory' | 'postgres';
  /**
   * Writes the SCHEDULED record and its message in one step. A job id the
   * ledger already knows (scheduled before, fired, cancelled) is left as it
   * is: answers false.
   */
  add(job: ScheduledJob): Promise<boolean>;
  /**
   * SCHEDULED → CANCELLED and the message dropped, in one step. False when
   * the job is not waiting: unknown, already published or cancelled, or
   * being published right now (then it is published, never cancelled).
   */
  cancel(jobId: string, at: Date): Promise<boolean>;
  /**
   * Claims up to `limit` jobs due at `now` that no one else holds, hands
   * them to `publish`, and — for each one published — records QUEUED and
   * drops the message, atomically with the claim. A job whose publish
   * failed stays SCHEDULED. Answers how many were claimed.
   */
  fireDue(
    now: Date,
    limit: number,
    publish: (jobs: readonly DueJob[]) => Promise<PublishOutcome[]>,
  ): Promise<number>;
  /** The run_at of the earliest waiting job (perhaps held by another replica). */
  nextRunAt(): Promise<Date | undefined>;
  /** How many jobs wait. */
  waiting(): Promise<number>;
  /**
   * Calls `listener` with the run_at of a job another replica added that is
   * due soon, so this replica can wake for it too. Returns the unsubscribe.
   */
  onSoon(listener: (runAt: Date) => void): () => void;
  /** Resolves when the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const QUEUE_OF_PRIORITY: Readonly<Record<Priority, Queue>> = {
  immediate: Queue.QUEUE_IMMEDIATE,
  high: Queue.QUEUE_HIGH,
  medium: Queue.QUEUE_MEDIUM,
  low: Queue.QUEUE_LOW,
};

/**
 * The SCHEDULED record of a message, from its attributes (SPEC §3): they
 * carry every fact of the job the ledger keeps.
 */
export function recordOfMessage(
  message: OutboundMessage,
  runAt: Date,
  payloadBytes: number,
): AcceptedJob {
  const a = message.attributes;
  const createdAt = a.created_at === undefined ? new Date() : new Date(a.created_at);
  return {
    jobId: message.jobId,
    producerId: a.producer_id ?? '',
    jobType: a.job_type ?? '',
    queue: QUEUE_OF_PRIORITY[message.priority],
    state: JobState.JOB_STATE_SCHEDULED,
    createdAt: Number.isNaN(createdAt.getTime()) ? new Date() : createdAt,
    runAt,
    maxRetries: Number(a.max_retries ?? 0) || 0,
    traceId: a.trace_id ?? '',
    correlationId: a.correlation_id ?? '',
    shadow: a.shadow === 'true',
    messageId: '',
    payloadBytes,
  };
}
