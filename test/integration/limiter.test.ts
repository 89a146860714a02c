/**
 * The Limiter contract for both adapters, and what only the Redis one does:
 * buckets shared by two replicas, the per-replica fallback while Redis is
 * down (no take fails), and the way back once it returns.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Limiter } from '../../src/admission/limiter.js';
import { createMemoryLimiter } from '../../src/admission/memory.js';
import { createRedisLimiter } from '../../src/admission/redis.js';
import { createLogger } from '../../src/logger.js';
import { createRedisConnection, type RedisConnection } from '../../src/redis.js';
import { describeLimiterContract } from '../contract/limiter.contract.js';
import { logSink } from '../support/jack.js';
import { type RedisServer, redisAvailable, startRedisServer } from '../support/redis.js';

const silent = pino({ level: 'silent' });

describeLimiterContract('memory', async () => ({
  open: async () => createMemoryLimiter(),
  dispose: async () => {},
}));

describe.skipIf(!redisAvailable())('on a real redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const connections: RedisConnection[] = [];
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.close()));
  });
  async function replica(
    logger = silent,
    fallbackStates: boolean[] = [],
  ): Promise<{ limiter: Limiter; connection: RedisConnection }> {
    const connection = createRedisConnection({ url: server.url, logger });
    connections.push(connection);
    expect(await connection.waitUntilReady(5000)).toBe(true);
    const limiter = createRedisLimiter({
      connection,
      fallback: createMemoryLimiter(),
      logger,
      metrics: { rateLimiterFallback: (active) => fallbackStates.push(active) },
    });
    return { limiter, connection };
  }

  describeLimiterContract('redis', async () => ({
    open: async () => (await replica()).limiter,
    dispose: async () => {},
  }));

  it('shares one bucket between two replicas', async () => {
    const a = await replica();
    const b = await replica();
    const key = `shared-${Date.now()}`;
    const [fromA] = await a.limiter.take([{ key, ratePerSecond: 30, count: 20 }]);
    const [fromB] = await b.limiter.take([{ key, ratePerSecond: 30, count: 20 }]);
    expect(fromA?.granted).toBe(20);
    expect(fromB?.granted).toBe(10);
    expect(a.limiter.shared && b.limiter.shared).toBe(true);
  });

  it('falls back to per-replica buckets while Redis is down, and shares again once it is back', async () => {
    const sink = logSink();
    const logger = createLogger({ level: 'info' }, sink.stream);
    const states: boolean[] = [];
    const { limiter, connection } = await replica(logger, states);
    const key = `outage-${Date.now()}`;
    expect((await limiter.take([{ key, ratePerSecond: 10, count: 1 }]))[0]?.granted).toBe(1);

    await server.stop();
    // No take fails: the memory buckets answer, and still limit.
    const [burst] = await limiter.take([{ key, ratePerSecond: 10, count: 15 }]);
    expect(burst?.granted).toBe(10);
    const [over] = await limiter.take([{ key, ratePerSecond: 10, count: 1 }]);
    expect(over).toMatchObject({ granted: 0 });
    expect(over?.retryAfterMs).toBeGreaterThan(0);
    expect(limiter.shared).toBe(false);
    expect(states).toEqual([false, true]);
    expect(sink.lines.some((l) => String(l.msg).includes('each replica limits on its own'))).toBe(
      true,
    );

    await server.restart();
    expect(await connection.waitUntilReady(5000)).toBe(true);
    const fresh = `after-${Date.now()}`;
    const [back] = await limiter.take([{ key: fresh, ratePerSecond: 10, count: 4 }]);
    expect(back?.granted).toBe(4);
    expect(limiter.shared).toBe(true);
    expect(states).toEqual([false, true, false]);
    // The bucket lives in Redis again: a second replica sees what was taken.
    const other = await replica();
    const [rest] = await other.limiter.take([{ key: fresh, ratePerSecond: 10, count: 10 }]);
    expect(rest?.granted).toBe(6);
    expect(sink.lines.some((l) => String(l.msg).includes('shared through redis again'))).toBe(true);
  });

  it('uses the fallback when Redis hangs instead of waiting for it', async () => {
    const { limiter } = await replica();
    process.kill(server.pid, 'SIGSTOP');
    try {
      const started = performance.now();
      const [result] = await limiter.take([
        { key: `hang-${Date.now()}`, ratePerSecond: 5, count: 2 },
      ]);
      expect(result?.granted).toBe(2);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(limiter.shared).toBe(false);
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }
  });
});
