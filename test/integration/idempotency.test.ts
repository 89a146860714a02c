/**
 * Idempotent enqueue (SPEC §9) end to end: Jack over gRPC, the real Pub/Sub
 * emulator, and a real redis-server for the shared store. Every message
 * that lands is pulled and counted by job id.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnqueueRequest, EnqueueResponse } from '../../src/gen/jack/jack.js';
import type { Backend } from '../../src/queue/backend.js';
import { registerProducer } from '../support/admission.js';
import { pubsubEmulatorHost, skipWithoutEmulator, uniqueName } from '../support/emulator.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createPubSubFixture, type PubSubFixture } from '../support/pubsub-topics.js';
import { createRecordingBackend, type RecordingBackend } from '../support/recording-backend.js';
import { type RedisServer, redisAvailable, startRedisServer } from '../support/redis.js';

const withRedis = redisAvailable();

describe.skipIf(skipWithoutEmulator())('idempotent enqueue', () => {
  let pubsub: PubSubFixture;
  let redis: RedisServer | undefined;
  /** Keys in process. */
  let memory: RunningJack;
  /** Two replicas sharing one Redis. */
  let replicaA: RunningJack | undefined;
  let replicaB: RunningJack | undefined;

  beforeAll(async () => {
    pubsub = await createPubSubFixture(pubsubEmulatorHost(), { priorities: ['medium'] });
    const env = { ...pubsub.env(['medium']), LOG_LEVEL: 'info' };
    memory = await startJack({ ...env, METRICS_PORT: '0' });
    if (withRedis) {
      redis = await startRedisServer();
      replicaA = await startJack({ ...env, REDIS_URL: redis.url });
      replicaB = await startJack({ ...env, REDIS_URL: redis.url });
    }
  });
  afterAll(async () => {
    await memory?.close();
    await replicaA?.close();
    await replicaB?.close();
    await redis?.stop();
    await pubsub?.close();
  });

  /** A job of a producer no other test uses. */
  const job = (producerId: string, fields: Partial<EnqueueRequest> = {}) =>
    enqueueRequest({
      producerId,
      jobType: 'send_email',
      payload: Buffer.from('{"to":"a@example.com"}'),
      ...fields,
    });

  /** The job ids of every message that landed for `producerId` (after `atLeast` arrived). */
  const landed = async (producerId: string, atLeast: number): Promise<string[]> => {
    const messages = await pubsub.pull('medium', atLeast);
    return messages
      .filter((m) => m.attributes.producer_id === producerId)
      .map((m) => m.attributes.job_id ?? '');
  };

  it('logs at startup where keys live', () => {
    expect(memory.logs.map((l) => l.msg)).toContain(
      'idempotency keys are kept in process: de-duplication is per replica (set REDIS_URL to share keys between replicas)',
    );
    if (replicaA !== undefined) {
      expect(replicaA.logs.map((l) => l.msg)).toContain(
        'idempotency keys are kept in Redis, shared by replicas',
      );
    }
  });

  const stores = () =>
    [
      ['memory', memory],
      ['redis', replicaA],
    ] as const;

  it('answers a repeated key with the first job id, duplicate, and publishes once', async () => {
    for (const [name, jack] of stores()) {
      if (jack === undefined) continue;
      const producerId = uniqueName(`prod-${name}`);
      const request = job(producerId, { idempotencyKey: 'order-1', correlationId: 'c1' });
      const first = await call(jack.jobs, 'enqueue', request);
      const second = await call(jack.jobs, 'enqueue', { ...request, correlationId: 'c2' });
      expect(first.duplicate).toBe(false);
      expect(second).toEqual({
        jobId: first.jobId,
        errorMessages: [],
        correlationId: 'c2',
        duplicate: true,
      });
      expect(await landed(producerId, 1)).toEqual([first.jobId]);
    }
  });

  it('publishes once for 20 concurrent calls with one key: OK with that id, or ABORTED', async () => {
    for (const [name, jack] of stores()) {
      if (jack === undefined) continue;
      const producerId = uniqueName(`prod-${name}`);
      const request = job(producerId, { idempotencyKey: 'burst' });
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          call(jack.jobs, 'enqueue', request).then(
            (response) => ({ ok: response }),
            (err: { code: number; details: string }) => ({ err }),
          ),
        ),
      );
      const ids = await landed(producerId, 1);
      expect(ids).toHaveLength(1);
      expectOneJob(answers, ids[0] as string);
    }
  });

  it.skipIf(!withRedis)('publishes once across two replicas sharing Redis', async () => {
    const a = replicaA as RunningJack;
    const b = replicaB as RunningJack;
    const producerId = uniqueName('prod-replicas');
    const request = job(producerId, { idempotencyKey: 'shared' });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call((i % 2 === 0 ? a : b).jobs, 'enqueue', request).then(
          (response) => ({ ok: response }),
          (err: { code: number; details: string }) => ({ err }),
        ),
      ),
    );
    const ids = await landed(producerId, 1);
    expect(ids).toHaveLength(1);
    expectOneJob(answers, ids[0] as string);
    for (const jack of [a, b]) {
      expect(await call(jack.jobs, 'enqueue', request)).toMatchObject({
        jobId: ids[0],
        duplicate: true,
      });
    }
  });

  it('refuses another request with a used key: ALREADY_EXISTS naming the job', async () => {
    const producerId = uniqueName('prod-conflict');
    const first = await call(memory.jobs, 'enqueue', job(producerId, { idempotencyKey: 'k1' }));
    const err = await callError(
      call(
        memory.jobs,
        'enqueue',
        job(producerId, { idempotencyKey: 'k1', payload: Buffer.from('{"to":"b@example.com"}') }),
      ),
    );
    expect(err).toEqual({
      code: status.ALREADY_EXISTS,
      details: `idempotency key k1 was used for job ${first.jobId} with a different request`,
    });
    // run_at is part of the request too.
    const later = await callError(
      call(
        memory.jobs,
        'enqueue',
        job(producerId, { idempotencyKey: 'k1', runAt: new Date(Date.now() + 10_000) }),
      ),
    );
    expect(later.code).toBe(status.ALREADY_EXISTS);
    expect(await landed(producerId, 1)).toEqual([first.jobId]);
  });

  it('scopes keys to their producer', async () => {
    const p1 = uniqueName('prod-scope');
    const p2 = uniqueName('prod-scope');
    const one = await call(memory.jobs, 'enqueue', job(p1, { idempotencyKey: 'same' }));
    const two = await call(
      memory.jobs,
      'enqueue',
      job(p2, { idempotencyKey: 'same', payload: Buffer.from('other') }),
    );
    expect(two.duplicate).toBe(false);
    expect(two.jobId).not.toBe(one.jobId);
    const messages = await pubsub.pull('medium', 2);
    expect(messages.map((m) => m.attributes.job_id).sort()).toEqual([one.jobId, two.jobId].sort());
  });

  it('refuses a key over 256 bytes before anything else happens', async () => {
    const producerId = uniqueName('prod-long');
    const err = await callError(
      call(memory.jobs, 'enqueue', job(producerId, { idempotencyKey: 'k'.repeat(257) })),
    );
    expect(err).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'idempotency_key is 257 bytes, longer than the limit of 256 bytes',
    });
    // A bad request is reported as such, not as a key conflict.
    await call(memory.jobs, 'enqueue', job(producerId, { idempotencyKey: 'v' }));
    const missing = await callError(
      call(memory.jobs, 'enqueue', job(producerId, { idempotencyKey: 'v', jobType: '' })),
    );
    expect(missing).toEqual({ code: status.INVALID_ARGUMENT, details: 'job_type is required' });
    await landed(producerId, 1);
  });

  it('releases the key after a definite failure (INVALID_ARGUMENT while encoding)', async () => {
    const legacy = await startJack({ ...pubsub.env(['medium']), MESSAGE_FORMAT: 'legacy' });
    try {
      const producerId = uniqueName('prod-release');
      const bad = await callError(
        call(
          legacy.jobs,
          'enqueue',
          job(producerId, { idempotencyKey: 'k', payload: Buffer.from('not json') }),
        ),
      );
      expect(bad.code).toBe(status.INVALID_ARGUMENT);
      // The key is free: a different request may use it now.
      const good = await call(legacy.jobs, 'enqueue', job(producerId, { idempotencyKey: 'k' }));
      expect(good.duplicate).toBe(false);
      expect(await landed(producerId, 1)).toEqual([good.jobId]);
    } finally {
      await legacy.close();
    }
  });

  it('EnqueueBulk: repeated keys within one call and across calls', async () => {
    const producerId = uniqueName('prod-bulk');
    const a = job(producerId, { idempotencyKey: 'a', correlationId: 'a1' });
    const aAgain = { ...a, correlationId: 'a2' };
    const aOther = job(producerId, {
      idempotencyKey: 'a',
      payload: Buffer.from('different'),
      correlationId: 'a3',
    });
    const b = job(producerId, { idempotencyKey: 'b', correlationId: 'b1' });
    const plain = job(producerId, { correlationId: 'plain' });
    const first = await call(memory.jobs, 'enqueueBulk', { jobs: [a, aAgain, aOther, b, plain] });
    const [r0, r1, r2, r3, r4] = first.results;
    expect(r0).toMatchObject({ error: '', duplicate: false, correlationId: 'a1' });
    expect(r1).toMatchObject({ jobId: r0?.jobId, duplicate: true, correlationId: 'a2' });
    expect(r2).toMatchObject({
      jobId: '',
      reason: 'idempotency_conflict',
      error: `idempotency key a was used for job ${r0?.jobId} with a different request`,
      duplicate: false,
    });
    expect(r3).toMatchObject({ error: '', duplicate: false });
    expect(r4).toMatchObject({ error: '', duplicate: false });

    const second = await call(memory.jobs, 'enqueueBulk', { jobs: [b, a, aOther, plain] });
    expect(second.results.map((r) => [r.jobId, r.duplicate, r.reason])).toEqual([
      [r3?.jobId, true, ''],
      [r0?.jobId, true, ''],
      ['', false, 'idempotency_conflict'],
      [expect.stringMatching(/^pjob_/), false, ''],
    ]);
    const ids = await landed(producerId, 4);
    expect(ids.sort()).toEqual([r0?.jobId, r3?.jobId, r4?.jobId, second.results[3]?.jobId].sort());
  });

  it('EnqueueBulk: a key used before, repeated in one call, is answered by its record (not in_progress)', async () => {
    const producerId = uniqueName('prod-bulk-repeat');
    const a = job(producerId, { idempotencyKey: 'k' });
    const aOther = job(producerId, { idempotencyKey: 'k', payload: Buffer.from('different') });
    const original = await call(memory.jobs, 'enqueue', a);
    const bulk = await call(memory.jobs, 'enqueueBulk', { jobs: [aOther, a] });
    expect(bulk.results.map((r) => [r.jobId, r.duplicate, r.reason])).toEqual([
      ['', false, 'idempotency_conflict'],
      [original.jobId, true, ''],
    ]);
    expect(await landed(producerId, 1)).toEqual([original.jobId]);
  });

  it('EnqueueBulk across two replicas sharing Redis: a repeated key is a duplicate', async () => {
    if (replicaA === undefined || replicaB === undefined) return expect(withRedis).toBe(false);
    const producerId = uniqueName('prod-bulk-redis');
    const jobs = [
      job(producerId, { idempotencyKey: 'x' }),
      job(producerId, { idempotencyKey: 'y' }),
    ];
    const first = await call(replicaA.jobs, 'enqueueBulk', { jobs });
    const second = await call(replicaB.jobs, 'enqueueBulk', { jobs });
    expect(second.results.map((r) => [r.jobId, r.duplicate])).toEqual(
      first.results.map((r) => [r.jobId, true]),
    );
    expect((await landed(producerId, 2)).sort()).toEqual(first.results.map((r) => r.jobId).sort());
  });

  it.skipIf(!withRedis)(
    'lets another replica retry, with the same job id, after the owner died',
    async () => {
      // Replica "dying" takes the message and never answers: its claim stays
      // pending until the lease (2 × 500 ms + 1 s) runs out.
      const taken: string[] = [];
      const hanging: Backend = {
        kind: 'hanging',
        publish: (message) => {
          taken.push(message.jobId);
          return new Promise<string>(() => {});
        },
        publishMany: (messages) => Promise.all(messages.map(() => new Promise<never>(() => {}))),
        check: async () => {},
        close: async () => {},
      };
      const env = {
        ...pubsub.env(['medium']),
        REDIS_URL: (redis as RedisServer).url,
        PUBSUB_PUBLISH_TIMEOUT: '500ms',
        SHUTDOWN_GRACE_PERIOD: '0',
      };
      const dying = await startJack(env, { backend: hanging });
      const survivor = await startJack(env);
      try {
        const producerId = uniqueName('prod-crash');
        const request = job(producerId, { idempotencyKey: 'crash' });
        const lost = await callError(call(dying.jobs, 'enqueue', request, {}, 300));
        expect(lost.code).toBe(status.DEADLINE_EXCEEDED);
        expect(taken).toHaveLength(1);
        await dying.close();
        // Within the lease the key is still in flight.
        expect((await callError(call(survivor.jobs, 'enqueue', request))).code).toBe(
          status.ABORTED,
        );
        const deadline = Date.now() + 10_000;
        let retry: EnqueueResponse | undefined;
        while (retry === undefined) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          retry = await call(survivor.jobs, 'enqueue', request).catch((e: { code: number }) => {
            if (e.code !== status.ABORTED || Date.now() > deadline) throw e;
            return undefined;
          });
        }
        expect(retry).toMatchObject({ jobId: taken[0], duplicate: false });
        expect(await landed(producerId, 1)).toEqual([taken[0]]);
      } finally {
        await dying.close();
        await survivor.close();
      }
    },
  );

  it('counts duplicates, conflicts and claims in the metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${memory.app.metricsPort}/metrics`)).text();
    const count = (outcome: string) =>
      Number(
        new RegExp(`^jack_idempotency_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(
          text,
        )?.[1],
      );
    expect(count('duplicate')).toBeGreaterThanOrEqual(4);
    expect(count('conflict')).toBeGreaterThanOrEqual(4);
    expect(count('in_progress')).toBeGreaterThanOrEqual(0);
    expect(count('claimed')).toBeGreaterThanOrEqual(6);
    expect(count('store_error')).toBe(0);
  });
});

/** Every answer is OK with `jobId` or ABORTED "in progress"; at least one is OK. */
function expectOneJob(
  answers: ({ ok: EnqueueResponse } | { err: { code: number; details: string } })[],
  jobId: string,
): void {
  let ok = 0;
  for (const answer of answers) {
    if ('ok' in answer) {
      ok += 1;
      expect(answer.ok.jobId).toBe(jobId);
    } else {
      expect(answer.err).toMatchObject({
        code: status.ABORTED,
        details: 'a call with this idempotency key is in progress',
      });
    }
  }
  expect(ok).toBeGreaterThanOrEqual(1);
}

/**
 * QA of SPEC §9 on the in-process key store: "two publishes of one key
 * never happen concurrently" must hold also when the store is full
 * (IDEMPOTENCY_MAX_KEYS) and evicts its least recently used keys while a
 * call with a key is still in flight.
 */
describe('a full in-process key store while a keyed call is in flight', () => {
  let jack: RunningJack;
  let recording: RecordingBackend;
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let heldStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    heldStarted = resolve;
  });

  beforeAll(async () => {
    recording = createRecordingBackend();
    // Jobs of type `slow` wait at the broker until the test opens the gate.
    const backend: Backend = {
      ...recording,
      async publish(message) {
        if (message.attributes.job_type === 'slow') {
          heldStarted();
          await gate;
        }
        return recording.publish(message);
      },
      publishMany(messages) {
        return Promise.allSettled(messages.map((m) => backend.publish(m)));
      },
    };
    jack = await startJack({ IDEMPOTENCY_MAX_KEYS: '10', LOG_LEVEL: 'warn' }, { backend });
  });
  afterAll(async () => {
    open();
    await jack?.close();
  });

  it('answers ABORTED (bulk: in_progress) for the in-flight key after twenty other keys, and publishes it once', async () => {
    const held = enqueueRequest({ producerId: 'prod_q', jobType: 'slow', idempotencyKey: 'held' });
    const first = call(jack.jobs, 'enqueue', held);
    await started;
    for (let i = 0; i < 20; i++) {
      await call(
        jack.jobs,
        'enqueue',
        enqueueRequest({ producerId: 'prod_q', jobType: 'fast', idempotencyKey: `k${i}` }),
      );
    }
    expect(await callError(call(jack.jobs, 'enqueue', held, {}, 2_000))).toEqual({
      code: status.ABORTED,
      details: 'a call with this idempotency key is in progress',
    });
    // In a bulk call the same key fails alone with reason in_progress.
    const { results } = await call(jack.jobs, 'enqueueBulk', {
      jobs: [held, enqueueRequest({ producerId: 'prod_q', jobType: 'fast', correlationId: 'x' })],
    });
    expect(results.map((r) => [r.reason, r.error, r.jobId === ''])).toEqual([
      ['in_progress', 'a call with this idempotency key is in progress', true],
      ['', '', false],
    ]);
    open();
    const { jobId } = await first;
    // A later repeat is a duplicate of the one job.
    expect(await call(jack.jobs, 'enqueue', held)).toMatchObject({ jobId, duplicate: true });
    const slow = recording.published.filter((m) => m.attributes.job_type === 'slow');
    expect(slow.map((m) => m.jobId)).toEqual([jobId]);
  });
});

/**
 * QA of SPEC §9 with §8 over a real socket: a key whose first call was
 * refused by admission control (VALIDATION_MODE=enforce, a rate limit) is
 * released, so the retry is a first use, not ABORTED or a conflict; a
 * duplicate answers with the first job id, publishes nothing and echoes the
 * new call's correlation_id; the 256-byte bound counts UTF-8 bytes.
 */
describe('idempotency keys and admission control', () => {
  let jack: RunningJack;
  let backend: RecordingBackend;
  beforeAll(async () => {
    backend = createRecordingBackend();
    jack = await startJack(
      { VALIDATION_MODE: 'enforce', RATE_LIMIT_MODE: 'enforce', LOG_LEVEL: 'warn' },
      { backend },
    );
  });
  afterAll(async () => {
    await jack?.close();
  });

  const enqueue = (fields: Partial<EnqueueRequest>) =>
    call(
      jack.jobs,
      'enqueue',
      enqueueRequest({ jobType: 'send', payload: Buffer.from('1'), ...fields }),
    );
  const publishedFor = (producerId: string) =>
    backend.published.filter((m) => m.attributes.producer_id === producerId).length;

  /** Job type `send` (queue 2 = high, 3 retries) of `producerId`, straight in the store. */
  const registerSendJobType = (producerId: string) =>
    jack.app.store.createJobType({
      producerId,
      name: 'send',
      queue: 2,
      maxRetries: 3,
      description: '',
      createdAt: new Date(),
      updatedAt: new Date(),
    });

  it('releases a key whose first call was NOT_FOUND (unregistered): the retry enqueues', async () => {
    const producerId = `prod_${Date.now().toString(16).slice(-8)}`;
    expect(await callError(enqueue({ producerId, idempotencyKey: 'k' }))).toEqual({
      code: status.NOT_FOUND,
      details: `unregistered producer_id: ${producerId}`,
    });
    await registerProducer(jack, 'late', 0, producerId);
    await registerSendJobType(producerId);
    const ok = await enqueue({ producerId, idempotencyKey: 'k' });
    expect(ok.duplicate).toBe(false);
    expect(publishedFor(producerId)).toBe(1);
  });

  it('releases a key whose first call was rate limited; a duplicate takes no token and echoes its correlation_id', async () => {
    const producerId = await registerProducer(jack, 'slow', 1);
    await registerSendJobType(producerId);
    const first = await enqueue({ producerId, idempotencyKey: 'a', correlationId: 'c1' });
    expect(first).toMatchObject({ duplicate: false, correlationId: 'c1' });
    // The bucket (1 job/s) is empty now: a repeat of `a` is answered, not limited.
    const again = await enqueue({ producerId, idempotencyKey: 'a', correlationId: 'c2' });
    expect(again).toEqual({
      jobId: first.jobId,
      errorMessages: [],
      correlationId: 'c2',
      duplicate: true,
    });
    const limited = await callError(enqueue({ producerId, idempotencyKey: 'b' }));
    expect(limited).toEqual({
      code: status.RESOURCE_EXHAUSTED,
      details: `rate limit exceeded for producer ${producerId} (1 jobs/s)`,
    });
    await sleep(1100);
    const retried = await enqueue({ producerId, idempotencyKey: 'b' });
    expect(retried.duplicate).toBe(false);
    expect(publishedFor(producerId)).toBe(2);
  });

  it('bounds a key at 256 bytes of UTF-8, not 256 characters', async () => {
    const producerId = await registerProducer(jack, 'utf8', 0);
    await registerSendJobType(producerId);
    expect((await enqueue({ producerId, idempotencyKey: 'é'.repeat(128) })).duplicate).toBe(false);
    expect(await callError(enqueue({ producerId, idempotencyKey: `${'é'.repeat(128)}a` }))).toEqual(
      {
        code: status.INVALID_ARGUMENT,
        details: 'idempotency_key is 257 bytes, longer than the limit of 256 bytes',
      },
    );
  });
});
