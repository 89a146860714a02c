/**
 * The types every step of the enqueue path shares (SPEC §2, §9). They live
 * here, below the steps, so the path reads one way: app.ts composes
 * idempotent.ts around enqueuer.ts, which uses bulk.ts and steps.ts; each
 * imports only this module of its neighbours' types.
 */
import type { CallContext } from '../context.js';
import type { JackError } from '../errors.js';
import type { CheckedFields } from './validate.js';

export interface EnqueueInput extends CheckedFields {
  /** SPEC §9; '' or absent = none. */
  idempotencyKey?: string;
}

/** Outcome of one job; `error` is set when it was not accepted. */
export interface EnqueueOutcome {
  jobId: string;
  warnings: string[];
  error: JackError | undefined;
  /** True when an idempotency key answered with an earlier job (SPEC §9). */
  duplicate?: boolean;
}

/** The answer to Enqueue: the job id, and `duplicate` when a key answered with an earlier job. */
export interface EnqueueResult {
  jobId: string;
  warnings: string[];
  duplicate?: boolean;
}

export interface Enqueuer {
  /**
   * Enqueues one job; throws its JackError when it was not accepted. A job
   * whose call is cancelled before it reaches the backend is not published.
   */
  enqueue(input: EnqueueInput, ctx: CallContext): Promise<EnqueueResult>;
  /** Enqueues many jobs concurrently; one outcome per input, in order. */
  enqueueMany(inputs: readonly EnqueueInput[], ctx: CallContext): Promise<EnqueueOutcome[]>;
}

/**
 * A job whose idempotency key was claimed: it was checked before the key
 * was looked at, and is published under the id the key owns.
 */
export interface Claimed {
  jobId: string;
}

/**
 * The enqueue path below the idempotency step (enqueuer.ts). Called without
 * claims it is the whole path for jobs without keys; the idempotency step
 * hands it, per job, the claim of its key.
 */
export interface JobPath extends Enqueuer {
  enqueue(input: EnqueueInput, ctx: CallContext, claimed?: Claimed): Promise<EnqueueResult>;
  enqueueMany(
    inputs: readonly EnqueueInput[],
    ctx: CallContext,
    claimed?: readonly (Claimed | undefined)[],
  ): Promise<EnqueueOutcome[]>;
  /** Authorization, then the field checks (SPEC §2.1); throws the first failure. */
  check(input: EnqueueInput, ctx: CallContext): void;
  /** A fresh job id for `input`. */
  newJobId(input: EnqueueInput): string;
}
