/**
 * Retry policy of the typed client: which gRPC codes are retried, how long
 * to wait (exponential backoff with full jitter, or the server's RetryInfo),
 * and how a google.rpc.Status trailer is read. No grpc channel here.
 */
import { type Metadata, status } from '@grpc/grpc-js';
import { RetryInfo } from '../gen/google/rpc/error_details.js';
import { Status } from '../gen/google/rpc/status.js';

export interface RetryOptions {
  /** Attempts in total, the first one included (1 = no retry). Default 5. */
  maxAttempts: number;
  /** Upper bound of the first backoff. Default 100 ms. */
  initialBackoffMs: number;
  /** Cap of any single backoff (and of a server's RetryInfo). Default 5 s. */
  maxBackoffMs: number;
  /** Growth of the backoff bound per attempt. Default 2. */
  multiplier: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 5,
  initialBackoffMs: 100,
  maxBackoffMs: 5_000,
  multiplier: 2,
};

/**
 * The only codes a call is retried for (SPEC §13): the server did not act
 * (UNAVAILABLE), a call with the same idempotency key is in flight (ABORTED),
 * or a rate limit said "later" (RESOURCE_EXHAUSTED). Never others: a retried
 * INVALID_ARGUMENT fails the same way, a retried INTERNAL may repeat damage.
 */
export const RETRYABLE_CODES: ReadonlySet<status> = new Set([
  status.UNAVAILABLE,
  status.ABORTED,
  status.RESOURCE_EXHAUSTED,
]);

const RETRY_INFO_TYPE = 'type.googleapis.com/google.rpc.RetryInfo';
/** A status trailer larger than this is not decoded (it is the server's to keep small). */
const MAX_STATUS_DETAILS_BYTES = 64 * 1024;

/**
 * The retry delay the server asked for in the `grpc-status-details-bin`
 * trailer (google.rpc.Status with a google.rpc.RetryInfo detail), in ms;
 * undefined when there is none or it cannot be decoded.
 */
export function retryDelayFromMetadata(metadata: Metadata | undefined): number | undefined {
  const raw = metadata?.get('grpc-status-details-bin')[0];
  if (!(raw instanceof Buffer) || raw.length > MAX_STATUS_DETAILS_BYTES) return undefined;
  try {
    const decoded = Status.decode(raw);
    for (const detail of decoded.details) {
      if (detail.typeUrl !== RETRY_INFO_TYPE) continue;
      const delay = RetryInfo.decode(detail.value).retryDelay;
      if (delay === undefined) return undefined;
      const ms = Number(delay.seconds) * 1000 + Math.ceil(delay.nanos / 1e6);
      return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
    }
  } catch {
    // A trailer that is not a google.rpc.Status: fall back to our own backoff.
  }
  return undefined;
}

/**
 * Wait before retry number `retry` (1 = the first retry): full jitter, i.e.
 * uniform in [0, min(max, initial × multiplier^(retry-1))], so that many
 * clients failing together do not come back together. A server-given delay
 * wins, capped at maxBackoffMs.
 */
export function backoffMs(
  retry: number,
  options: RetryOptions,
  serverDelayMs?: number,
  random: () => number = Math.random,
): number {
  if (serverDelayMs !== undefined) return Math.min(serverDelayMs, options.maxBackoffMs);
  const bound = Math.min(
    options.maxBackoffMs,
    options.initialBackoffMs * options.multiplier ** (retry - 1),
  );
  return Math.floor(random() * bound);
}

/** Resolves after `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
