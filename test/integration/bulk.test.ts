/**
 * SPEC §2 EnqueueBulk over gRPC: call-level limits, one result per job in
 * request order, per-job reasons, partial success, correlation ids, shadow.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BulkResult, EnqueueRequest } from '../../src/gen/jack/jack.js';
import { Queue } from '../../src/gen/jack/storage.js';
import { decodeJobId } from '../../src/jobid/job-id.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createRecordingBackend, type RecordingBackend } from '../support/recording-backend.js';
import { createProducerWithJobType } from '../support/registry.js';

/** A request of this file's usual producer and job type, then `fields`. */
const job = (fields: Partial<EnqueueRequest> = {}): EnqueueRequest =>
  enqueueRequest({
    producerId: 'prod_unknown',
    jobType: 'send_email',
    payload: Buffer.from('{}'),
    ...fields,
  });

describe('EnqueueBulk', () => {
  let jack: RunningJack;
  let backend: RecordingBackend;
  let producerId: string;

  beforeAll(async () => {
    backend = createRecordingBackend();
    jack = await startJack({ MAX_BULK_JOBS: '5', MAX_PAYLOAD_BYTES: '100' }, { backend });
    producerId = await createProducerWithJobType(jack, {
      producer: 'shop',
      jobType: 'ship',
      queue: Queue.QUEUE_HIGH,
      maxRetries: 4,
    });
  });
  afterAll(async () => {
    await jack.close();
  });
  afterEach(() => {
    backend.reset();
  });

  const bulk = (jobs: EnqueueRequest[], metadata: Record<string, string> = {}) =>
    call(jack.jobs, 'enqueueBulk', { jobs }, metadata);

  it('refuses a call without jobs with INVALID_ARGUMENT', async () => {
    const err = await callError(bulk([]));
    expect(err).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'jobs is empty: send at least one job',
    });
  });

  it('refuses more than MAX_BULK_JOBS jobs with INVALID_ARGUMENT and publishes none', async () => {
    const err = await callError(bulk(Array.from({ length: 6 }, () => job())));
    expect(err).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'too many jobs: 6, the limit is 5 (MAX_BULK_JOBS)',
    });
    expect(backend.published).toHaveLength(0);
  });

  it('accepts exactly MAX_BULK_JOBS jobs: one result per job, in order, index = position', async () => {
    const jobs = Array.from({ length: 5 }, (_, i) => job({ correlationId: `c${i}` }));
    const res = await bulk(jobs);
    expect(res.results.map((r) => [r.index, r.correlationId])).toEqual([
      [0, 'c0'],
      [1, 'c1'],
      [2, 'c2'],
      [3, 'c3'],
      [4, 'c4'],
    ]);
    expect(backend.published.map((m) => m.jobId).sort()).toEqual(
      res.results.map((r) => r.jobId).sort(),
    );
  });

  it('reports each failure with its reason and publishes the valid jobs', async () => {
    const jobs = [
      job({ producerId, jobType: 'ship', correlationId: 'ok-registered' }),
      job({ producerId: '', correlationId: 'no-producer' }),
      job({ jobType: '', correlationId: 'no-type' }),
      job({ payload: Buffer.alloc(101, 0x61), correlationId: 'too-large' }),
      job({ traceId: 't'.repeat(1025), correlationId: 'long-trace' }),
    ];
    const res = await bulk(jobs);
    const expected: Omit<BulkResult, 'jobId'>[] = [
      {
        index: 0,
        error: '',
        errorMessages: [],
        correlationId: 'ok-registered',
        reason: '',
        duplicate: false,
      },
      {
        index: 1,
        error: 'producer_id is required',
        errorMessages: [],
        correlationId: 'no-producer',
        reason: 'validation_error',
        duplicate: false,
      },
      {
        index: 2,
        error: 'job_type is required',
        // Validation fails before the producer is looked up: no warning yet.
        errorMessages: [],
        correlationId: 'no-type',
        reason: 'validation_error',
        duplicate: false,
      },
      {
        index: 3,
        error: 'payload is 101 bytes, larger than the limit of 100 bytes (MAX_PAYLOAD_BYTES)',
        errorMessages: [],
        correlationId: 'too-large',
        reason: 'payload_too_large',
        duplicate: false,
      },
      {
        index: 4,
        error: 'trace_id is longer than 1024 bytes (the Pub/Sub attribute limit)',
        errorMessages: [],
        correlationId: 'long-trace',
        reason: 'validation_error',
        duplicate: false,
      },
    ];
    expect(res.results.map(({ jobId: _, ...rest }) => rest)).toEqual(expected);
    expect(res.results[0]?.jobId).toMatch(/^pjob_/);
    expect(res.results.slice(1).map((r) => r.jobId)).toEqual(['', '', '', '']);
    expect(backend.published).toHaveLength(1);
    expect(backend.last().jobId).toBe(res.results[0]?.jobId);
    expect(backend.last().priority).toBe('high');
    expect(backend.last().attributes.max_retries).toBe('4');
  });

  it('reports a run_at outside the Timestamp range as validation_error', async () => {
    const res = await bulk([job({ runAt: new Date('+020000-01-01T00:00:00Z') }), job()]);
    expect(res.results[0]).toMatchObject({
      jobId: '',
      reason: 'validation_error',
      duplicate: false,
      error: 'run_at is outside the range of a Timestamp (0001-01-01 to 9999-12-31 UTC)',
    });
    expect(res.results[1]?.jobId).toMatch(/^pjob_/);
    expect(backend.published).toHaveLength(1);
  });

  it('gives successful jobs their warnings, job_id, and empty error and reason', async () => {
    const res = await bulk([
      job({ producerId: 'prod_ghost', jobType: 'a', correlationId: 'x' }),
      job({ producerId, jobType: 'b' }),
    ]);
    expect(res.results).toEqual([
      {
        index: 0,
        jobId: expect.stringMatching(/^pjob_/),
        error: '',
        errorMessages: [
          'unregistered producer_id: prod_ghost',
          'unregistered job_type: a (producer: prod_ghost)',
        ],
        correlationId: 'x',
        reason: '',
        duplicate: false,
      },
      {
        index: 1,
        jobId: expect.stringMatching(/^pjob_/),
        error: '',
        errorMessages: [`unregistered job_type: b (producer: ${producerId})`],
        correlationId: '',
        reason: '',
        duplicate: false,
      },
    ]);
    const [first, second] = res.results;
    expect(decodeJobId(first?.jobId ?? '').version).toBe(1);
    expect(first?.jobId).not.toBe(second?.jobId);
  });

  it('reports backend failures per job (unavailable / internal_error) and keeps warnings', async () => {
    backend.failWith = (message) => {
      const correlation = message.attributes.correlation_id;
      if (correlation === 'down') return 'unavailable';
      if (correlation === 'broken') return 'internal';
      if (correlation === 'weird') return 'plain-error';
      return undefined;
    };
    const res = await bulk([
      job({ producerId: 'prod_ghost', correlationId: 'down' }),
      job({ producerId, jobType: 'ship', correlationId: 'fine' }),
      job({ producerId, jobType: 'ship', correlationId: 'broken' }),
      job({ producerId, jobType: 'ship', correlationId: 'weird' }),
    ]);
    const [down, fine, broken, weird] = res.results;
    expect(down).toMatchObject({
      index: 0,
      jobId: '',
      error: expect.stringMatching(/^broker unreachable for pjob_/),
      errorMessages: [
        'unregistered producer_id: prod_ghost',
        'unregistered job_type: send_email (producer: prod_ghost)',
      ],
      correlationId: 'down',
      reason: 'unavailable',
      duplicate: false,
    });
    expect(fine).toMatchObject({ index: 1, error: '', reason: '', correlationId: 'fine' });
    expect(fine?.jobId).toMatch(/^pjob_/);
    expect(broken).toMatchObject({
      index: 2,
      jobId: '',
      error: expect.stringMatching(/^broker refused pjob_/),
      reason: 'internal_error',
      duplicate: false,
    });
    expect(weird).toMatchObject({
      index: 3,
      jobId: '',
      error: expect.stringMatching(/^enqueue failed: unexpected failure/),
      reason: 'internal_error',
      duplicate: false,
    });
    expect(backend.published.map((m) => m.attributes.correlation_id)).toEqual(['fine']);
  });

  it.each<{ metadata: Record<string, string>; shadow: string }>([
    { metadata: { shadow: 'true' }, shadow: 'true' },
    { metadata: { shadow: 'TrUe' }, shadow: 'true' },
    { metadata: {}, shadow: 'false' },
  ])('applies shadow metadata $metadata to every job of the call', async ({ metadata, shadow }) => {
    await bulk([job(), job({ producerId, jobType: 'ship' }), job()], metadata);
    expect(backend.published.map((m) => m.attributes.shadow)).toEqual([shadow, shadow, shadow]);
  });
});

describe('EnqueueBulk with MESSAGE_FORMAT=legacy', () => {
  let jack: RunningJack;
  let backend: RecordingBackend;
  beforeAll(async () => {
    backend = createRecordingBackend();
    jack = await startJack({ MESSAGE_FORMAT: 'legacy' }, { backend });
  });
  afterAll(async () => {
    await jack.close();
  });

  it('refuses a non-JSON payload with validation_error and publishes the rest', async () => {
    const res = await call(jack.jobs, 'enqueueBulk', {
      jobs: [job({ payload: Buffer.from('<xml/>') }), job({ payload: Buffer.from('[1,2]') })],
    });
    expect(res.results[0]).toMatchObject({
      index: 0,
      jobId: '',
      reason: 'validation_error',
      duplicate: false,
      error:
        'payload is not valid JSON, which MESSAGE_FORMAT=legacy requires (it is embedded as "args")',
    });
    expect(res.results[1]).toMatchObject({ index: 1, error: '', reason: '', duplicate: false });
    expect(backend.published.map((m) => m.jobId)).toEqual([res.results[1]?.jobId]);
  });
});
