/**
 * The behaviour every rate limiter must have (src/admission/limiter.ts):
 * token buckets with a burst of one second's worth, partial grants, free
 * refusals and continuous refill. Runs on the real clock with short waits;
 * every test uses its own bucket names, so a shared Redis needs no flush.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Limiter } from '../../src/admission/limiter.js';

export interface LimiterFixture {
  open(): Promise<Limiter>;
  dispose(): Promise<void>;
}

let sequence = 0;
/** A bucket name no other test (or earlier run on the same Redis) uses. */
function bucket(): string {
  sequence += 1;
  return `contract-${process.pid}-${Date.now()}-${sequence}`;
}

export function describeLimiterContract(
  name: string,
  fixture: () => Promise<LimiterFixture>,
): void {
  describe(`Limiter contract: ${name}`, () => {
    let fx: LimiterFixture;
    let limiter: Limiter;
    beforeAll(async () => {
      fx = await fixture();
      limiter = await fx.open();
    });
    afterAll(async () => {
      await limiter?.close();
      await fx?.dispose();
    });

    it('grants a burst of one second worth, then refuses with the time to the next token', async () => {
      const key = bucket();
      const [first] = await limiter.take([{ key, ratePerSecond: 10, count: 10 }]);
      expect(first).toEqual({ granted: 10, retryAfterMs: 0 });
      const [second] = await limiter.take([{ key, ratePerSecond: 10, count: 1 }]);
      expect(second?.granted).toBe(0);
      expect(second?.retryAfterMs).toBeGreaterThan(0);
      expect(second?.retryAfterMs).toBeLessThanOrEqual(100);
    });

    it('grants part of a take when fewer tokens are left, and refused tokens cost nothing', async () => {
      const key = bucket();
      const [partial] = await limiter.take([{ key, ratePerSecond: 5, count: 8 }]);
      expect(partial?.granted).toBe(5);
      expect(partial?.retryAfterMs).toBeGreaterThan(0);
      expect(partial?.retryAfterMs).toBeLessThanOrEqual(200);
      // The 3 refused tokens were not debited: one token is back after ~200 ms.
      await sleep(230);
      const [next] = await limiter.take([{ key, ratePerSecond: 5, count: 3 }]);
      expect(next?.granted).toBe(1);
    });

    it('refills continuously at the rate, never above the burst', async () => {
      const key = bucket();
      await limiter.take([{ key, ratePerSecond: 50, count: 50 }]);
      await sleep(120); // ≈ 6 tokens at 50/s
      const [refilled] = await limiter.take([{ key, ratePerSecond: 50, count: 50 }]);
      expect(refilled?.granted).toBeGreaterThanOrEqual(4);
      expect(refilled?.granted).toBeLessThanOrEqual(12);

      const idle = bucket();
      await limiter.take([{ key: idle, ratePerSecond: 20, count: 1 }]);
      await sleep(150); // the bucket is full again (19 + 3 capped at 20)
      const [capped] = await limiter.take([{ key: idle, ratePerSecond: 20, count: 100 }]);
      expect(capped?.granted).toBe(20);
    });

    it('keeps one bucket per key and takes several in one call', async () => {
      const a = bucket();
      const b = bucket();
      const results = await limiter.take([
        { key: a, ratePerSecond: 3, count: 5 },
        { key: b, ratePerSecond: 100, count: 7 },
      ]);
      expect(results.map((r) => r.granted)).toEqual([3, 7]);
      expect(results[0]?.retryAfterMs).toBeGreaterThan(0);
      expect(results[1]?.retryAfterMs).toBe(0);
    });

    it('caps a bucket at once when its rate is lowered', async () => {
      const key = bucket();
      await limiter.take([{ key, ratePerSecond: 100, count: 1 }]); // 99 left
      const [lowered] = await limiter.take([{ key, ratePerSecond: 10, count: 50 }]);
      expect(lowered?.granted).toBe(10);
    });

    it('serves concurrent takes of one bucket in arrival order, never more than it holds', async () => {
      const key = bucket();
      const results = await Promise.all(
        Array.from({ length: 5 }, () => limiter.take([{ key, ratePerSecond: 10, count: 3 }])),
      );
      expect(results.map(([r]) => r?.granted)).toEqual([3, 3, 3, 1, 0]);
      expect(results[3]?.[0]?.retryAfterMs).toBeGreaterThan(0);
      expect(results[0]?.[0]?.retryAfterMs).toBe(0);
    });

    it('answers an empty take with nothing', async () => {
      expect(await limiter.take([])).toEqual([]);
    });
  });
}
