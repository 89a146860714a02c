/**
 * Token buckets for SPEC §8 rate limits, behind one interface with two
 * adapters: `memory.ts` (per replica) and `redis.ts` (shared by every
 * replica, falling back to memory while Redis is unreachable). The policy
 * (which rate a producer has, what error a refusal is) lives in
 * `rate-limit.ts`; a limiter only counts tokens.
 *
 * A bucket holds at most one second's worth of tokens (burst = rate) and
 * refills continuously at `ratePerSecond`. A take asks for `count` tokens
 * and gets as many as the bucket holds, up to `count`: a bulk call admits
 * its first jobs and refuses only the rest. Refused takes cost nothing.
 */

export interface TakeRequest {
  /** Bucket name (a producer id). */
  key: string;
  /** Refill rate and burst size, tokens per second; > 0. */
  ratePerSecond: number;
  /** Tokens wanted; ≥ 1. */
  count: number;
}

export interface TakeResult {
  /** Tokens taken, 0…count. */
  granted: number;
  /** When granted < count: ms until the next token is free (> 0); else 0. */
  retryAfterMs: number;
}

export interface Limiter {
  /**
   * Takes tokens from several buckets at once (one Redis round trip for the
   * whole call); one result per request, in order. Never rejects.
   */
  take(requests: readonly TakeRequest[]): Promise<TakeResult[]>;
  /** True while buckets are shared by every replica (Redis reachable). */
  readonly shared: boolean;
  close(): Promise<void>;
}

/** A bucket's state: tokens left at time `at` (ms). */
export interface BucketState {
  tokens: number;
  at: number;
}

/**
 * One take on one bucket at `now` (ms), updating `state` in place. The Lua
 * script of the Redis adapter does the same arithmetic; keep them in step.
 */
export function takeFromBucket(
  state: BucketState,
  now: number,
  ratePerSecond: number,
  count: number,
): TakeResult {
  const burst = ratePerSecond;
  if (now > state.at) {
    state.tokens += ((now - state.at) * ratePerSecond) / 1000;
    state.at = now;
  }
  // Also caps a bucket whose rate was lowered since its last take.
  if (state.tokens > burst) state.tokens = burst;
  const granted = Math.max(0, Math.min(count, Math.floor(state.tokens)));
  state.tokens -= granted;
  const retryAfterMs = granted < count ? ((1 - state.tokens) * 1000) / ratePerSecond : 0;
  return { granted, retryAfterMs };
}
