/**
 * SPEC §8 rate limits, as a domain service the enqueuer asks once per call:
 * each producer's `rate_limit_rps` (read from the store snapshot on every
 * call, so an UpdateProducer applies within one refresh; ≤ 0 = unlimited;
 * DEFAULT_RATE_LIMIT_RPS for unregistered producers) is a token bucket,
 * one token per job. A call's jobs take their tokens at once; the jobs
 * beyond the tokens get a RESOURCE_EXHAUSTED with the time until a token
 * is free (sent as google.rpc.RetryInfo), bulk reason `rate_limited`.
 * Without a limiter (RATE_LIMIT_MODE=off) every job is admitted; the
 * admitted-jobs metric is counted either way.
 */
import { JackError } from '../errors.js';
import { type Metrics, noopMetrics, UNREGISTERED_PRODUCER_LABEL } from '../metrics.js';
import type { Store } from '../storage/store.js';
import type { Limiter, TakeRequest } from './limiter.js';

export interface RateLimitOptions {
  store: Pick<Store, 'getProducer'>;
  /** undefined: RATE_LIMIT_MODE=off. */
  limiter: Limiter | undefined;
  /** DEFAULT_RATE_LIMIT_RPS: the rate of unregistered producers; ≤ 0 = unlimited. */
  defaultRps: number;
  metrics: Pick<Metrics, 'jobsAdmitted' | 'jobsRejected'>;
}

export interface RateLimit {
  /**
   * Admits the jobs of one call: `producerIds[i]` is job i's producer, or
   * undefined for a job already refused. Resolves with the refusal of each
   * job over its producer's limit (the last ones of that producer in call
   * order), or undefined when every job may go on. Never rejects.
   *
   * Without a limiter (RATE_LIMIT_MODE=off) it only counts the admitted jobs
   * and returns undefined instead of a promise, so the hot path waits for
   * nothing.
   */
  admit(
    producerIds: readonly (string | undefined)[],
  ): Promise<(JackError | undefined)[] | undefined> | undefined;
  /** True while buckets are shared by every replica; false per replica or off. */
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
      return limiter?.shared ?? false;
    },
    admit(producerIds) {
      if (limiter === undefined) {
        countAdmitted(producerIds);
        return undefined;
      }
      return admitLimited(limiter, producerIds);
    },
    close: async () => {
      await limiter?.close();
    },
  };

  function countAdmitted(producerIds: readonly (string | undefined)[]): void {
    if (metrics === noopMetrics) return;
    const counts = new Map<string, number>();
    for (const id of producerIds) {
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const [key, count] of counts) metrics.jobsAdmitted(producerLabel(store, key), count);
  }

  async function admitLimited(
    limiter: Limiter,
    producerIds: readonly (string | undefined)[],
  ): Promise<(JackError | undefined)[] | undefined> {
    const counts = new Map<string, number>();
    for (const id of producerIds) {
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const requests: TakeRequest[] = [];
    for (const [key, count] of counts) {
      const ratePerSecond = rateOf(key);
      if (ratePerSecond > 0) requests.push({ key, ratePerSecond, count });
    }
    const taken = requests.length === 0 ? [] : await limiter.take(requests);
    /** Tokens left per limited producer, and the refusal for its jobs beyond them. */
    const left = new Map<string, { tokens: number; refusal: JackError }>();
    requests.forEach(({ key, ratePerSecond, count }, i) => {
      const { granted, retryAfterMs } = taken[i] ?? { granted: count, retryAfterMs: 0 };
      if (granted >= count) return;
      metrics.jobsRejected(producerLabel(store, key), 'rate_limited', count - granted);
      left.set(key, {
        tokens: granted,
        refusal: new JackError(
          'resource_exhausted',
          `rate limit exceeded for producer ${key} (${ratePerSecond} jobs/s)`,
          { reason: 'rate_limited', retryDelayMs: Math.max(1, retryAfterMs) },
        ),
      });
    });
    for (const [key, count] of counts) {
      const admitted = left.get(key)?.tokens ?? count;
      if (admitted > 0) metrics.jobsAdmitted(producerLabel(store, key), admitted);
    }
    if (left.size === 0) return undefined;
    return producerIds.map((id) => {
      const limited = id === undefined ? undefined : left.get(id);
      if (limited === undefined) return undefined;
      if (limited.tokens > 0) {
        limited.tokens -= 1;
        return undefined;
      }
      return limited.refusal;
    });
  }
}
