/**
 * SPEC §2 AdminService over gRPC: producers and job types, their defaults,
 * validation codes and list orders (stored by another replica, or an
 * unreachable store: admin-store.test.ts).
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/gen/jack/storage.js';
import { call, callError, type RunningJack, startJack } from '../support/jack.js';
import { BLANK_JOB_TYPE, BLANK_PRODUCER, createProducer } from '../support/registry.js';

describe('AdminService', () => {
  let jack: RunningJack;
  beforeAll(async () => {
    jack = await startJack();
  });
  afterAll(async () => {
    await jack.close();
  });

  const createProducer = (name: string, description = '') =>
    call(jack.admin, 'createProducer', { name, description });
  const createJobType = (fields: {
    producerId: string;
    name: string;
    queue?: Queue;
    maxRetries?: number;
    description?: string;
  }) =>
    call(jack.admin, 'createJobType', {
      queue: Queue.QUEUE_UNSPECIFIED,
      maxRetries: 0,
      description: '',
      ...fields,
    });

  describe('CreateProducer', () => {
    it.each([
      { name: '', why: 'empty' },
      { name: '   ', why: 'blank' },
    ])('requires a name ($why) with INVALID_ARGUMENT', async ({ name }) => {
      const err = await callError(createProducer(name));
      expect(err).toEqual({ code: status.INVALID_ARGUMENT, details: 'name is required' });
    });

    it('refuses a name over 256 bytes with INVALID_ARGUMENT (SPEC §6)', async () => {
      await createProducer('é'.repeat(128));
      const err = await callError(createProducer('é'.repeat(129)));
      expect(err).toEqual({
        code: status.INVALID_ARGUMENT,
        details: 'name is longer than 256 bytes',
      });
    });

    it('refuses a description over 4096 bytes, so no caller can poison the store', async () => {
      await createProducer('long but fine', 'd'.repeat(4096));
      const err = await callError(createProducer('poison', 'd'.repeat(1024 * 1024)));
      expect(err).toEqual({
        code: status.INVALID_ARGUMENT,
        details: 'description is longer than 4096 bytes',
      });
      const listed = await call(jack.admin, 'listProducers', { pageSize: 0, pageToken: '' });
      expect(listed.producers.some((p) => p.name === 'poison')).toBe(false);
    });

    it('generates prod_ + 8 hex digits, rate_limit_rps 1000, created_at = updated_at = now', async () => {
      const before = Date.now();
      const { producer } = await createProducer('billing', 'invoices and receipts');
      const after = Date.now();
      expect(producer?.producerId).toMatch(/^prod_[0-9a-f]{8}$/);
      expect(producer).toMatchObject({
        name: 'billing',
        description: 'invoices and receipts',
        rateLimitRps: 1000,
        principals: [],
      });
      const createdMs = producer?.createdAt?.getTime() ?? 0;
      expect(createdMs).toBeGreaterThanOrEqual(before);
      expect(createdMs).toBeLessThanOrEqual(after);
      expect(producer?.updatedAt?.getTime()).toBe(createdMs);
    });

    it('allows the same name twice, with different ids', async () => {
      const first = await createProducer('twin');
      const second = await createProducer('twin');
      expect(first.producer?.producerId).not.toBe(second.producer?.producerId);
      const listed = await call(jack.admin, 'listProducers', { pageSize: 0, pageToken: '' });
      expect(listed.producers.filter((p) => p.name === 'twin')).toHaveLength(2);
    });
  });

  describe('GetProducer', () => {
    it('requires producer_id with INVALID_ARGUMENT', async () => {
      const err = await callError(call(jack.admin, 'getProducer', { producerId: '' }));
      expect(err).toEqual({ code: status.INVALID_ARGUMENT, details: 'producer_id is required' });
    });

    it('answers an unknown id with NOT_FOUND "producer not found: <id>"', async () => {
      const err = await callError(call(jack.admin, 'getProducer', { producerId: 'prod_00000000' }));
      expect(err).toEqual({
        code: status.NOT_FOUND,
        details: 'producer not found: prod_00000000',
      });
    });

    it('returns the producer as created', async () => {
      const { producer } = await createProducer('lookup', 'found by id');
      const got = await call(jack.admin, 'getProducer', { producerId: producer?.producerId ?? '' });
      expect(got.producer).toEqual(producer);
    });
  });

  describe('ListProducers', () => {
    it('lists every producer ordered by created_at, then producer_id', async () => {
      for (let i = 0; i < 8; i++) await createProducer(`listed-${i}`);
      const { producers } = await call(jack.admin, 'listProducers', { pageSize: 0, pageToken: '' });
      const names = producers.map((p) => p.name);
      for (let i = 0; i < 8; i++) expect(names).toContain(`listed-${i}`);
      const sorted = [...producers].sort(
        (a, b) =>
          (a.createdAt?.getTime() ?? 0) - (b.createdAt?.getTime() ?? 0) ||
          (a.producerId < b.producerId ? -1 : 1),
      );
      expect(producers.map((p) => p.producerId)).toEqual(sorted.map((p) => p.producerId));
    });
  });

  describe('CreateJobType', () => {
    let producerId: string;
    beforeAll(async () => {
      producerId = (await createProducer('jobs-owner')).producer?.producerId ?? '';
    });

    it.each([
      { fields: { producerId: '', name: 'x' }, details: 'producer_id is required' },
      { fields: { producerId: '', name: '' }, details: 'producer_id is required' },
      { fields: { producerId: 'prod_any', name: '' }, details: 'name is required' },
      { fields: { producerId: 'prod_any', name: ' \t ' }, details: 'name is required' },
    ])('requires producer_id and name: $details', async ({ fields, details }) => {
      const err = await callError(createJobType(fields));
      expect(err).toEqual({ code: status.INVALID_ARGUMENT, details });
    });

    it('refuses a name over 256 bytes or a description over 4096 bytes (SPEC §6)', async () => {
      expect(await callError(createJobType({ producerId, name: 'n'.repeat(257) }))).toEqual({
        code: status.INVALID_ARGUMENT,
        details: 'name is longer than 256 bytes',
      });
      expect(
        await callError(createJobType({ producerId, name: 'ok', description: 'd'.repeat(4097) })),
      ).toEqual({
        code: status.INVALID_ARGUMENT,
        details: 'description is longer than 4096 bytes',
      });
    });

    it('answers an unknown producer with NOT_FOUND', async () => {
      const err = await callError(createJobType({ producerId: 'prod_ffffffff', name: 'x' }));
      expect(err).toEqual({ code: status.NOT_FOUND, details: 'producer not found: prod_ffffffff' });
    });

    it('answers the same (producer, name) twice with ALREADY_EXISTS', async () => {
      await createJobType({ producerId, name: 'dup', queue: Queue.QUEUE_HIGH });
      const err = await callError(
        createJobType({ producerId, name: 'dup', queue: Queue.QUEUE_LOW }),
      );
      expect(err).toEqual({
        code: status.ALREADY_EXISTS,
        details: `job type already exists: dup (producer: ${producerId})`,
      });
      const { jobTypes } = await call(jack.admin, 'listJobTypes', {
        producerId,
        pageSize: 0,
        pageToken: '',
      });
      expect(jobTypes.filter((t) => t.name === 'dup').map((t) => t.queue)).toEqual([
        Queue.QUEUE_HIGH,
      ]);
    });

    it('allows the same name under another producer', async () => {
      const other = (await createProducer('other-owner')).producer?.producerId ?? '';
      await createJobType({ producerId, name: 'shared_name' });
      const res = await createJobType({ producerId: other, name: 'shared_name' });
      expect(res.jobType?.producerId).toBe(other);
    });

    it.each([5, 9, -1])(
      'answers queue %i (outside the enum) with INVALID_ARGUMENT',
      async (queue) => {
        const err = await callError(
          createJobType({ producerId, name: `bad_queue_${queue}`, queue: queue as Queue }),
        );
        expect(err).toEqual({
          code: status.INVALID_ARGUMENT,
          details: `queue ${queue} is not a valid Queue value (0-4)`,
        });
      },
    );

    it.each([
      { maxRetries: 0, stored: 3 },
      { maxRetries: -4, stored: 3 },
      { maxRetries: 1, stored: 1 },
      { maxRetries: 25, stored: 25 },
    ])('stores max_retries $maxRetries as $stored', async ({ maxRetries, stored }) => {
      const { jobType } = await createJobType({
        producerId,
        name: `retries_${maxRetries}`,
        maxRetries,
      });
      expect(jobType?.maxRetries).toBe(stored);
    });

    it('returns the stored job type with created_at = updated_at', async () => {
      const { jobType } = await createJobType({
        producerId,
        name: 'full',
        queue: Queue.QUEUE_IMMEDIATE,
        maxRetries: 2,
        description: 'everything set',
      });
      expect(jobType).toMatchObject({
        producerId,
        name: 'full',
        queue: Queue.QUEUE_IMMEDIATE,
        maxRetries: 2,
        description: 'everything set',
      });
      expect(jobType?.createdAt).toBeInstanceOf(Date);
      expect(jobType?.updatedAt).toEqual(jobType?.createdAt);
    });
  });

  describe('ListJobTypes', () => {
    it('requires producer_id with INVALID_ARGUMENT', async () => {
      const err = await callError(
        call(jack.admin, 'listJobTypes', { producerId: '', pageSize: 0, pageToken: '' }),
      );
      expect(err).toEqual({ code: status.INVALID_ARGUMENT, details: 'producer_id is required' });
    });

    it("lists only that producer's job types, sorted by name", async () => {
      const mine = (await createProducer('sorted-owner')).producer?.producerId ?? '';
      const theirs = (await createProducer('neighbour')).producer?.producerId ?? '';
      for (const name of ['zeta', 'alpha', 'Mid', 'beta']) {
        await createJobType({ producerId: mine, name });
      }
      await createJobType({ producerId: theirs, name: 'aaa_not_mine' });
      const { jobTypes } = await call(jack.admin, 'listJobTypes', {
        producerId: mine,
        pageSize: 0,
        pageToken: '',
      });
      expect(jobTypes.map((t) => t.name)).toEqual(['Mid', 'alpha', 'beta', 'zeta']);
      expect(new Set(jobTypes.map((t) => t.producerId))).toEqual(new Set([mine]));
    });

    it('returns an empty list for an unknown producer', async () => {
      const { jobTypes } = await call(jack.admin, 'listJobTypes', {
        producerId: 'prod_nobody00',
        pageSize: 0,
        pageToken: '',
      });
      expect(jobTypes).toEqual([]);
    });
  });
});

/**
 * QA (hostile black-box) of SPEC §10 over a real socket: field masks with
 * duplicates or unknown paths, missing ids, records that were deleted, and
 * ids far longer than any Jack issues (paging: admin-paging.test.ts).
 */
describe('admin edges', () => {
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
