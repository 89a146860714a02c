import { describe, expect, it } from 'vitest';
import { JackError } from '../errors.js';
import type { Producer } from '../storage/store.js';
import { createMemoryLimiter } from './memory.js';
import { createRateLimit, producerLabel } from './rate-limit.js';

function producer(producerId: string, rateLimitRps: number): Producer {
  const at = new Date(0);
  return {
    producerId,
    name: producerId,
    description: '',
    rateLimitRps,
    principals: [],
    createdAt: at,
    updatedAt: at,
  };
}

function setup(defaultRps = 3, limited = true) {
  const producers = new Map<string, Producer>([
    ['slow', producer('slow', 2)],
    ['free', producer('free', 0)],
  ]);
  const rejected: [string, string, number][] = [];
  const admitted: [string, number][] = [];
  const rateLimit = createRateLimit({
    store: { getProducer: (id) => producers.get(id) },
    limiter: limited ? createMemoryLimiter({ now: () => 0 }) : undefined,
    defaultRps,
    metrics: {
      jobsRejected: (p, reason, n) => rejected.push([p, reason, n]),
      jobsAdmitted: (p, n) => admitted.push([p, n]),
    },
  });
  return { producers, rateLimit, rejected, admitted };
}

describe('rate limit policy', () => {
  it('admits the first jobs of a producer up to its tokens and refuses the rest with a retry delay', async () => {
    const { rateLimit, rejected, admitted } = setup();
    const result = await rateLimit.admit(['slow', undefined, 'free', 'slow', 'slow', 'slow']);
    expect(result?.map((r) => r?.reason)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      'rate_limited',
      'rate_limited',
    ]);
    const refusal = result?.[4];
    expect(refusal).toBeInstanceOf(JackError);
    expect(refusal?.code).toBe('resource_exhausted');
    expect(refusal?.message).toBe('rate limit exceeded for producer slow (2 jobs/s)');
    expect(refusal?.retryDelayMs).toBe(500);
    expect(rejected).toEqual([['slow', 'rate_limited', 2]]);
    expect(admitted).toEqual([
      ['slow', 2],
      ['free', 1],
    ]);
  });

  it('treats a rate ≤ 0 as unlimited and gives unregistered producers DEFAULT_RATE_LIMIT_RPS', async () => {
    const { rateLimit, rejected } = setup(3);
    const ids = [...Array(5000).fill('free'), ...Array(4).fill('stranger')];
    const result = await rateLimit.admit(ids);
    expect(result?.filter((r) => r !== undefined)).toHaveLength(1);
    expect(result?.[5003]?.message).toBe('rate limit exceeded for producer stranger (3 jobs/s)');
    expect(rejected).toEqual([['(unregistered)', 'rate_limited', 1]]);

    const unlimited = setup(0).rateLimit;
    expect(await unlimited.admit(Array(5000).fill('stranger'))).toBeUndefined();
  });

  it('reads the rate from the store on every call (UpdateProducer applies at the next refresh)', async () => {
    const { rateLimit, producers } = setup();
    expect(await rateLimit.admit(['slow', 'slow'])).toBeUndefined();
    expect((await rateLimit.admit(['slow']))?.[0]?.reason).toBe('rate_limited');
    producers.set('slow', producer('slow', 0));
    expect(await rateLimit.admit(Array(50).fill('slow'))).toBeUndefined();
  });

  it('admits everything without a limiter (RATE_LIMIT_MODE=off), still counting admissions', () => {
    const { rateLimit, admitted } = setup(3, false);
    // No promise at all: the Enqueue hot path waits for nothing when limits are off.
    expect(rateLimit.admit(Array(10).fill('slow'))).toBeUndefined();
    expect(admitted).toEqual([['slow', 10]]);
    expect(rateLimit.shared).toBe(false);
  });

  it('labels metrics by registered producer id only', () => {
    const { producers } = setup();
    const store = { getProducer: (id: string) => producers.get(id) };
    expect(producerLabel(store, 'slow')).toBe('slow');
    expect(producerLabel(store, 'typo')).toBe('(unregistered)');
  });
});
