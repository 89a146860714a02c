import { describe, expect, it } from 'vitest';
import { Queue } from '../gen/jack/storage.js';
import { type Metrics, noopMetrics } from '../metrics.js';
import { type AcceptedJob, type Job, type JobReport, JobState } from './ledger.js';
import {
  applyAccepted,
  applyCancel,
  applyReport,
  asSeenWithExternalScheduler,
  cutUtf8,
  isTerminal,
  LAST_ERROR_MAX_BYTES,
  observeTransition,
  recordOfAccepted,
  transitionOf,
} from './rules.js';

const S = JobState;
const T0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function accepted(overrides: Partial<AcceptedJob> = {}): AcceptedJob {
  return {
    jobId: 'job-1',
    producerId: 'billing',
    jobType: 'invoice.email',
    queue: Queue.QUEUE_HIGH,
    state: S.JOB_STATE_QUEUED,
    createdAt: T0,
    runAt: T0,
    maxRetries: 2,
    traceId: 'trace',
    correlationId: 'corr',
    shadow: false,
    messageId: 'm-1',
    payloadBytes: 12,
    ...overrides,
  };
}

function report(state: JobState, attempt: number, overrides: Partial<JobReport> = {}): JobReport {
  return {
    jobId: 'job-1',
    producerId: 'billing',
    jobType: 'invoice.email',
    state,
    attempt,
    error: '',
    worker: 'w1',
    queue: Queue.QUEUE_HIGH,
    ...overrides,
  };
}

/** Applies reports in order to a fresh queued record; answers the last outcome. */
function run(...reports: JobReport[]) {
  let record: Job = recordOfAccepted(accepted());
  let outcome = { record, changed: false };
  reports.forEach((r, i) => {
    outcome = applyReport(record, r, at(i + 1));
    record = outcome.record;
  });
  return outcome;
}

describe('recordOfAccepted', () => {
  it('starts a record with no attempt, updated when created', () => {
    const record = recordOfAccepted(accepted({ state: S.JOB_STATE_SCHEDULED, runAt: at(60) }));
    expect(record).toMatchObject({
      state: S.JOB_STATE_SCHEDULED,
      attempts: 0,
      createdAt: T0,
      updatedAt: T0,
      runAt: at(60),
      maxRetries: 2,
      lastError: '',
      worker: '',
      startedAt: undefined,
      finishedAt: undefined,
      messageId: 'm-1',
      payloadBytes: 12,
    });
  });
});

