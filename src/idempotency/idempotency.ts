/**
 * Idempotent enqueue (SPEC §9), independent of gRPC and of the store's
 * medium: validates a caller's key, fingerprints the request, claims the key
 * before anything is published, and settles it once the outcome is known:
 *
 * - accepted            → done: later calls get the job id, `duplicate = true`
 * - definite failure    → released: the key may be used again
 *   (INVALID_ARGUMENT, INTERNAL, CANCELLED, …: nothing was published)
 * - unknown outcome     → lease ended, job id kept: a retry publishes again
 *   (UNAVAILABLE,          under the same job id, and consumers de-duplicate
 *    DEADLINE_EXCEEDED)    by the `job_id` attribute
 */
import { hash } from 'node:crypto';
import type { Logger } from 'pino';
import { isJackError, JackError, toError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { entryKey, type IdempotencyStore } from './store.js';

/** Longest key, bytes of UTF-8 (SPEC §9). */
export const MAX_KEY_BYTES = 256;

/** The parts of a request that make two calls with one key "the same request". */
export interface Fingerprinted {
  jobType: string;
  payload: Buffer;
  runAt: Date | undefined;
}

/** What `begin` hands back: the earlier job, or a claim to settle. */
export type Ticket =
  | { duplicate: true; jobId: string }
  | {
      duplicate: false;
      /** The job id to publish under: new, or the one a key whose outcome is unknown owns. */
      jobId: string;
      /** Records the outcome: `undefined` = accepted, else the error the job failed with. */
      settle(error: unknown): Promise<void>;
    };

export interface Idempotency {
  /**
   * Claims (producerId, key) for `request`, or answers from what the key
   * remembers. Throws JackError: `invalid_argument` (bad key),
   * `already_exists` (reason idempotency_conflict), `aborted` (reason
   * in_progress), `unavailable` (store unreachable).
   */
  begin(
    producerId: string,
    key: string,
    request: Fingerprinted,
    newJobId: () => string,
  ): Promise<Ticket>;
}

export interface IdempotencyDeps {
  store: IdempotencyStore;
  /** How long a key is remembered, ms (IDEMPOTENCY_TTL). */
  ttlMs: number;
  /**
   * How long a claim is exclusive, ms: longer than any publish may take, so
   * only a claim whose owner died runs out.
   */
  leaseMs: number;
  metrics: Metrics;
  logger: Logger;
}

const LONE_SURROGATE = /\p{Cs}/u;

/** INVALID_ARGUMENT unless `key` is valid UTF-8 of at most MAX_KEY_BYTES. */
export function validateKey(key: string): void {
  // A JS string is UTF-16; a lone surrogate (the only code point a `u`
  // regex sees as Cs) has no UTF-8 form.
  if (LONE_SURROGATE.test(key)) {
    throw new JackError('invalid_argument', 'idempotency_key is not valid UTF-8');
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new JackError(
      'invalid_argument',
      `idempotency_key is ${bytes} bytes, longer than the limit of ${MAX_KEY_BYTES} bytes`,
    );
  }
}

/**
 * SHA-256 over job_type, run_at and payload, each delimited so no two
 * requests share an input. One-shot `crypto.hash` over one buffer: the
 * Hash object of createHash/update/digest showed as ~10 µs per keyed call
 * in the server's CPU profile under load (docs/performance.md).
 */
export function fingerprintOf(request: Fingerprinted): string {
  const runAt = request.runAt === undefined ? '-' : String(request.runAt.getTime());
  const head = Buffer.from(
    `${Buffer.byteLength(request.jobType, 'utf8')}:${request.jobType}:${runAt}:`,
  );
  return hash('sha256', Buffer.concat([head, request.payload]), 'base64url');
}

/** A failure after which the job may have been accepted all the same. */
export function isUnknownOutcome(error: unknown): boolean {
  return isJackError(error, 'unavailable') || isJackError(error, 'deadline_exceeded');
}

export function conflictError(key: string, jobId: string): JackError {
  return new JackError(
    'already_exists',
    `idempotency key ${key} was used for job ${jobId} with a different request`,
    { reason: 'idempotency_conflict' },
  );
}

export function inProgressError(): JackError {
  return new JackError('aborted', 'a call with this idempotency key is in progress', {
    reason: 'in_progress',
  });
}

const STORE_UNAVAILABLE = 'the idempotency store cannot be reached; retry later';

export function createIdempotency(deps: IdempotencyDeps): Idempotency {
  const { store, ttlMs, leaseMs, metrics, logger } = deps;

  const storeFailed = (err: unknown, what: string): void => {
    metrics.idempotencyAnswered('store_error');
    // Messages only: a client library's error object may carry the command
    // and its arguments.
    const error = toError(err);
    const cause = error.cause === undefined ? undefined : toError(error.cause).message;
    logger.warn(
      { store: store.kind, reason: error.message, cause },
      `idempotency store: ${what} failed`,
    );
  };

  return {
    async begin(producerId, key, request, newJobId) {
      validateKey(key);
      const fingerprint = fingerprintOf(request);
      const storeKey = entryKey(producerId, key);
      let claimed: Awaited<ReturnType<IdempotencyStore['claim']>>;
      try {
        claimed = await store.claim({
          key: storeKey,
          fingerprint,
          jobId: newJobId(),
          leaseMs,
          ttlMs,
        });
      } catch (err) {
        storeFailed(err, 'claim');
        throw new JackError('unavailable', STORE_UNAVAILABLE, { cause: err });
      }
      switch (claimed.kind) {
        case 'done':
          if (claimed.fingerprint !== fingerprint) {
            metrics.idempotencyAnswered('conflict');
            throw conflictError(key, claimed.jobId);
          }
          metrics.idempotencyAnswered('duplicate');
          return { duplicate: true, jobId: claimed.jobId };
        case 'pending':
          // A live claim is in flight whatever it carries (it may still fail
          // and release the key); a stale one with another request may have
          // published: that request owns the key.
          if (claimed.stale) {
            metrics.idempotencyAnswered('conflict');
            throw conflictError(key, claimed.jobId);
          }
          metrics.idempotencyAnswered('in_progress');
          throw inProgressError();
        case 'claimed': {
          const { token, jobId } = claimed;
          metrics.idempotencyAnswered(claimed.retry ? 'retried' : 'claimed');
          return {
            duplicate: false,
            jobId,
            async settle(error) {
              // The job's own outcome stands even when the store fails now:
              // the entry then stays pending until its lease runs out, and a
              // retry publishes again under this job id.
              try {
                if (error === undefined) await store.complete(storeKey, token, ttlMs);
                else if (isUnknownOutcome(error)) await store.abandon(storeKey, token);
                else await store.release(storeKey, token);
              } catch (err) {
                storeFailed(err, 'settle');
              }
            },
          };
        }
      }
    },
  };
}
