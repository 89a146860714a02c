/**
 * Per-replica token buckets in a Map. A bucket idle for one second is full
 * again (burst = one second of refill), which is what a missing bucket
 * means, so idle buckets are swept once the map grows past its cap: memory
 * stays bounded however many producer ids callers invent.
 */
import { type BucketState, type Limiter, takeFromBucket } from './limiter.js';

export interface MemoryLimiterOptions {
  /** Buckets kept before idle ones are swept. */
  maxBuckets?: number;
  /** Monotonic clock, ms; tests may drive it. */
  now?: () => number;
}

/** Time after which an untouched bucket is full, ms (burst = one second). */
const REFILL_MS = 1000;

export function createMemoryLimiter(options: MemoryLimiterOptions = {}): Limiter {
  const maxBuckets = options.maxBuckets ?? 100_000;
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, BucketState>();

  const sweep = (at: number) => {
    for (const [key, state] of buckets) {
      if (at - state.at >= REFILL_MS) buckets.delete(key);
    }
    // Still too many busy buckets: drop the oldest (Map keeps insertion
    // order), which only ever lets a few more jobs through.
    for (const key of buckets.keys()) {
      if (buckets.size < maxBuckets) break;
      buckets.delete(key);
    }
  };

  return {
    shared: false,
    async take(requests) {
      const at = now();
      return requests.map(({ key, ratePerSecond, count }) => {
        let state = buckets.get(key);
        if (state === undefined) {
          if (buckets.size >= maxBuckets) sweep(at);
          state = { tokens: ratePerSecond, at };
          buckets.set(key, state);
        }
        return takeFromBucket(state, at, ratePerSecond, count);
      });
    },
    async close() {
      buckets.clear();
    },
  };
}
