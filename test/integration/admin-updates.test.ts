/**
 * SPEC §10 over gRPC: UpdateProducer / UpdateJobType with field masks,
 * GetJobType, DeleteJobType, DeleteProducer with its cascade — exact codes
 * and messages (paging: admin-paging.test.ts).
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobType, type Producer, Queue } from '../../src/gen/jack/storage.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createRecordingBackend, type RecordingBackend } from '../support/recording-backend.js';
import { BLANK_JOB_TYPE, BLANK_PRODUCER } from '../support/registry.js';

const PRODUCER_PATHS = 'name, description, rate_limit_rps, principals';
const JOB_TYPE_PATHS = 'queue, max_retries, description';

describe('AdminService §10: updates, deletes, paging', () => {
  let jack: RunningJack;
  let backend: RecordingBackend;
  beforeAll(async () => {
    backend = createRecordingBackend();
    jack = await startJack({}, { backend });
  });
  afterAll(async () => {
    await jack.close();
  });

  const newProducer = async (name = 'p') => {
    const { producer } = await call(jack.admin, 'createProducer', { name, description: 'd' });
    return producer as Producer;
  };
  const newJobType = async (producerId: string, name: string, queue = Queue.QUEUE_HIGH) => {
    const { jobType } = await call(jack.admin, 'createJobType', {
      producerId,
      name,
      queue,
      maxRetries: 5,
      description: 'first',
    });
    return jobType as JobType;
  };
  const updateProducer = (producer: Partial<Producer>, paths: string[] | undefined) =>
    call(jack.admin, 'updateProducer', {
      producer: {
        ...BLANK_PRODUCER,
        ...producer,
      },
      updateMask: paths,
    });
  const updateJobType = (jobType: Partial<JobType>, paths: string[] | undefined) =>
    call(jack.admin, 'updateJobType', {
      jobType: {
        ...BLANK_JOB_TYPE,
        ...jobType,
      },
      updateMask: paths,
    });
  const invalid = (details: string) => ({ code: status.INVALID_ARGUMENT, details });

  describe('UpdateProducer', () => {
    it('changes only the masked fields and sets updated_at = now', async () => {
      const before = await newProducer('before');
      const startedMs = Date.now();
      const { producer } = await updateProducer(
        {
          producerId: before.producerId,
          name: 'after',
          description: 'ignored: not in the mask',
          rateLimitRps: 50,
          principals: ['svc@example.com', 'spiffe://example/ns/a'],
        },
        ['name', 'rate_limit_rps', 'principals'],
      );
      expect(producer).toEqual({
        ...before,
        name: 'after',
        rateLimitRps: 50,
        principals: ['svc@example.com', 'spiffe://example/ns/a'],
        updatedAt: producer?.updatedAt,
      });
      expect(producer?.updatedAt?.getTime()).toBeGreaterThanOrEqual(startedMs);
      const got = await call(jack.admin, 'getProducer', { producerId: before.producerId });
      expect(got.producer).toEqual(producer);
    });

    it.each([
      [
        undefined,
        `update_mask is required: name the Producer fields to update (${PRODUCER_PATHS})`,
      ],
      [[], `update_mask is required: name the Producer fields to update (${PRODUCER_PATHS})`],
      [
        ['producer_id'],
        `update_mask path "producer_id" cannot be updated (updatable: ${PRODUCER_PATHS})`,
      ],
      [
        ['created_at'],
        `update_mask path "created_at" cannot be updated (updatable: ${PRODUCER_PATHS})`,
      ],
      [
        ['name', 'colour'],
        `update_mask path "colour" is not an updatable field of Producer (updatable: ${PRODUCER_PATHS})`,
      ],
    ])('refuses the mask %j with INVALID_ARGUMENT', async (paths, details) => {
      const { producerId } = await newProducer();
      const err = await callError(updateProducer({ producerId, name: 'x' }, paths));
      expect(err).toEqual(invalid(details));
    });

    it('checks the masked fields: required name, §6 limits', async () => {
      const { producerId } = await newProducer();
      const cases: [Partial<Producer>, string, string][] = [
        [{ name: ' ' }, 'name', 'producer.name is required'],
        [{ name: 'n'.repeat(257) }, 'name', 'producer.name is longer than 256 bytes'],
        [
          { description: 'd'.repeat(4097) },
          'description',
          'producer.description is longer than 4096 bytes',
        ],
        [
          { principals: Array.from({ length: 33 }, (_, i) => `p${i}`) },
          'principals',
          'producer.principals has 33 entries, more than the limit of 32',
        ],
        [
          { principals: ['ok', 'p'.repeat(513)] },
          'principals',
          'producer.principals[1] is longer than 512 bytes',
        ],
        [{ principals: ['ok', ''] }, 'principals', 'producer.principals[1] is required'],
      ];
      for (const [fields, path, details] of cases) {
        const err = await callError(updateProducer({ producerId, ...fields }, [path]));
        expect(err, details).toEqual(invalid(details));
      }
      // A field outside the mask is not checked: it is not applied either.
      await updateProducer({ producerId, name: '', description: 'fine' }, ['description']);
    });

    it('requires the producer and its id; an unknown id is NOT_FOUND naming it', async () => {
      const noProducer = await callError(
        call(jack.admin, 'updateProducer', { producer: undefined, updateMask: ['name'] }),
      );
      expect(noProducer).toEqual(invalid('producer is required'));
      expect(await callError(updateProducer({ name: 'x' }, ['name']))).toEqual(
        invalid('producer.producer_id is required'),
      );
      expect(
        await callError(updateProducer({ producerId: 'prod_00000000', name: 'x' }, ['name'])),
      ).toEqual({ code: status.NOT_FOUND, details: 'producer not found: prod_00000000' });
    });
  });

  describe('GetJobType, UpdateJobType, DeleteJobType', () => {
    it('gets a job type; unknown or missing fields are answered exactly', async () => {
      const { producerId } = await newProducer();
      const created = await newJobType(producerId, 'send');
      const got = await call(jack.admin, 'getJobType', { producerId, name: 'send' });
      expect(got.jobType).toEqual(created);
      expect(await callError(call(jack.admin, 'getJobType', { producerId, name: 'nope' }))).toEqual(
        {
          code: status.NOT_FOUND,
          details: `job type not found: nope (producer: ${producerId})`,
        },
      );
      expect(
        await callError(call(jack.admin, 'getJobType', { producerId: '', name: 'x' })),
      ).toEqual(invalid('producer_id is required'));
      expect(await callError(call(jack.admin, 'getJobType', { producerId, name: '' }))).toEqual(
        invalid('name is required'),
      );
    });

    it('updates the queue, and enqueue routes by it at once', async () => {
      const { producerId } = await newProducer();
      const created = await newJobType(producerId, 'route', Queue.QUEUE_HIGH);
      const job = enqueueRequest({ producerId, jobType: 'route', payload: Buffer.from('{}') });
      await call(jack.jobs, 'enqueue', job);
      expect(backend.last().priority).toBe('high');
      const { jobType } = await updateJobType(
        { producerId, name: 'route', queue: Queue.QUEUE_LOW, description: 'not in mask' },
        ['queue'],
      );
      expect(jobType).toEqual({
        ...created,
        queue: Queue.QUEUE_LOW,
        updatedAt: jobType?.updatedAt,
      });
      expect(jobType?.updatedAt?.getTime()).toBeGreaterThanOrEqual(
        created.updatedAt?.getTime() ?? 0,
      );
      await call(jack.jobs, 'enqueue', job);
      expect(backend.last().priority).toBe('low');
    });

    it('applies the CreateJobType rules: max_retries ≤ 0 → 3, queue enum, description limit', async () => {
      const { producerId } = await newProducer();
      await newJobType(producerId, 'rules');
      const { jobType } = await updateJobType(
        { producerId, name: 'rules', maxRetries: -4, description: 'second' },
        ['max_retries', 'description'],
      );
      expect(jobType).toMatchObject({ maxRetries: 3, description: 'second' });
      expect(
        await callError(updateJobType({ producerId, name: 'rules', queue: 9 as Queue }, ['queue'])),
      ).toEqual(invalid('job_type.queue 9 is not a valid Queue value (0-4)'));
      expect(
        await callError(
          updateJobType({ producerId, name: 'rules', description: 'd'.repeat(4097) }, [
            'description',
          ]),
        ),
      ).toEqual(invalid('job_type.description is longer than 4096 bytes'));
    });

    it.each([
      [undefined, `update_mask is required: name the JobType fields to update (${JOB_TYPE_PATHS})`],
      [['name'], `update_mask path "name" cannot be updated (updatable: ${JOB_TYPE_PATHS})`],
      [
        ['producer_id'],
        `update_mask path "producer_id" cannot be updated (updatable: ${JOB_TYPE_PATHS})`,
      ],
      [
        ['created_at'],
        `update_mask path "created_at" cannot be updated (updatable: ${JOB_TYPE_PATHS})`,
      ],
      [
        ['priority'],
        `update_mask path "priority" is not an updatable field of JobType (updatable: ${JOB_TYPE_PATHS})`,
      ],
    ])('refuses the mask %j with INVALID_ARGUMENT', async (paths, details) => {
      const { producerId } = await newProducer();
      await newJobType(producerId, 'masked');
      const err = await callError(updateJobType({ producerId, name: 'masked' }, paths));
      expect(err).toEqual(invalid(details));
    });

    it('answers an update or delete of an unknown job type with NOT_FOUND naming it', async () => {
      const { producerId } = await newProducer();
      const details = `job type not found: ghost (producer: ${producerId})`;
      expect(
        await callError(
          updateJobType({ producerId, name: 'ghost', maxRetries: 1 }, ['max_retries']),
        ),
      ).toEqual({ code: status.NOT_FOUND, details });
      expect(
        await callError(call(jack.admin, 'deleteJobType', { producerId, name: 'ghost' })),
      ).toEqual({ code: status.NOT_FOUND, details });
      expect(
        await callError(
          call(jack.admin, 'updateJobType', { jobType: undefined, updateMask: ['queue'] }),
        ),
      ).toEqual(invalid('job_type is required'));
      expect(await callError(updateJobType({ name: 'x' }, ['queue']))).toEqual(
        invalid('job_type.producer_id is required'),
      );
      expect(await callError(updateJobType({ producerId }, ['queue']))).toEqual(
        invalid('job_type.name is required'),
      );
    });

    it('deletes a job type: it is gone and its jobs are unregistered again', async () => {
      const { producerId } = await newProducer();
      await newJobType(producerId, 'retire');
      await call(jack.admin, 'deleteJobType', { producerId, name: 'retire' });
      expect(
        (await callError(call(jack.admin, 'getJobType', { producerId, name: 'retire' }))).code,
      ).toBe(status.NOT_FOUND);
      const res = await call(
        jack.jobs,
        'enqueue',
        enqueueRequest({ producerId, jobType: 'retire' }),
      );
      expect(res.errorMessages).toEqual([
        `unregistered job_type: retire (producer: ${producerId})`,
      ]);
    });
  });

  describe('DeleteProducer', () => {
    it('removes the producer with its job types and API keys; its jobs get the unregistered warning', async () => {
      const { producerId } = await newProducer('doomed');
      const other = await newProducer('survivor');
      await newJobType(producerId, 'a');
      await newJobType(other.producerId, 'kept');
      const { apiKey } = await call(jack.admin, 'createApiKey', {
        producerId,
        description: '',
        role: 0,
      });
      await call(jack.admin, 'deleteProducer', { producerId });

      expect(await callError(call(jack.admin, 'getProducer', { producerId }))).toEqual({
        code: status.NOT_FOUND,
        details: `producer not found: ${producerId}`,
      });
      const types = await call(jack.admin, 'listJobTypes', {
        producerId,
        pageSize: 0,
        pageToken: '',
      });
      expect(types.jobTypes).toEqual([]);
      const keys = await call(jack.admin, 'listApiKeys', {
        producerId: '',
        pageSize: 0,
        pageToken: '',
      });
      expect(keys.apiKeys.map((k) => k.keyId)).not.toContain(apiKey?.keyId);
      expect(
        (await call(jack.admin, 'getJobType', { producerId: other.producerId, name: 'kept' }))
          .jobType,
      ).toBeDefined();
      const res = await call(jack.jobs, 'enqueue', enqueueRequest({ producerId, jobType: 'a' }));
      expect(res.errorMessages).toContain(`unregistered producer_id: ${producerId}`);
    });

    it('answers an unknown producer with NOT_FOUND and a missing id with INVALID_ARGUMENT', async () => {
      expect(
        await callError(call(jack.admin, 'deleteProducer', { producerId: 'prod_00000000' })),
      ).toEqual({ code: status.NOT_FOUND, details: 'producer not found: prod_00000000' });
      expect(await callError(call(jack.admin, 'deleteProducer', { producerId: '' }))).toEqual(
        invalid('producer_id is required'),
      );
    });
  });
});
