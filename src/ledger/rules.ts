/**
 * The report rules of SPEC §14 as pure functions, shared by every store so
 * that memory and PostgreSQL answer a report identically: a store reads the
 * record (under a row lock when it is shared), calls `applyReport`, and
 * writes the result back only when `changed`.
 */
import { JackError } from '../errors.js';
import { Queue } from '../gen/jack/storage.js';
import type { JobStateLabel, Metrics } from '../metrics.js';
import type { Priority } from '../queue/backend.js';
import { type AcceptedJob, type Job, type JobReport, JobState } from './ledger.js';

/** Most bytes of `last_error` (UTF-8), SPEC §14. */
export const LAST_ERROR_MAX_BYTES = 1024;

const TERMINAL: ReadonlySet<JobState> = new Set([
  JobState.JOB_STATE_SUCCEEDED,
  JobState.JOB_STATE_DEAD,
  JobState.JOB_STATE_CANCELLED,
]);

/** The states a worker may report. */
export const REPORTABLE_STATES: ReadonlySet<JobState> = new Set([
  JobState.JOB_STATE_RUNNING,
  JobState.JOB_STATE_SUCCEEDED,
  JobState.JOB_STATE_FAILED,
  JobState.JOB_STATE_DEAD,
]);

/** SUCCEEDED, DEAD and CANCELLED: a record in one of them never changes again. */
export function isTerminal(state: JobState): boolean {
  return TERMINAL.has(state);
}

/**
 * `text` cut to at most `maxBytes` bytes of UTF-8 without splitting a
 * character (a surrogate pair counts as one character of 4 bytes).
 */
