import { describe, expect, it } from 'vitest';
import { takeFromBucket } from './limiter.js';
import { createMemoryLimiter } from './memory.js';

describe('takeFromBucket', () => {
  it('refills by elapsed time at the rate, capped at one second worth', () => {
    const state = { tokens: 0, at: 0 };
    expect(takeFromBucket(state, 250, 20, 10)).toEqual({ granted: 5, retryAfterMs: 50 });
    expect(state).toEqual({ tokens: 0, at: 250 });
    expect(takeFromBucket(state, 10_000, 20, 100).granted).toBe(20);
  });

  it('reports the time to the next whole token, never 0 when refusing', () => {
    const state = { tokens: 0.75, at: 0 };
    const result = takeFromBucket(state, 0, 4, 1);
    expect(result.granted).toBe(0);
    expect(result.retryAfterMs).toBeCloseTo(62.5);
  });
});

describe('memory limiter', () => {
  it('limits on a driven clock: burst, then one token per 1/rate', async () => {
    let now = 1000;
    const limiter = createMemoryLimiter({ now: () => now });
    const take = async (count: number) =>
      (await limiter.take([{ key: 'p', ratePerSecond: 20, count }]))[0];
    expect(await take(25)).toEqual({ granted: 20, retryAfterMs: 50 });
    now += 49;
    expect((await take(1))?.granted).toBe(0);
    now += 1;
    expect((await take(1))?.granted).toBe(1);
  });

  it('keeps memory bounded: idle buckets are swept past the cap, busy ones evicted oldest first', async () => {
    let now = 0;
    const limiter = createMemoryLimiter({ now: () => now, maxBuckets: 3 });
    const take = async (key: string) =>
      (await limiter.take([{ key, ratePerSecond: 1, count: 1 }]))[0]?.granted;
    expect(await take('a')).toBe(1);
    expect(await take('b')).toBe(1);
    expect(await take('c')).toBe(1);
    // 'a' is still empty; adding 'd' to a full map evicts the oldest ('a').
    now = 10;
    expect(await take('d')).toBe(1);
    expect(await take('a')).toBe(1);
    // 'b' was evicted when 'a' came back, but 'c' and 'd' were kept.
    expect(await take('c')).toBe(0);
    expect(await take('d')).toBe(0);
  });
});
