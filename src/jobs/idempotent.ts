/**
 * The idempotency step of the enqueuer (SPEC §9), wrapped around it: a job
 * with a key is checked, claims its key (which fixes its job id) before the
 * enqueuer encodes it, and settles the key with the outcome. Jobs without a
 * key pass straight through, so they pay nothing for the feature.
 *
 * EnqueueBulk: keyed jobs claim concurrently, then every job that still
 * needs publishing goes to the enqueuer in one batch. Within one call the
 * first job with a key decides; a later job with the same key gets the
 * first's answer when it is the same request (`duplicate` when the first was
 * accepted), else `idempotency_conflict`, or `in_progress` when the first
 * was not accepted.
 */
import type { CallContext } from '../context.js';
import { isJackError, JackError } from '../errors.js';
import {
  conflictError,
  fingerprintOf,
  type Idempotency,
  inProgressError,
  type Ticket,
} from '../idempotency/idempotency.js';
import { entryKey } from '../idempotency/store.js';
import type { Metrics } from '../metrics.js';
import type { EnqueueInput, EnqueueOutcome, Enqueuer } from './enqueuer.js';
import { asJackError } from './steps.js';

export interface IdempotentDeps {
  idempotency: Idempotency;
  metrics: Metrics;
  /** A fresh job id for a job whose key is new. */
  newJobId(input: EnqueueInput): string;
  /**
   * The enqueuer's authorization and field checks, run before the key is
   * looked at: a bad request is INVALID_ARGUMENT (not a conflict), and a
   * caller learns nothing about the keys of a producer it may not act for.
   */
  check(input: EnqueueInput, ctx: CallContext): void;
}

type Claim = Extract<Ticket, { duplicate: false }>;

const keyOf = (input: EnqueueInput): string | undefined =>
  input.idempotencyKey === undefined || input.idempotencyKey === ''
    ? undefined
    : input.idempotencyKey;

export function withIdempotency(inner: Enqueuer, deps: IdempotentDeps): Enqueuer {
  const { idempotency, metrics, newJobId, check } = deps;

  /** Checks the job and claims its key; a refusal is counted as the enqueuer would. */
  const begin = async (input: EnqueueInput, key: string, ctx: CallContext): Promise<Ticket> => {
    try {
      check(input, ctx);
      return await idempotency.begin(input.producerId, key, input, () => newJobId(input));
    } catch (err) {
      metrics.jobFinished(undefined, isJackError(err, 'unavailable') ? 'failed' : 'refused');
      throw err;
    }
  };

  return {
    enqueue(input, ctx) {
      const key = keyOf(input);
      // Not async: a keyless job gets the enqueuer's own promise, not one
      // wrapped in another (an async function returning a promise costs
      // two more ticks on the hot path).
      return key === undefined ? inner.enqueue(input, ctx) : enqueueKeyed(input, key, ctx);
    },

    enqueueMany(inputs, ctx) {
      return inputs.some((input) => keyOf(input) !== undefined)
        ? enqueueManyKeyed(inputs, ctx)
        : inner.enqueueMany(inputs, ctx);
    },
  };

  async function enqueueKeyed(
    input: EnqueueInput,
    key: string,
    ctx: CallContext,
  ): ReturnType<Enqueuer['enqueue']> {
    const ticket = await begin(input, key, ctx);
    if (ticket.duplicate) return { jobId: ticket.jobId, warnings: [], duplicate: true };
    let result: Awaited<ReturnType<Enqueuer['enqueue']>>;
    try {
      result = await inner.enqueue({ ...input, jobId: ticket.jobId }, ctx);
    } catch (err) {
      await ticket.settle(err);
      throw err;
    }
    await ticket.settle(undefined);
    return result;
  }

  async function enqueueManyKeyed(
    inputs: readonly EnqueueInput[],
    ctx: CallContext,
  ): Promise<EnqueueOutcome[]> {
    const outcomes: EnqueueOutcome[] = new Array(inputs.length);
    const claims: (Claim | undefined)[] = new Array(inputs.length);
    /** Index of the first job of each (producer, key) in this call. */
    const firstOfKey = new Map<string, number>();
    /** [job, first job with its key]. */
    const repeats: [number, number][] = [];
    const beginning: Promise<void>[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i] as EnqueueInput;
      const key = keyOf(input);
      if (key === undefined) continue;
      const scoped = entryKey(input.producerId, key);
      const first = firstOfKey.get(scoped);
      if (first !== undefined) {
        repeats.push([i, first]);
        continue;
      }
      firstOfKey.set(scoped, i);
      beginning.push(
        begin(input, key, ctx).then(
          (ticket) => {
            if (ticket.duplicate) {
              outcomes[i] = {
                jobId: ticket.jobId,
                warnings: [],
                error: undefined,
                duplicate: true,
              };
            } else {
              claims[i] = ticket;
            }
          },
          (err: unknown) => {
            outcomes[i] = { jobId: '', warnings: [], error: asJackError(err) };
          },
        ),
      );
    }
    await Promise.all(beginning);

    // Jobs without a key, and keyed jobs that claimed their key, in one batch.
    const forward: EnqueueInput[] = [];
    const forwardIndex: number[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i] as EnqueueInput;
      const claim = claims[i];
      if (keyOf(input) === undefined) forward.push(input);
      else if (claim !== undefined) forward.push({ ...input, jobId: claim.jobId });
      else continue;
      forwardIndex.push(i);
    }
    if (forward.length > 0) {
      let forwarded: EnqueueOutcome[];
      try {
        forwarded = await inner.enqueueMany(forward, ctx);
      } catch (err) {
        // The batch failed as a whole (the call was cancelled). A scheduled
        // job may have gone out all the same, so the outcome is unknown: a
        // retry reuses the job ids rather than risk a second job.
        const unknown = new JackError('unavailable', 'the outcome of the batch is unknown', {
          cause: err,
        });
        await Promise.all(claims.map((claim) => claim?.settle(unknown)));
        throw err;
      }
      forwarded.forEach((outcome, k) => {
        outcomes[forwardIndex[k] as number] = outcome;
      });
    }
    await Promise.all(claims.map((claim, i) => claim?.settle(outcomes[i]?.error)));

    for (const [i, first] of repeats) {
      outcomes[i] = repeatOutcome(
        ctx,
        inputs[i] as EnqueueInput,
        inputs[first] as EnqueueInput,
        outcomes[first] as EnqueueOutcome,
      );
    }
    return outcomes;
  }

  /** The answer for a job whose key an earlier job of the same call used. */
  function repeatOutcome(
    ctx: CallContext,
    input: EnqueueInput,
    first: EnqueueInput,
    firstOutcome: EnqueueOutcome,
  ): EnqueueOutcome {
    try {
      check(input, ctx);
    } catch (err) {
      metrics.jobFinished(undefined, 'refused');
      return { jobId: '', warnings: [], error: asJackError(err) };
    }
    const fail = (error: JackError): EnqueueOutcome => ({ jobId: '', warnings: [], error });
    if (fingerprintOf(input) === fingerprintOf(first)) {
      if (firstOutcome.error !== undefined) return fail(firstOutcome.error);
      metrics.idempotencyAnswered('duplicate');
      return { jobId: firstOutcome.jobId, warnings: [], error: undefined, duplicate: true };
    }
    if (firstOutcome.error === undefined) {
      metrics.idempotencyAnswered('conflict');
      return fail(conflictError(keyOf(input) ?? '', firstOutcome.jobId));
    }
    metrics.idempotencyAnswered('in_progress');
    return fail(inProgressError());
  }
}