export function cutUtf8(text: string, maxBytes = LAST_ERROR_MAX_BYTES): string {
  // Fast path: every UTF-16 unit is at most 3 bytes.
  if (text.length * 3 <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}

/** The record an accepted job starts as (QUEUED or SCHEDULED, no attempt yet). */
export function recordOfAccepted(job: AcceptedJob): Job {
  return {
    jobId: job.jobId,
    producerId: job.producerId,
    jobType: job.jobType,
    queue: job.queue,
    state: job.state,
    createdAt: job.createdAt,
    runAt: job.runAt,
    updatedAt: job.createdAt,
    attempts: 0,
    maxRetries: job.maxRetries,
    lastError: '',
    worker: '',
    traceId: job.traceId,
    correlationId: job.correlationId,
    shadow: job.shadow,
    messageId: job.messageId,
    startedAt: undefined,
    finishedAt: undefined,
    payloadBytes: job.payloadBytes,
  };
}

/** What a report or a cancel did: the record as it stands, and whether it changed. */
export interface Outcome {
  record: Job;
  changed: boolean;
}

/**
 * Whether a record was created from a worker's report before its enqueue
 * was recorded (a buffered record written late): it does not know its
 * `max_retries` (0), which an enqueued job always has (≥ 1, SPEC §2).
 */
export function createdFromReport(record: Job): boolean {
  return record.maxRetries === 0;
}

/**
 * Recording an accepted job: no record → a new one; a record created from a
 * report → the enqueue's facts filled in (creation time, run_at, retries,
 * trace, correlation, shadow, message id, size), its state and attempts
 * kept; any other record stays as it is (a retried write changes nothing).
 */
export function applyAccepted(record: Job | undefined, job: AcceptedJob): Outcome {
  if (record === undefined) return { record: recordOfAccepted(job), changed: true };
  if (!createdFromReport(record)) return { record, changed: false };
  return {
    changed: true,
    record: {
      ...record,
      createdAt: job.createdAt,
      runAt: job.runAt,
      maxRetries: job.maxRetries,
      traceId: job.traceId,
      correlationId: job.correlationId,
      shadow: job.shadow,
      messageId: job.messageId,
      payloadBytes: job.payloadBytes,
    },
  };
}

/**
 * The state a report is recorded as: FAILED on the last allowed attempt
 * (`attempt` ≥ 1 + `max_retries`) becomes DEAD. A record created from a
 * report does not know its `max_retries` (0: the report does not carry it;
 * an enqueued job always has at least 1, SPEC §2), so its FAILED stays
 * FAILED — the worker, which reads max_retries from the message, reports
 * DEAD itself on the last attempt (§15).
 */
function recordedState(state: JobState, attempt: number, maxRetries: number): JobState {
  if (state === JobState.JOB_STATE_FAILED && maxRetries > 0 && attempt >= 1 + maxRetries) {
    return JobState.JOB_STATE_DEAD;
  }
  return state;
}

/**
 * Applies a worker's report to a record under the §14 rules:
 * - no record: one is created from the report (created now, max_retries unknown);
 * - a terminal record never changes;
 * - an attempt lower than the record's is stale;
 * - a higher attempt starts a new one (whatever its first report is: an
 *   earlier RUNNING may have been lost);
 * - within the record's attempt, RUNNING comes first and SUCCEEDED, FAILED
 *   or DEAD follow it and are final for the attempt;
 * - FAILED on the last allowed attempt is recorded as DEAD.
 * A refused report is not an error: the record comes back unchanged.
 * Throws `invalid_argument` for a state a worker may not report or an
 * attempt below 1 (the service validates first; this is the last guard).
 */
export function applyReport(record: Job | undefined, report: JobReport, at: Date): Outcome {
  if (!REPORTABLE_STATES.has(report.state)) {
    throw new JackError('invalid_argument', `state ${report.state} cannot be reported`);
  }
  if (!Number.isInteger(report.attempt) || report.attempt < 1) {
    throw new JackError('invalid_argument', `attempt ${report.attempt} is below 1`);
  }
  if (record === undefined) {
    const state = recordedState(report.state, report.attempt, 0);
    return {
      changed: true,
      record: {
        jobId: report.jobId,
        producerId: report.producerId,
        jobType: report.jobType,
        queue: report.queue,
        state,
        createdAt: at,
        runAt: undefined,
        updatedAt: at,
        attempts: report.attempt,
        maxRetries: 0,
        lastError: errorOf(report, ''),
        worker: report.worker,
        traceId: '',
        correlationId: '',
        shadow: false,
        messageId: '',
        startedAt: at,
        finishedAt: isTerminal(state) ? at : undefined,
        payloadBytes: 0,
      },
    };
  }
  const unchanged = { record, changed: false };
  if (isTerminal(record.state)) return unchanged;
  if (report.attempt < record.attempts) return unchanged;
  const newAttempt = report.attempt > record.attempts;
  if (!newAttempt) {
    // Same attempt: only the step RUNNING → an end of the attempt is allowed.
    if (record.state !== JobState.JOB_STATE_RUNNING) return unchanged;
    if (report.state === JobState.JOB_STATE_RUNNING) return unchanged;
  }
  const state = recordedState(report.state, report.attempt, record.maxRetries);
  return {
    changed: true,
    record: {
      ...record,
      state,
      attempts: report.attempt,
      updatedAt: at,
      worker: report.worker,
      lastError: errorOf(report, record.lastError),
      startedAt: newAttempt ? at : record.startedAt,
      finishedAt: isTerminal(state) ? at : undefined,
    },
  };
}

/** A failure report replaces `last_error` (cut); other reports keep the last one. */
function errorOf(report: JobReport, previous: string): string {
  const failed =
    report.state === JobState.JOB_STATE_FAILED || report.state === JobState.JOB_STATE_DEAD;
  return failed && report.error !== '' ? cutUtf8(report.error) : previous;
}

/**
 * CancelJob: a record that is not terminal becomes CANCELLED (finished now);
 * a terminal one stays as it is; no record, nothing (undefined).
 */
export function applyCancel(record: Job | undefined, at: Date): Outcome | undefined {
  if (record === undefined) return undefined;
  if (isTerminal(record.state)) return { record, changed: false };
  return {
    changed: true,
    record: { ...record, state: JobState.JOB_STATE_CANCELLED, updatedAt: at, finishedAt: at },
  };
}

/**
 * How a record reads when the job's scheduler is one Jack does not see
 * (Cloud Tasks, SPEC §14): SCHEDULED with `run_at` passed reads as QUEUED.
 * Under the ledger's own scheduler (§16) SCHEDULED stays SCHEDULED until it
 * publishes the job, so the service applies this only with Cloud Tasks.
 */
export function asSeenWithExternalScheduler(record: Job, now: Date): Job {
  if (
    record.state === JobState.JOB_STATE_SCHEDULED &&
    record.runAt !== undefined &&
    record.runAt.getTime() <= now.getTime()
  ) {
    return { ...record, state: JobState.JOB_STATE_QUEUED };
  }
  return record;
}

const PRIORITY_OF_QUEUE: Readonly<Record<number, Priority>> = {
  [Queue.QUEUE_IMMEDIATE]: 'immediate',
  [Queue.QUEUE_HIGH]: 'high',
  [Queue.QUEUE_MEDIUM]: 'medium',
  [Queue.QUEUE_LOW]: 'low',
};

const STATE_LABELS: Readonly<Record<number, JobStateLabel>> = {
  [JobState.JOB_STATE_SCHEDULED]: 'scheduled',
  [JobState.JOB_STATE_QUEUED]: 'queued',
  [JobState.JOB_STATE_RUNNING]: 'running',
  [JobState.JOB_STATE_SUCCEEDED]: 'succeeded',
  [JobState.JOB_STATE_FAILED]: 'failed',
  [JobState.JOB_STATE_DEAD]: 'dead',
  [JobState.JOB_STATE_CANCELLED]: 'cancelled',
};

/** What one applied change means for the metrics (SPEC §14). */
export interface Transition {
  /** The state the record entered. */
  state: JobStateLabel;
  /**
   * Set on the job's first RUNNING after it was queued: its priority and the
   * seconds from QUEUED (or `run_at`, when later) to now.
   */
  pickup: { priority: Priority; seconds: number } | undefined;
}

/**
 * The transition a change from `before` to `after` records. Pickup latency
 * needs the moment the job was queued, so a record created from a report
 * (no enqueue seen) gives none.
 */
export function transitionOf(before: Job | undefined, after: Job, at: Date): Transition {
  const state = STATE_LABELS[after.state] ?? 'queued';
  const firstRun =
    before !== undefined &&
    before.attempts === 0 &&
    (before.state === JobState.JOB_STATE_QUEUED || before.state === JobState.JOB_STATE_SCHEDULED) &&
    after.state === JobState.JOB_STATE_RUNNING;
  if (!firstRun || before.createdAt === undefined) return { state, pickup: undefined };
  const queuedAt = Math.max(before.createdAt.getTime(), before.runAt?.getTime() ?? 0);
  return {
    state,
    pickup: {
      priority: PRIORITY_OF_QUEUE[after.queue] ?? 'medium',
      seconds: Math.max(0, at.getTime() - queuedAt) / 1000,
    },
  };
}

/** Counts an applied change: the state entered and, on a first RUNNING, the pickup latency. */
export function observeTransition(
  metrics: Metrics,
  before: Job | undefined,
  after: Job,
  at: Date,
): void {
  const transition = transitionOf(before, after, at);
  metrics.jobTransition(transition.state);
  if (transition.pickup !== undefined) {
    metrics.jobPickedUp(transition.pickup.priority, transition.pickup.seconds);
  }
}