describe('applyReport', () => {
  it('RUNNING of attempt 1 starts the attempt: attempts, started_at, updated_at, worker', () => {
    const { record, changed } = run(report(S.JOB_STATE_RUNNING, 1));
    expect(changed).toBe(true);
    expect(record).toMatchObject({
      state: S.JOB_STATE_RUNNING,
      attempts: 1,
      startedAt: at(1),
      updatedAt: at(1),
      worker: 'w1',
      finishedAt: undefined,
    });
  });

  it('SUCCEEDED after RUNNING finishes the job', () => {
    const { record, changed } = run(
      report(S.JOB_STATE_RUNNING, 1),
      report(S.JOB_STATE_SUCCEEDED, 1, { worker: 'w2' }),
    );
    expect(changed).toBe(true);
    expect(record).toMatchObject({
      state: S.JOB_STATE_SUCCEEDED,
      attempts: 1,
      startedAt: at(1),
      finishedAt: at(2),
      updatedAt: at(2),
      worker: 'w2',
    });
  });

  it('never changes a terminal record (SUCCEEDED, DEAD, CANCELLED)', () => {
    for (const end of [S.JOB_STATE_SUCCEEDED, S.JOB_STATE_DEAD]) {
      const done = run(report(S.JOB_STATE_RUNNING, 1), report(end, 1)).record;
      for (const next of [report(S.JOB_STATE_RUNNING, 2), report(S.JOB_STATE_FAILED, 5)]) {
        expect(applyReport(done, next, at(10))).toEqual({ record: done, changed: false });
      }
    }
    const cancelled = applyCancel(recordOfAccepted(accepted()), at(1))?.record as Job;
    expect(applyReport(cancelled, report(S.JOB_STATE_RUNNING, 1), at(2))).toEqual({
      record: cancelled,
      changed: false,
    });
  });

  it('refuses an attempt lower than the record’s as stale', () => {
    const second = run(report(S.JOB_STATE_RUNNING, 1), report(S.JOB_STATE_RUNNING, 2)).record;
    expect(second.attempts).toBe(2);
    const stale = applyReport(second, report(S.JOB_STATE_SUCCEEDED, 1), at(9));
    expect(stale).toEqual({ record: second, changed: false });
  });

  it('FAILED is final for its attempt: a later report of that attempt is refused', () => {
    // FAILED is final for attempt 1: neither RUNNING nor SUCCEEDED of attempt 1 changes it.
    const failed = run(report(S.JOB_STATE_RUNNING, 1), report(S.JOB_STATE_FAILED, 1)).record;
    expect(failed.state).toBe(S.JOB_STATE_FAILED);
    expect(applyReport(failed, report(S.JOB_STATE_RUNNING, 1), at(9)).changed).toBe(false);
    expect(applyReport(failed, report(S.JOB_STATE_SUCCEEDED, 1), at(9)).changed).toBe(false);
  });

  it('a repeated RUNNING of the same attempt changes nothing', () => {
    const running = run(report(S.JOB_STATE_RUNNING, 1)).record;
    expect(applyReport(running, report(S.JOB_STATE_RUNNING, 1, { worker: 'w9' }), at(5))).toEqual({
      record: running,
      changed: false,
    });
  });

  it('a higher attempt starts a new one, even when its RUNNING was lost', () => {
    const failed = run(report(S.JOB_STATE_RUNNING, 1), report(S.JOB_STATE_FAILED, 1)).record;
    const { record, changed } = applyReport(failed, report(S.JOB_STATE_SUCCEEDED, 2), at(7));
    expect(changed).toBe(true);
    expect(record).toMatchObject({
      state: S.JOB_STATE_SUCCEEDED,
      attempts: 2,
      startedAt: at(7),
      finishedAt: at(7),
    });
  });

  it('records FAILED on the last allowed attempt (≥ 1 + max_retries) as DEAD', () => {
    // maxRetries 2: attempts 1 and 2 may fail and be retried, attempt 3 is the last.
    const second = run(report(S.JOB_STATE_RUNNING, 2), report(S.JOB_STATE_FAILED, 2)).record;
    expect(second.state).toBe(S.JOB_STATE_FAILED);
    const last = run(report(S.JOB_STATE_RUNNING, 3), report(S.JOB_STATE_FAILED, 3)).record;
    expect(last.state).toBe(S.JOB_STATE_DEAD);
    expect(last.finishedAt).toEqual(at(2));
    const beyond = run(report(S.JOB_STATE_FAILED, 4)).record;
    expect(beyond.state).toBe(S.JOB_STATE_DEAD);
  });

  it('keeps DEAD as reported on any attempt (a NonRetryableError)', () => {
    const { record } = run(report(S.JOB_STATE_RUNNING, 1), report(S.JOB_STATE_DEAD, 1));
    expect(record.state).toBe(S.JOB_STATE_DEAD);
    expect(isTerminal(record.state)).toBe(true);
  });

  it('creates the record of an unknown job from the report', () => {
    const { record, changed } = applyReport(
      undefined,
      report(S.JOB_STATE_RUNNING, 2, { queue: Queue.QUEUE_LOW, worker: 'w7' }),
      at(3),
    );
    expect(changed).toBe(true);
    expect(record).toMatchObject({
      jobId: 'job-1',
      producerId: 'billing',
      jobType: 'invoice.email',
      queue: Queue.QUEUE_LOW,
      state: S.JOB_STATE_RUNNING,
      attempts: 2,
      createdAt: at(3),
      updatedAt: at(3),
      startedAt: at(3),
      worker: 'w7',
      maxRetries: 0,
      finishedAt: undefined,
    });
  });

  it('keeps FAILED of a record created from a report (its max_retries is unknown)', () => {
    const first = applyReport(undefined, report(S.JOB_STATE_FAILED, 1), at(1)).record;
    expect(first.state).toBe(S.JOB_STATE_FAILED);
    const later = applyReport(first, report(S.JOB_STATE_FAILED, 30), at(2)).record;
    expect(later.state).toBe(S.JOB_STATE_FAILED);
  });

  it('a terminal report for an unknown job is finished at once', () => {
    const { record } = applyReport(undefined, report(S.JOB_STATE_SUCCEEDED, 1), at(4));
    expect(record.finishedAt).toEqual(at(4));
  });

  it('keeps the last error of a failure, cut to 1024 bytes at a character boundary', () => {
    const long = `${'é'.repeat(600)}`; // 1200 bytes
    const { record } = run(
      report(S.JOB_STATE_RUNNING, 1),
      report(S.JOB_STATE_FAILED, 1, { error: long }),
    );
    expect(Buffer.byteLength(record.lastError)).toBe(1024);
    expect(record.lastError).toBe('é'.repeat(512));
    // A later RUNNING and SUCCEEDED keep it; a later failure replaces it.
    const next = applyReport(record, report(S.JOB_STATE_RUNNING, 2), at(5)).record;
    expect(next.lastError).toBe(record.lastError);
    const again = applyReport(next, report(S.JOB_STATE_FAILED, 2, { error: 'boom' }), at(6));
    expect(again.record.lastError).toBe('boom');
  });

  it('refuses a state a worker may not report, and an attempt below 1', () => {
    const record = recordOfAccepted(accepted());
    for (const state of [S.JOB_STATE_QUEUED, S.JOB_STATE_CANCELLED, S.JOB_STATE_UNSPECIFIED]) {
      expect(() => applyReport(record, report(state, 1), at(1))).toThrow(/cannot be reported/);
    }
    expect(() => applyReport(record, report(S.JOB_STATE_RUNNING, 0), at(1))).toThrow(/below 1/);
  });

  it('a SCHEDULED record takes its first RUNNING like a queued one', () => {
    const scheduled = recordOfAccepted(accepted({ state: S.JOB_STATE_SCHEDULED }));
    const { record } = applyReport(scheduled, report(S.JOB_STATE_RUNNING, 1), at(1));
    expect(record.state).toBe(S.JOB_STATE_RUNNING);
  });
});

