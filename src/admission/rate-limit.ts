/**
 * SPEC §8 rate limits, as a domain service the enqueuer asks once per call:
 * each producer's `rate_limit_rps` (read from the store snapshot on every
 * call, so an UpdateProducer applies within one refresh; ≤ 0 = unlimited;
 * DEFAULT_RATE_LIMIT_RPS for unregistered producers) is a token bucket,
 * one token per job. A call's jobs take their tokens at once; the jobs
 * beyond the tokens get a RESOURCE_EXHAUSTED with the time until a token
 * is free (sent as google.rpc.RetryInfo), bulk reason `rate_limited`.
 */
import { JackError } from '../errors.js';
import { type Metrics, UNREGISTERED_PRODUCER_LABEL } from '../metrics.js';
import type { Store } from '../storage/store.js';
import type { Limiter, TakeRequest } from './limiter.js';

export interface RateLimitOptions {
  store: Pick<Store, 'getProducer'>;
  limiter: Limiter;
  /** DEFAULT_RATE_LIMIT_RPS: the rate of unregistered producers; ≤ 0 = unlimited. */
  defaultRps: number;
  metrics: Pick<Metrics, 'jobsRejected'>;
}

export interface Admission {
  /** How many of the producer's jobs (the first ones, in call order) may go on. */
  admitted: number;
  /** The error of the others; undefined when all were admitted. */
  refusal: JackError | undefined;
}

export interface RateLimit {
  /** Takes one token per job for every producer of one call (jobs per producer id). */
  admit(jobsPerProducer: ReadonlyMap<string, number>): Promise<Map<string, Admission>>;
  /** The limiter's state, for logs and tests: true while buckets are shared. */
  readonly shared: boolean;
  close(): Promise<void>;
}

/** Metric label of a producer: its id when registered, one shared label otherwise. */
export function producerLabel(store: Pick<Store, 'getProducer'>, producerId: string): string {
  return store.getProducer(producerId) === undefined ? UNREGISTERED_PRODUCER_LABEL : producerId;
}

export function createRateLimit(options: RateLimitOptions): RateLimit {
  const { store, limiter, defaultRps, metrics } = options;

  const rateOf = (producerId: string): number =>
    store.getProducer(producerId)?.rateLimitRps ?? defaultRps;

  return {
    get shared() {
      return limiter.shared;
    },
    async admit(jobsPerProducer) {
      const result = new Map<string, Admission>();
      const requests: TakeRequest[] = [];
      for (const [key, count] of jobsPerProducer) {
        const ratePerSecond = rateOf(key);
        if (ratePerSecond <= 0 || count <= 0) {
          result.set(key, { admitted: count, refusal: undefined });
        } else {
          requests.push({ key, ratePerSecond, count });
        }
      }
      if (requests.length === 0) return result;
      const taken = await limiter.take(requests);
      requests.forEach(({ key, ratePerSecond, count }, i) => {
        const { granted, retryAfterMs } = taken[i] ?? { granted: count, retryAfterMs: 0 };
        if (granted >= count) {
          result.set(key, { admitted: count, refusal: undefined });
          return;
        }
        metrics.jobsRejected(producerLabel(store, key), 'rate_limited', count - granted);
        result.set(key, {
          admitted: granted,
          refusal: new JackError(
            'resource_exhausted',
            `rate limit exceeded for producer ${key} (${ratePerSecond} jobs/s)`,
            { reason: 'rate_limited', retryDelayMs: Math.max(1, retryAfterMs) },
          ),
        });
      });
      return result;
    },
    close: () => limiter.close(),
  };
}
