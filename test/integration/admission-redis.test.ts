/**
 * SPEC §8 rate limits shared through a real redis-server by two replicas
 * (two apps on one config store): together they admit about one limit, not
 * two; when Redis is killed mid-run no call fails because of it and each
 * replica keeps limiting on its own; once Redis is back they share again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryObjects } from '../../src/storage/memory.js';
import { driveEnqueue, registerProducer } from '../support/admission.js';
import { call, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { type RedisServer, redisAvailable, startRedisServer } from '../support/redis.js';

const RATE = 20;

describe.skipIf(!redisAvailable())('rate limits shared through Redis by two replicas', () => {
  let redis: RedisServer;
  let replicas: RunningJack[];

  beforeAll(async () => {
    redis = await startRedisServer();
    const memoryObjects = createMemoryObjects();
    const env = {
      RATE_LIMIT_MODE: 'enforce',
      REDIS_URL: redis.url,
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    };
    replicas = [await startJack(env, { memoryObjects }), await startJack(env, { memoryObjects })];
  });
  afterAll(async () => {
    await Promise.all((replicas ?? []).map((r) => r.close()));
    await redis?.stop();
  });

  /** A producer at RATE jobs/s that both replicas know. */
  async function producer(name: string): Promise<string> {
    const id = await registerProducer(replicas[0] as RunningJack, name, RATE);
    await Promise.all(replicas.map((r) => r.app.store.refresh()));
    return id;
  }

  async function fallbackGauge(jack: RunningJack): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${jack.app.metricsPort}/metrics`)).text();
    const match = /^jack_rate_limiter_fallback (\d+)/m.exec(text);
    return Number(match?.[1] ?? Number.NaN);
  }

  it('admits about one limit across both replicas, not two', async () => {
    const id = await producer('shared');
    const seconds = 2;
    const result = await driveEnqueue(replicas, id, RATE * 5, seconds * 1000);
    expect(result.other).toEqual([]);
    const oneLimit = RATE * result.seconds + RATE; // refill over the run + one burst
    // A fallback (Redis slower than the limiter's timeout on a starved machine) explains a miss.
    const fallbacks = replicas.flatMap((r) =>
      r.logs.filter((l) => String(l.msg).startsWith('rate limiter')).map((l) => l.reason),
    );
    expect(result.ok, `fallbacks: ${JSON.stringify(fallbacks)}`).toBeLessThanOrEqual(
      oneLimit * 1.2,
    );
    expect(result.ok).toBeGreaterThanOrEqual(RATE * seconds * 0.8);
  });

  it('falls back per replica while Redis is down, never failing a call for it, and shares again after', async () => {
    const id = await producer('outage');
    const before = await driveEnqueue(replicas, id, RATE * 5, 500);
    expect(before.other).toEqual([]);

    await redis.stop();
    const during = await driveEnqueue(replicas, id, RATE * 5, 1500);
    // No UNAVAILABLE (or anything else) because of Redis: OK or RESOURCE_EXHAUSTED only.
    expect(during.other).toEqual([]);
    // Still limited, per replica: at most a burst and the refill of the run each.
    expect(during.ok).toBeLessThanOrEqual(2 * (RATE + RATE * during.seconds) * 1.1);
    expect(during.limited).toBeGreaterThanOrEqual(RATE);
    for (const jack of replicas) {
      expect(await fallbackGauge(jack)).toBe(1);
      expect(jack.logs.some((l) => String(l.msg).includes('each replica limits on its own'))).toBe(
        true,
      );
    }

    await redis.restart();
    // Each replica switches back on its first call after reconnecting.
    const deadline = Date.now() + 8000;
    const probe = enqueueRequest({
      producerId: 'prod_probe',
      jobType: 'p',
      payload: Buffer.from('{}'),
    });
    for (;;) {
      await Promise.all(replicas.map((r) => call(r.jobs, 'enqueue', probe)));
      const gauges = await Promise.all(replicas.map(fallbackGauge));
      if (gauges.every((g) => g === 0)) break;
      if (Date.now() > deadline) throw new Error(`still in fallback: ${gauges.join(',')}`);
      await sleep(100);
    }
    const fresh = await producer('after');
    const after = await driveEnqueue(replicas, fresh, RATE * 5, 1000);
    expect(after.other).toEqual([]);
    expect(after.ok).toBeLessThanOrEqual((RATE + RATE * after.seconds) * 1.2);
    for (const jack of replicas) {
      expect(jack.logs.some((l) => String(l.msg).includes('shared through redis again'))).toBe(
        true,
      );
    }
  });
});
