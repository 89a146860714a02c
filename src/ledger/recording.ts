/**
 * Recording in the enqueue path (SPEC §14): the backend and the scheduler,
 * wrapped so that a job is recorded once its backend (QUEUED) or scheduler
 * (SCHEDULED) accepted it, and before the call answers — the wrapped
 * publish resolves only after `recorder.record`, which never rejects and
 * is bounded by LEDGER_WRITE_TIMEOUT. A job the backend refused is never
 * recorded; a duplicate (§9) never reaches the backend, so it records
 * nothing. EnqueueBulk's publishMany records every accepted job of the
 * call in one batch.
 *
 * Everything a record needs travels in the message attributes (SPEC §3),
 * so the enqueue path itself knows nothing of the ledger.
 */
import { Queue } from '../gen/jack/storage.js';
import type { Backend, OutboundMessage, Priority } from '../queue/backend.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { type AcceptedJob, JobState } from './ledger.js';
import type { LedgerRecorder } from './recorder.js';

const QUEUE_OF_PRIORITY: Readonly<Record<Priority, Queue>> = {
  immediate: Queue.QUEUE_IMMEDIATE,
  high: Queue.QUEUE_HIGH,
  medium: Queue.QUEUE_MEDIUM,
  low: Queue.QUEUE_LOW,
};

/**
 * The time an attribute names, parsed once per distinct text: under load
 * many jobs share a millisecond and run_at is usually created_at, so records
 * share one (never mutated) Date instead of parsing and keeping one each.
 */
let lastText: string | undefined;
let lastDate: Date | undefined;
function dateOf(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  if (text !== lastText) {
    const date = new Date(text);
    lastDate = Number.isNaN(date.getTime()) ? undefined : date;
    lastText = text;
  }
  return lastDate;
}

/**
 * The record of an accepted message. `payloadBytes` is the message body: the
 * payload itself in the native format, the Go-compatible envelope in the
 * legacy one.
 */
export function acceptedJobOf(
  message: OutboundMessage,
  state: AcceptedJob['state'],
  messageId: string,
): AcceptedJob {
  const a = message.attributes;
  const createdAt = dateOf(a.created_at) ?? new Date();
  const runAt = dateOf(a.run_at);
  return {
    jobId: message.jobId,
    producerId: a.producer_id ?? '',
    jobType: a.job_type ?? '',
    queue: QUEUE_OF_PRIORITY[message.priority] ?? Queue.QUEUE_UNSPECIFIED,
    state,
    createdAt,
    // run_at = created_at (run now) is no run time of its own.
    runAt:
      runAt !== undefined && runAt !== createdAt && runAt.getTime() !== createdAt.getTime()
        ? runAt
        : undefined,
    maxRetries: Number(a.max_retries ?? 0) || 0,
    traceId: a.trace_id ?? '',
    correlationId: a.correlation_id ?? '',
    shadow: a.shadow === 'true',
    messageId,
    payloadBytes: message.data.length,
  };
}

/** `inner`, recording every job it accepted (QUEUED) before its promise resolves. */
export function recordingBackend(inner: Backend, recorder: LedgerRecorder): Backend {
  return {
    kind: inner.kind,
    // Promise callbacks, not an async frame: once per job (hot path).
    publish(message) {
      return inner
        .publish(message)
        .then((messageId) =>
          recorder
            .record([acceptedJobOf(message, JobState.JOB_STATE_QUEUED, messageId)])
            .then(() => messageId),
        );
    },
    async publishMany(messages) {
      const results = await inner.publishMany(messages);
      const accepted: AcceptedJob[] = [];
      results.forEach((result, i) => {
        const message = messages[i];
        if (result.status === 'fulfilled' && message !== undefined) {
          accepted.push(acceptedJobOf(message, JobState.JOB_STATE_QUEUED, result.value));
        }
      });
      if (accepted.length > 0) await recorder.record(accepted);
      return results;
    },
    check: () => inner.check(),
    close: () => inner.close(),
  };
}

/** `inner`, recording every job it stored (SCHEDULED) before its promise resolves. */
export function recordingScheduler(inner: Scheduler, recorder: LedgerRecorder): Scheduler {
  return {
    kind: inner.kind,
    async schedule(message, runAt, payloadBytes) {
      await inner.schedule(message, runAt, payloadBytes);
      const job = acceptedJobOf(message, JobState.JOB_STATE_SCHEDULED, '');
      await recorder.record([{ ...job, runAt }]);
    },
    cancel: (jobId) => inner.cancel(jobId),
    check: () => inner.check(),
    close: () => inner.close(),
  };
}
