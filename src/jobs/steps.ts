/**
 * What Enqueue and EnqueueBulk share: a job prepared for dispatch, the steps
 * that take it there, and how a failure or a cancelled call is reported.
 */
import type { CallContext } from '../context.js';
import { isJackError, JackError, toError } from '../errors.js';
import type { DispatchedJob, Metrics } from '../metrics.js';
import type { OutboundMessage } from '../queue/backend.js';
import type { RoutingLookups } from './routing.js';
import type { Claimed, EnqueueInput } from './types.js';

/** A job ready to dispatch; it is also the job as metrics tag it (no extra object per job). */
export interface Prepared extends DispatchedJob {
  message: OutboundMessage;
  runAt: Date;
}

export const cancelled = () =>
  new JackError('cancelled', 'the call was cancelled before the job was enqueued');

export function throwIfCancelled(ctx: CallContext): void {
  if (ctx.cancelled) throw cancelled();
}

/** The per-job steps of `createEnqueuer`, handed to the bulk path. */
export interface JobSteps {
  /** Validates and routes one job. Throws JackError; `warnings` is filled as it goes. */
  prepare(
    input: EnqueueInput,
    ctx: CallContext,
    warnings: string[],
    lookups?: RoutingLookups,
    claimed?: Claimed,
  ): Prepared;
  /** Hands a prepared job to the scheduler or the backend; resolves once accepted. */
  dispatch(prepared: Prepared): Promise<void>;
  /** Counts a job refused by admission control (SPEC §8 metrics). */
  noteRefusal(err: unknown, producerId: string): void;
}

export const asJackError = (err: unknown): JackError =>
  isJackError(err)
    ? err
    : new JackError('internal', `enqueue failed: ${toError(err).message}`, { cause: err });

/** Counts a failed dispatch, the same way for Enqueue and EnqueueBulk; returns the error to report. */
export function dispatchFailed(
  metrics: Metrics,
  method: 'Enqueue' | 'EnqueueBulk',
  prepared: Prepared,
  err: unknown,
): JackError {
  metrics.jobDispatched(method, prepared, false, 0);
  return asJackError(err);
}

/**
 * The one rule, and the one place, that records how a job ended
 * (`jobFinished`), for Enqueue, EnqueueBulk and the idempotency step alike.
 * `dispatched` is the job as handed to the backend or scheduler, undefined
 * when it never got there.
 *
 * - accepted: `published`, or `scheduled` for the scheduler
 * - ended before dispatch (checks, key, rate limit, cancelled call):
 *   `refused`, or `failed` when a store Jack needs was unavailable
 * - failed in dispatch: `refused` when the backend or scheduler refused it
 *   (INVALID_ARGUMENT, e.g. too large for a task), else `failed`
 */
export function recordOutcome(
  metrics: Metrics,
  dispatched: Prepared | undefined,
  error: unknown,
): void {
  if (dispatched === undefined) {
    metrics.jobFinished(undefined, isJackError(error, 'unavailable') ? 'failed' : 'refused');
  } else if (error === undefined) {
    metrics.jobFinished(
      dispatched.message.priority,
      dispatched.scheduled ? 'scheduled' : 'published',
    );
  } else {
    metrics.jobFinished(
      dispatched.message.priority,
      isJackError(error, 'invalid_argument') ? 'refused' : 'failed',
    );
  }
}
