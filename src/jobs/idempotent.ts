/**
 * The idempotency step of the enqueuer (SPEC §9), wrapped around it: a job
 * with a key is checked, claims its key (which fixes its job id) before the
 * enqueuer encodes it, and settles the key with the outcome. Jobs without a
 * key pass straight through, so they pay nothing for the feature.
 *
 * EnqueueBulk: keyed jobs claim concurrently, then every job that still
 * needs publishing goes to the enqueuer in one batch. A key used again later
 * in the same call is answered as if the calls were sequential: the later
 * job claims once the earlier one has settled, so the key's record decides
 * (`duplicate`, `idempotency_conflict`, or a new job when the earlier one
 * failed definitely).
 */
import type { CallContext } from '../context.js';
import { isJackError } from '../errors.js';
import type { Idempotency, Ticket } from '../idempotency/idempotency.js';
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
    // Round r holds the r-th job of each (producer, key) of this call, so a
    // key repeated in one call is answered as if the calls were sequential
    // (SPEC §9): each round claims against what the key's store entry says
    // once the round before has settled. Jobs without a key go in the first.
    const rounds: number[][] = [[]];
    const uses = new Map<string, number>();
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i] as EnqueueInput;
      const key = keyOf(input);
      let round = 0;
      if (key !== undefined) {
        const scoped = entryKey(input.producerId, key);
        round = uses.get(scoped) ?? 0;
        uses.set(scoped, round + 1);
      }
      if (round === rounds.length) rounds.push([]);
      rounds[round]?.push(i);
    }
    for (const round of rounds) await enqueueRound(inputs, round, outcomes, ctx);
    return outcomes;
  }

  /** Claims the keys of one round, enqueues what needs publishing in one batch, settles the keys. */
  async function enqueueRound(
    inputs: readonly EnqueueInput[],
    round: readonly number[],
    outcomes: EnqueueOutcome[],
    ctx: CallContext,
  ): Promise<void> {
    const claims = new Map<number, Claim>();
    await Promise.all(
      round.map((i) => {
        const input = inputs[i] as EnqueueInput;
        const key = keyOf(input);
        if (key === undefined) return undefined;
        return begin(input, key, ctx).then(
          (ticket) => {
            if (ticket.duplicate) {
              outcomes[i] = {
                jobId: ticket.jobId,
                warnings: [],
                error: undefined,
                duplicate: true,
              };
            } else {
              claims.set(i, ticket);
            }
          },
          (err: unknown) => {
            outcomes[i] = { jobId: '', warnings: [], error: asJackError(err) };
          },
        );
      }),
    );

    // Jobs without a key, and keyed jobs that claimed their key, in one batch.
    const forward: EnqueueInput[] = [];
    const forwardIndex: number[] = [];
    for (const i of round) {
      const input = inputs[i] as EnqueueInput;
      const claim = claims.get(i);
      if (keyOf(input) === undefined) forward.push(input);
      else if (claim !== undefined) forward.push({ ...input, jobId: claim.jobId });
      else continue;
      forwardIndex.push(i);
    }
    if (forward.length === 0) return;
    let forwarded: EnqueueOutcome[];
    try {
      forwarded = await inner.enqueueMany(forward, ctx);
    } catch (err) {
      // The batch failed as a whole (the call was cancelled before anything
      // was dispatched): the keys are settled by the same rule as Enqueue's.
      await Promise.all([...claims.values()].map((claim) => claim.settle(err)));
      throw err;
    }
    forwarded.forEach((outcome, k) => {
      outcomes[forwardIndex[k] as number] = outcome;
    });
    await Promise.all([...claims].map(([i, claim]) => claim.settle(outcomes[i]?.error)));
  }
}
