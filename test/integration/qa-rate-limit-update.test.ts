/**
 * QA of SPEC §8 with §10 over real sockets: a producer's rate_limit_rps
 * changed through AdminService.UpdateProducer applies at once on the
 * replica that wrote it and within one CONFIG_REFRESH_INTERVAL on another
 * replica (two apps sharing one store) — lowered, then raised to
 * unlimited — with per-replica buckets and with buckets shared in Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from '../../src/gen/jack/storage.js';
import { createMemoryObjects } from '../../src/storage/memory.js';
import { call, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { type RedisServer, redisAvailable, startRedisServer } from '../support/redis.js';

const REFRESH_MS = 400;

/** Sends one bulk call of `n` jobs; the number admitted and the rate-limit errors. */
async function bulk(jack: RunningJack, producerId: string, n: number) {
  const { results } = await call(jack.jobs, 'enqueueBulk', {
    jobs: Array.from({ length: n }, () =>
      enqueueRequest({ producerId, jobType: 'rate', payload: Buffer.from('{}') }),
    ),
  });
  return {
    admitted: results.filter((r) => r.reason === '').length,
    errors: [...new Set(results.filter((r) => r.reason !== '').map((r) => r.error))],
    reasons: [...new Set(results.map((r) => r.reason))],
  };
}

function setRate(jack: RunningJack, producerId: string, rateLimitRps: number) {
  return call(jack.admin, 'updateProducer', {
    producer: {
      producerId,
      name: '',
      description: '',
      rateLimitRps,
      principals: [],
      createdAt: undefined,
      updatedAt: undefined,
    },
    updateMask: ['rate_limit_rps'],
  });
}

/** Polls `probe` until true; fails when that takes longer than `boundMs`. */
async function msUntil(probe: () => Promise<boolean>, boundMs: number): Promise<void> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > boundMs) throw new Error(`not within ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each([
  ['per-replica buckets', false],
  ['buckets shared in Redis', true],
])('QA §8: rate_limit_rps changed by UpdateProducer (%s)', (_name, useRedis) => {
  const skip = useRedis && !redisAvailable();
  let redis: RedisServer | undefined;
  let writer: RunningJack;
  let other: RunningJack;

  beforeAll(async () => {
    if (skip) return;
    const objects = createMemoryObjects();
    if (useRedis) redis = await startRedisServer();
    const env = {
      RATE_LIMIT_MODE: 'enforce',
      CONFIG_REFRESH_INTERVAL: `${REFRESH_MS}ms`,
      LOG_LEVEL: 'warn',
      ...(redis === undefined ? {} : { REDIS_URL: redis.url }),
    };
    writer = await startJack(env, { memoryObjects: objects });
    other = await startJack(env, { memoryObjects: objects });
  });
  afterAll(async () => {
    await writer?.close();
    await other?.close();
    await redis?.stop();
  });

  it.skipIf(skip)(
    'applies at once on the replica that wrote it and within one refresh on the other',
    async () => {
      const created = await call(writer.admin, 'createProducer', { name: 'r', description: '' });
      const producerId = (created.producer as Producer).producerId;
      await other.app.store.refresh();
      // At the default 1000 jobs/s, 20 jobs pass on both replicas.
      expect((await bulk(other, producerId, 20)).admitted).toBe(20);

      await setRate(writer, producerId, 2);
      const here = await bulk(writer, producerId, 10);
      expect(here.admitted).toBeLessThanOrEqual(2);
      expect(here.errors).toEqual([`rate limit exceeded for producer ${producerId} (2 jobs/s)`]);
      expect(here.reasons).toContain('rate_limited');

      // The other replica still had 1000 jobs/s in its snapshot: it learns
      // the lower rate within one refresh (the bound leaves slack for a
      // loaded machine; a replica that never refreshed would never learn it).
      await msUntil(
        async () => (await bulk(other, producerId, 10)).admitted <= 2,
        REFRESH_MS * 3 + 1000,
      );

      // Raised to unlimited (≤ 0): every job passes again, here at once, there within a refresh.
      await setRate(writer, producerId, 0);
      expect((await bulk(writer, producerId, 50)).admitted).toBe(50);
      await msUntil(
        async () => (await bulk(other, producerId, 50)).admitted === 50,
        REFRESH_MS * 3 + 1000,
      );
    },
  );
});
