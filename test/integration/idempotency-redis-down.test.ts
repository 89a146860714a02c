/**
 * Idempotent enqueue (SPEC §9) while its Redis is down: calls with a key get
 * UNAVAILABLE (and a warning in the log), calls without one go on, and keys
 * work again once Redis is back. Jack over gRPC, the Pub/Sub emulator and a
 * real redis-server that the test stops and restarts.
 */
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { EnqueueResponse } from '../../src/gen/jack/jack.js';
import { pubsubEmulatorHost, skipWithoutEmulator, uniqueName } from '../support/emulator.js';
import { call, callError, enqueueRequest, startJack } from '../support/jack.js';
import { createPubSubFixture } from '../support/pubsub-topics.js';
import { redisAvailable, startRedisServer } from '../support/redis.js';

const withRedis = redisAvailable();

describe.skipIf(skipWithoutEmulator() || !withRedis)(
  'idempotent enqueue while Redis is down',
  () => {
    it('answers UNAVAILABLE to calls with a key only, and recovers', async () => {
      const pubsub = await createPubSubFixture(pubsubEmulatorHost(), { priorities: ['medium'] });
      const redis = await startRedisServer();
      const jack = await startJack({ ...pubsub.env(['medium']), REDIS_URL: redis.url });
      try {
        const producerId = uniqueName('prod-redis-down');
        const keyed = enqueueRequest({
          producerId,
          jobType: 'send_email',
          payload: Buffer.from('{}'),
          idempotencyKey: 'k',
        });
        await redis.stop();
        const err = await callError(call(jack.jobs, 'enqueue', keyed, {}, 5_000));
        expect(err).toEqual({
          code: status.UNAVAILABLE,
          details: 'the idempotency store cannot be reached; retry later',
        });
        const logged = jack.logs.find((l) => l.msg === 'idempotency store: claim failed');
        expect(logged).toMatchObject({
          level: 'warn',
          store: 'redis',
          reason: 'the idempotency store (Redis) cannot be reached',
        });
        const bulk = await call(jack.jobs, 'enqueueBulk', {
          jobs: [keyed, { ...keyed, idempotencyKey: '' }],
        });
        expect(bulk.results.map((r) => r.reason)).toEqual(['unavailable', '']);
        const plain = await call(jack.jobs, 'enqueue', { ...keyed, idempotencyKey: '' });
        expect(plain.jobId).toMatch(/^pjob_/);

        await redis.restart();
        const deadline = Date.now() + 10_000;
        let after: EnqueueResponse | undefined;
        while (after === undefined) {
          after = await call(jack.jobs, 'enqueue', keyed).catch((e: { code: number }) => {
            if (e.code !== status.UNAVAILABLE || Date.now() > deadline) throw e;
            return undefined;
          });
        }
        expect(after.duplicate).toBe(false);
        const ids = (await pubsub.pull('medium', 3)).map((m) => m.attributes.job_id);
        expect(ids.sort()).toEqual([bulk.results[1]?.jobId, plain.jobId, after.jobId].sort());
      } finally {
        await jack.close();
        await redis.stop();
        await pubsub.close();
      }
    });
  },
);
