/**
 * SPEC §2 AdminService over what the store holds: producers written by
 * another replica (list order ties), and a store that cannot be reached.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JackError } from '../../src/errors.js';
import { type Producer, Queue } from '../../src/gen/jack/storage.js';
import { encodeProducers } from '../../src/storage/codec.js';
import { createMemoryObjects } from '../../src/storage/memory.js';
import { ABSENT_GENERATION, type ObjectIO } from '../../src/storage/store.js';
import { call, callError, type RunningJack, startJack } from '../support/jack.js';

/** Memory objects that can be switched off, standing for a bucket that cannot be reached. */
function switchableObjects(): ObjectIO & { reachable: boolean } {
  const inner = createMemoryObjects();
  const guard = () => {
    if (!objects.reachable) throw new JackError('unavailable', 'config store unreachable (test)');
  };
  const objects = {
    reachable: true,
    kind: 'memory',
    location: 'switchable test objects',
    async read(...args: Parameters<ObjectIO['read']>) {
      guard();
      return inner.read(...args);
    },
    async write(...args: Parameters<ObjectIO['write']>) {
      guard();
      return inner.write(...args);
    },
    close: () => inner.close(),
  };
  return objects;
}

describe('AdminService with producers stored by another replica', () => {
  it('breaks created_at ties by producer_id', async () => {
    const at = new Date('2026-01-01T00:00:00.000Z');
    const later = new Date('2026-01-02T00:00:00.000Z');
    const producer = (producerId: string, createdAt: Date): Producer => ({
      producerId,
      name: producerId,
      description: '',
      rateLimitRps: 1000,
      principals: [],
      createdAt,
      updatedAt: createdAt,
    });
    const objects = createMemoryObjects();
    await objects.write(
      'producers.json',
      encodeProducers([
        producer('prod_000000cc', later),
        producer('prod_000000bb', at),
        producer('prod_000000dd', at),
        producer('prod_000000aa', at),
      ]),
      ABSENT_GENERATION,
    );
    const jack = await startJack({}, { memoryObjects: objects });
    try {
      const { producers } = await call(jack.admin, 'listProducers', { pageSize: 0, pageToken: '' });
      expect(producers.map((p) => p.producerId)).toEqual([
        'prod_000000aa',
        'prod_000000bb',
        'prod_000000dd',
        'prod_000000cc',
      ]);
    } finally {
      await jack.close();
    }
  });
});

describe('AdminService with an unreachable store', () => {
  let jack: RunningJack;
  let objects: ReturnType<typeof switchableObjects>;
  let producerId: string;
  beforeAll(async () => {
    objects = switchableObjects();
    jack = await startJack({}, { memoryObjects: objects });
    const created = await call(jack.admin, 'createProducer', { name: 'before', description: '' });
    producerId = created.producer?.producerId ?? '';
    objects.reachable = false;
  });
  afterAll(async () => {
    await jack.close();
  });

  it('answers CreateProducer with UNAVAILABLE', async () => {
    const err = await callError(call(jack.admin, 'createProducer', { name: 'x', description: '' }));
    expect(err).toEqual({ code: status.UNAVAILABLE, details: 'config store unreachable (test)' });
  });

  it('answers CreateJobType with UNAVAILABLE', async () => {
    const err = await callError(
      call(jack.admin, 'createJobType', {
        producerId,
        name: 'x',
        queue: Queue.QUEUE_LOW,
        maxRetries: 0,
        description: '',
      }),
    );
    expect(err).toEqual({ code: status.UNAVAILABLE, details: 'config store unreachable (test)' });
  });

  it('answers CreateJobType for a producer it must re-read with UNAVAILABLE, not NOT_FOUND', async () => {
    const err = await callError(
      call(jack.admin, 'createJobType', {
        producerId: 'prod_elsewhere',
        name: 'x',
        queue: Queue.QUEUE_LOW,
        maxRetries: 0,
        description: '',
      }),
    );
    expect(err.code).toBe(status.UNAVAILABLE);
  });

  it('keeps serving reads and enqueue from the last snapshot', async () => {
    const got = await call(jack.admin, 'getProducer', { producerId });
    expect(got.producer?.name).toBe('before');
    const res = await call(jack.jobs, 'enqueue', {
      producerId,
      jobType: 't',
      payload: Buffer.alloc(0),
      runAt: undefined,
      traceId: '',
      correlationId: '',
      idempotencyKey: '',
    });
    expect(res.errorMessages).toEqual([`unregistered job_type: t (producer: ${producerId})`]);
  });
});
