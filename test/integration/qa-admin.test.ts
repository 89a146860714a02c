/**
 * QA (hostile black-box) of SPEC §10 over a real socket: field masks with
 * duplicates or unknown paths, missing ids, records that were deleted, and
 * ids far longer than any Jack issues (paging: qa-admin-paging.test.ts).
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/gen/jack/storage.js';
import { call, callError, type RunningJack, startJack } from '../support/jack.js';
import { BLANK_JOB_TYPE, BLANK_PRODUCER, createProducer } from '../support/registry.js';

describe('QA §10: admin edges', () => {
  let jack: RunningJack;
  beforeAll(async () => {
    jack = await startJack({ LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    await jack?.close();
  });

  const newProducer = (name = 'p') => createProducer(jack, name);

  it('UpdateProducer: a path given twice counts once; unknown and fixed paths are refused', async () => {
    const p = await newProducer();
    const { producer } = await call(jack.admin, 'updateProducer', {
      producer: { ...BLANK_PRODUCER, producerId: p.producerId, rateLimitRps: 7 },
      updateMask: ['rate_limit_rps', 'rate_limit_rps'],
    });
    expect(producer?.rateLimitRps).toBe(7);
    expect(producer?.name).toBe('p');
    const unknown = await callError(
      call(jack.admin, 'updateProducer', {
        producer: { ...BLANK_PRODUCER, producerId: p.producerId },
        updateMask: ['name', 'nope'],
      }),
    );
    expect(unknown.code).toBe(status.INVALID_ARGUMENT);
    expect(unknown.details).toContain('"nope"');
  });

  it('UpdateProducer without producer, without producer.producer_id, or of a deleted producer', async () => {
    expect(
      await callError(
        call(jack.admin, 'updateProducer', { producer: undefined, updateMask: ['name'] }),
      ),
    ).toEqual({ code: status.INVALID_ARGUMENT, details: 'producer is required' });
    expect(
      await callError(
        call(jack.admin, 'updateProducer', {
          producer: { ...BLANK_PRODUCER, name: 'x' },
          updateMask: ['name'],
        }),
      ),
    ).toEqual({ code: status.INVALID_ARGUMENT, details: 'producer.producer_id is required' });
    const p = await newProducer();
    await call(jack.admin, 'deleteProducer', { producerId: p.producerId });
    expect(
      await callError(
        call(jack.admin, 'updateProducer', {
          producer: { ...BLANK_PRODUCER, producerId: p.producerId, name: 'back' },
          updateMask: ['name'],
        }),
      ),
    ).toEqual({ code: status.NOT_FOUND, details: `producer not found: ${p.producerId}` });
    expect(await callError(call(jack.admin, 'getProducer', { producerId: p.producerId }))).toEqual({
      code: status.NOT_FOUND,
      details: `producer not found: ${p.producerId}`,
    });
  });

  it('UpdateJobType of a deleted producer’s job type is NOT_FOUND and revives nothing', async () => {
    const p = await newProducer();
    await call(jack.admin, 'createJobType', {
      producerId: p.producerId,
      name: 'send',
      queue: Queue.QUEUE_HIGH,
      maxRetries: 1,
      description: '',
    });
    await call(jack.admin, 'deleteProducer', { producerId: p.producerId });
    expect(
      await callError(
        call(jack.admin, 'updateJobType', {
          jobType: { ...BLANK_JOB_TYPE, producerId: p.producerId, name: 'send', maxRetries: 4 },
          updateMask: ['max_retries', 'max_retries'],
        }),
      ),
    ).toEqual({
      code: status.NOT_FOUND,
      details: `job type not found: send (producer: ${p.producerId})`,
    });
    const listed = await call(jack.admin, 'listJobTypes', {
      producerId: p.producerId,
      pageSize: 0,
      pageToken: '',
    });
    expect(listed.jobTypes).toEqual([]);
  });

  it.each([
    ['getProducer', { producerId: 'x'.repeat(100_000) }],
    ['deleteProducer', { producerId: 'x'.repeat(100_000) }],
    ['getJobType', { producerId: 'x'.repeat(100_000), name: 'n' }],
    ['getJobType', { producerId: 'p', name: 'n'.repeat(100_000) }],
    ['deleteJobType', { producerId: 'x'.repeat(100_000), name: 'n' }],
    ['createApiKey', { producerId: 'x'.repeat(100_000), description: '', role: 0 }],
    [
      'createJobType',
      { producerId: 'x'.repeat(100_000), name: 'n', queue: 0, maxRetries: 0, description: '' },
    ],
  ] as const)(
    '%s with a 100 KB id answers NOT_FOUND with a bounded message',
    async (method, request) => {
      const err = await callError(call(jack.admin, method as 'getProducer', request as never));
      expect(err.code).toBe(status.NOT_FOUND);
      expect(err.details.length).toBeLessThanOrEqual(1024);
    },
  );

  it('UpdateProducer / UpdateJobType with a 100 KB id answer NOT_FOUND with a bounded message', async () => {
    const long = 'x'.repeat(100_000);
    const a = await callError(
      call(jack.admin, 'updateProducer', {
        producer: { ...BLANK_PRODUCER, producerId: long, name: 'n' },
        updateMask: ['name'],
      }),
    );
    expect(a.code).toBe(status.NOT_FOUND);
    expect(a.details.length).toBeLessThanOrEqual(1024);
    const b = await callError(
      call(jack.admin, 'updateJobType', {
        jobType: { ...BLANK_JOB_TYPE, producerId: long, name: 'n' },
        updateMask: ['description'],
      }),
    );
    expect(b.code).toBe(status.NOT_FOUND);
    expect(b.details.length).toBeLessThanOrEqual(1024);
  });
});
