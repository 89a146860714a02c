/**
 * Runs the idempotency store contract against both media: in process, and
 * a real redis-server shared by two connections (two replicas).
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { isJackError } from '../../src/errors.js';
import { createMemoryIdempotencyStore } from '../../src/idempotency/memory.js';
import { createRedisIdempotencyStore, KEY_PREFIX } from '../../src/idempotency/redis.js';
import type { IdempotencyStore } from '../../src/idempotency/store.js';
import { createRedisConnection } from '../../src/redis.js';
import { describeIdempotencyStoreContract } from '../contract/idempotency-store.contract.js';
import { type RedisServer, redisAvailable, startRedisServer } from '../support/redis.js';

const logger = pino({ level: 'silent' });

describeIdempotencyStoreContract('memory', false, async () => ({
  open: async () => createMemoryIdempotencyStore({ maxKeys: 1000 }),
  dispose: async () => {},
}));

const withRedis = redisAvailable();
/** One redis-server for the whole file, started by the first fixture. */
let server: Promise<RedisServer> | undefined;
afterAll(async () => {
  await (await server)?.stop();
});

/** A store on its own connection (= one replica); closing it closes the connection. */
async function openRedisStore(url: string): Promise<IdempotencyStore> {
  const connection = createRedisConnection({ url, logger });
  if (!(await connection.waitUntilReady(5000))) throw new Error('redis did not become ready');
  const store = createRedisIdempotencyStore({ connection });
  return { ...store, close: () => connection.close() };
}

/** Runs `use` with a store (one replica) and a plain client, both on the file's redis-server. */
async function withStoreAndClient(
  use: (store: IdempotencyStore, raw: Redis) => Promise<void>,
): Promise<void> {
  server ??= startRedisServer();
  const { url } = await server;
  const store = await openRedisStore(url);
  const raw = new Redis(url);
  try {
    await use(store, raw);
  } finally {
    raw.disconnect();
    await store.close();
  }
}

describe.skipIf(!withRedis)('redis (real redis-server)', () => {
  describeIdempotencyStoreContract('redis', true, async () => {
    server ??= startRedisServer();
    const { url } = await server;
    return { open: () => openRedisStore(url), dispose: async () => {} };
  });

  it('answers UNAVAILABLE at once while Redis is down, and works again after it is back', async () => {
    server ??= startRedisServer();
    const redis = await server;
    const store = await openRedisStore(redis.url);
    const request = {
      key: `outage-${Date.now()}`,
      fingerprint: 'fp',
      jobId: 'pjob_1',
      leaseMs: 60_000,
      ttlMs: 60_000,
    };
    try {
      await redis.stop();
      const started = Date.now();
      const err = await store.claim(request).catch((e: unknown) => e);
      expect(isJackError(err, 'unavailable')).toBe(true);
      expect((err as Error).message).toBe('the idempotency store (Redis) cannot be reached');
      expect(Date.now() - started).toBeLessThan(3000);
      await redis.restart();
      const deadline = Date.now() + 10_000;
      let result = await store.claim(request).catch(() => undefined);
      while (result === undefined && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        result = await store.claim(request).catch(() => undefined);
      }
      expect(result).toMatchObject({ kind: 'claimed', jobId: 'pjob_1' });
    } finally {
      await store.close();
    }
  });

  it('keeps one string per key, living its TTL, in the format every replica reads', () =>
    withStoreAndClient(async (store, raw) => {
      const key = `format-${Date.now()}`;
      const stored = KEY_PREFIX + key;
      const claim = await store.claim({
        key,
        fingerprint: 'fp-x',
        jobId: 'pjob_f',
        leaseMs: 10_000,
        ttlMs: 60_000,
      });
      if (claim.kind !== 'claimed') throw new Error('not claimed');
      // Pending: stale once its remaining life is at most TTL - lease.
      expect(await raw.get(stored)).toMatch(/^p\|50000\|[0-9a-f-]{36}\|pjob_f\|fp-x$/);
      expect(await raw.pttl(stored)).toBeGreaterThan(59_000);
      await store.complete(key, claim.token, 120_000);
      expect(await raw.get(stored)).toBe('d|0||pjob_f|fp-x');
      expect(await raw.pttl(stored)).toBeGreaterThan(119_000);
    }));

  it('refuses a key that holds a value Jack did not write, and leaves it as it is', () =>
    withStoreAndClient(async (store, raw) => {
      const request = { fingerprint: 'fp', jobId: 'pjob_1', leaseMs: 60_000, ttlMs: 60_000 };
      const text = `foreign-text-${Date.now()}`;
      const hash = `foreign-hash-${Date.now()}`;
      await raw.set(KEY_PREFIX + text, 'not an entry');
      await raw.hset(KEY_PREFIX + hash, 's', 'p');
      const unreadable = await store.claim({ ...request, key: text }).catch((e: unknown) => e);
      expect(isJackError(unreadable, 'internal')).toBe(true);
      const wrongType = await store.claim({ ...request, key: hash }).catch((e: unknown) => e);
      expect(isJackError(wrongType)).toBe(true);
      expect(await raw.get(KEY_PREFIX + text)).toBe('not an entry');
      expect(await raw.hgetall(KEY_PREFIX + hash)).toEqual({ s: 'p' });
    }));
});
