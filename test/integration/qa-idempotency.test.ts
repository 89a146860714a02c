/**
 * QA of SPEC §9 with §8 over a real socket: a key whose first call was
 * refused by admission control (VALIDATION_MODE=enforce, a rate limit) is
 * released, so the retry is a first use, not ABORTED or a conflict; a
 * duplicate answers with the first job id, publishes nothing and echoes the
 * new call's correlation_id; the 256-byte bound counts UTF-8 bytes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnqueueRequest } from '../../src/gen/jack/jack.js';
import { registerProducer } from '../support/admission.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createRecordingBackend, type RecordingBackend } from '../support/recording-backend.js';

describe('QA §9: idempotency keys and admission control', () => {
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
