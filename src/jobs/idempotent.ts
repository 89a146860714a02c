/**
 * The idempotency step of the enqueue path (SPEC §9), composed around it in
 * app.ts: a job with a key is checked, claims its key (which fixes its job
 * id) before the path encodes it, and settles the key with the outcome. Jobs
 * without a key pass straight through, so they pay nothing for the feature.
 * A call cancelled before publishing releases its keys, Enqueue and
 * EnqueueBulk alike (nothing was published).
 *
 * EnqueueBulk: keyed jobs claim concurrently, then every job that still
 * needs publishing goes to the enqueuer in one batch. A key used again later
 * in the same call waits for its earlier use to settle and is then answered
 * by the store, as a separate call would be.
 */
import type { CallContext } from '../context.js';
import type { Idempotency, Ticket } from '../idempotency/idempotency.js';
import { entryKey } from '../idempotency/store.js';
import type { Metrics } from '../metrics.js';
import { asJackError, recordOutcome } from './steps.js';
import type { Claimed, EnqueueInput, EnqueueOutcome, Enqueuer, JobPath } from './types.js';

export interface IdempotentDeps {
  idempotency: Idempotency;
  metrics: Metrics;
}

type Claim = Extract<Ticket, { duplicate: false }>;

const keyOf = (input: EnqueueInput): string | undefined =>
  input.idempotencyKey === undefined || input.idempotencyKey === ''
    ? undefined
    : input.idempotencyKey;

export function withIdempotency(inner: JobPath, deps: IdempotentDeps): Enqueuer {
  const { idempotency, metrics } = deps;

  /**
   * Checks the job, then claims its key; a refusal is counted as the path
   * would. The check comes first: a bad request is INVALID_ARGUMENT (not a
   * conflict), and a caller learns nothing about the keys of a producer it
   * may not act for.
   */
  const begin = async (input: EnqueueInput, key: string, ctx: CallContext): Promise<Ticket> => {
    try {
      inner.check(input, ctx);
      return await idempotency.begin(input.producerId, key, input, () => inner.newJobId(input));
    } catch (err) {
      recordOutcome(metrics, undefined, err);
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
      result = await inner.enqueue(input, ctx, { jobId: ticket.jobId });
    } catch (err) {
      await ticket.settle(err);
      throw err;
    }
    await ticket.settle(undefined);
    return result;
  }

  /**
   * The n-th use of a key in this call goes in round n: a round claims its
   * keys concurrently, publishes in one batch and settles, so a repeated key
   * is answered by what the store holds once the earlier use has settled, as
   * if the calls had been made one after the other (SPEC §9).
   */
  async function enqueueManyKeyed(
    inputs: readonly EnqueueInput[],
    ctx: CallContext,
  ): Promise<EnqueueOutcome[]> {
    const outcomes: EnqueueOutcome[] = new Array(inputs.length);
    const rounds: number[][] = [[]];
    const uses = new Map<string, number>();
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i] as EnqueueInput;
      const key = keyOf(input);
      if (key === undefined) {
        (rounds[0] as number[]).push(i);
        continue;
      }
      const scoped = entryKey(input.producerId, key);
      const use = uses.get(scoped) ?? 0;
      uses.set(scoped, use + 1);
      if (use === rounds.length) rounds.push([]);
      (rounds[use] as number[]).push(i);
    }
    for (const round of rounds) await enqueueRound(inputs, round, outcomes, ctx);
    return outcomes;
  }

  /** Claims the keys of the jobs at `indexes`, publishes what claimed, settles; fills `outcomes`. */
  async function enqueueRound(
    inputs: readonly EnqueueInput[],
    indexes: readonly number[],
    outcomes: EnqueueOutcome[],
    ctx: CallContext,
  ): Promise<void> {
    const claims = new Map<number, Claim>();
    await Promise.all(
      indexes.map(async (i) => {
        const input = inputs[i] as EnqueueInput;
        const key = keyOf(input);
        if (key === undefined) return;
        try {
          const ticket = await begin(input, key, ctx);
          if (ticket.duplicate) {
            outcomes[i] = { jobId: ticket.jobId, warnings: [], error: undefined, duplicate: true };
          } else {
            claims.set(i, ticket);
          }
        } catch (err) {
          outcomes[i] = { jobId: '', warnings: [], error: asJackError(err) };
        }
      }),
    );

    // Jobs without a key, and keyed jobs that claimed their key, in one batch.
    const forward: EnqueueInput[] = [];
    const forwardClaims: (Claimed | undefined)[] = [];
    const forwardIndex: number[] = [];
    for (const i of indexes) {
      const input = inputs[i] as EnqueueInput;
      const claim = claims.get(i);
      if (keyOf(input) !== undefined && claim === undefined) continue;
      forward.push(input);
      forwardClaims.push(claim === undefined ? undefined : { jobId: claim.jobId });
      forwardIndex.push(i);
    }
    if (forward.length === 0) return;
    let forwarded: EnqueueOutcome[];
    try {
      forwarded = await inner.enqueueMany(forward, ctx, forwardClaims);
    } catch (err) {
      // The batch failed as a whole: the call was cancelled before anything
      // was published. Settled with that error, as Enqueue settles its key:
      // a definite failure releases the keys.
      await Promise.all([...claims.values()].map((claim) => claim.settle(err)));
      throw err;
    }
    forwarded.forEach((outcome, k) => {
      outcomes[forwardIndex[k] as number] = outcome;
    });
    await Promise.all([...claims].map(([i, claim]) => claim.settle(outcomes[i]?.error)));
  }
}