describe('cutUtf8', () => {
  it('leaves a short text alone and never splits a character', () => {
    expect(cutUtf8('short')).toBe('short');
    expect(cutUtf8('a'.repeat(2000))).toHaveLength(LAST_ERROR_MAX_BYTES);
    // 4-byte characters (surrogate pairs): 1023 bytes of 'a' leave no room for one.
    const text = `${'a'.repeat(1023)}😀`;
    expect(cutUtf8(text)).toBe('a'.repeat(1023));
    expect(cutUtf8('😀😀😀', 9)).toBe('😀😀');
    expect(cutUtf8('€€€', 8)).toBe('€€');
  });
});

describe('applyCancel', () => {
  it('cancels a record that is not terminal, finished now', () => {
    const running = run(report(S.JOB_STATE_RUNNING, 1)).record;
    const outcome = applyCancel(running, at(9));
    expect(outcome).toMatchObject({
      changed: true,
      record: { state: S.JOB_STATE_CANCELLED, finishedAt: at(9), updatedAt: at(9) },
    });
  });

  it('leaves a terminal record as it is and knows nothing of an unknown job', () => {
    const done = run(report(S.JOB_STATE_RUNNING, 1), report(S.JOB_STATE_SUCCEEDED, 1)).record;
    expect(applyCancel(done, at(9))).toEqual({ record: done, changed: false });
    expect(applyCancel(undefined, at(9))).toBeUndefined();
  });
});

describe('applyAccepted', () => {
  it('creates a new record, and leaves an enqueued one unchanged when written again', () => {
    const first = applyAccepted(undefined, accepted());
    expect(first.changed).toBe(true);
    const again = applyAccepted(first.record, accepted({ messageId: 'other' }));
    expect(again).toEqual({ record: first.record, changed: false });
  });

  it('fills in the enqueue’s facts of a record created from a report, keeping its state', () => {
    const fromReport = applyReport(undefined, report(S.JOB_STATE_RUNNING, 1), at(5)).record;
    const { record, changed } = applyAccepted(fromReport, accepted());
    expect(changed).toBe(true);
    expect(record).toMatchObject({
      state: S.JOB_STATE_RUNNING,
      attempts: 1,
      createdAt: T0,
      maxRetries: 2,
      traceId: 'trace',
      messageId: 'm-1',
      payloadBytes: 12,
      startedAt: at(5),
    });
  });
});

describe('asSeenWithExternalScheduler', () => {
  it('reads a SCHEDULED record whose run_at passed as QUEUED', () => {
    const scheduled = recordOfAccepted(accepted({ state: S.JOB_STATE_SCHEDULED, runAt: at(60) }));
    expect(asSeenWithExternalScheduler(scheduled, at(59)).state).toBe(S.JOB_STATE_SCHEDULED);
    expect(asSeenWithExternalScheduler(scheduled, at(60)).state).toBe(S.JOB_STATE_QUEUED);
  });
});

describe('transitions and pickup latency', () => {
  it('measures pickup from QUEUED (or a later run_at) to the first RUNNING, by priority', () => {
    const queued = recordOfAccepted(accepted({ runAt: at(10) }));
    const running = applyReport(queued, report(S.JOB_STATE_RUNNING, 1), at(14)).record;
    expect(transitionOf(queued, running, at(14))).toEqual({
      state: 'running',
      pickup: { priority: 'high', seconds: 4 },
    });
    const seen: string[] = [];
    const metrics: Metrics = {
      ...noopMetrics,
      jobTransition: (state) => seen.push(state),
      jobPickedUp: (priority, seconds) => seen.push(`${priority}:${seconds}`),
    };
    observeTransition(metrics, queued, running, at(14));
    expect(seen).toEqual(['running', 'high:4']);
  });

  it('gives no pickup for a retry, a record created from a report, or a new record', () => {
    const first = run(report(S.JOB_STATE_RUNNING, 1), report(S.JOB_STATE_FAILED, 1)).record;
    const retry = applyReport(first, report(S.JOB_STATE_RUNNING, 2), at(9)).record;
    expect(transitionOf(first, retry, at(9)).pickup).toBeUndefined();
    const fromReport = applyReport(undefined, report(S.JOB_STATE_RUNNING, 1), at(9)).record;
    expect(transitionOf(undefined, fromReport, at(9)).pickup).toBeUndefined();
    expect(transitionOf(undefined, recordOfAccepted(accepted()), T0)).toEqual({
      state: 'queued',
      pickup: undefined,
    });
  });
});
