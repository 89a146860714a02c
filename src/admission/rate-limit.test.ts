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

function setup(defaultRps = 3) {
  const producers = new Map<string, Producer>([
    ['slow', producer('slow', 2)],
    ['free', producer('free', 0)],
  ]);
  const rejected: [string, string, number][] = [];
  const rateLimit = createRateLimit({
    store: { getProducer: (id) => producers.get(id) },
    limiter: createMemoryLimiter({ now: () => 0 }),
    defaultRps,
    metrics: { jobsRejected: (p, reason, n) => rejected.push([p, reason, n]) },
  });
  return { producers, rateLimit, rejected };
}

describe('rate limit policy', () => {
  it('admits as many jobs as there are tokens and refuses the rest with RetryInfo data', async () => {
    const { rateLimit, rejected } = setup();
    const result = await rateLimit.admit(new Map([['slow', 5]]));
    const slow = result.get('slow');
    expect(slow?.admitted).toBe(2);
    expect(slow?.refusal).toBeInstanceOf(JackError);
    expect(slow?.refusal?.code).toBe('resource_exhausted');
    expect(slow?.refusal?.reason).toBe('rate_limited');
    expect(slow?.refusal?.message).toBe('rate limit exceeded for producer slow (2 jobs/s)');
    expect(slow?.refusal?.retryDelayMs).toBe(500);
    expect(rejected).toEqual([['slow', 'rate_limited', 3]]);
  });

  it('treats a rate ≤ 0 as unlimited and gives unregistered producers DEFAULT_RATE_LIMIT_RPS', async () => {
    const { rateLimit, rejected } = setup(3);
    const result = await rateLimit.admit(
      new Map([
        ['free', 10_000],
        ['stranger', 4],
      ]),
    );
    expect(result.get('free')).toEqual({ admitted: 10_000, refusal: undefined });
    expect(result.get('stranger')?.admitted).toBe(3);
    expect(result.get('stranger')?.refusal?.message).toBe(
      'rate limit exceeded for producer stranger (3 jobs/s)',
    );
    expect(rejected).toEqual([['(unregistered)', 'rate_limited', 1]]);

    const unlimited = setup(0).rateLimit;
    expect((await unlimited.admit(new Map([['stranger', 5000]]))).get('stranger')?.admitted).toBe(
      5000,
    );
  });

  it('reads the rate from the store on every call (UpdateProducer applies at the next refresh)', async () => {
    const { rateLimit, producers } = setup();
    expect((await rateLimit.admit(new Map([['slow', 2]]))).get('slow')?.admitted).toBe(2);
    producers.set('slow', producer('slow', 0));
    expect((await rateLimit.admit(new Map([['slow', 50]]))).get('slow')?.admitted).toBe(50);
  });

  it('labels metrics by registered producer id only', () => {
    const { producers } = setup();
    const store = { getProducer: (id: string) => producers.get(id) };
    expect(producerLabel(store, 'slow')).toBe('slow');
    expect(producerLabel(store, 'typo')).toBe('(unregistered)');
  });
});
