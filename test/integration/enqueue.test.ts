/**
 * SPEC §2 Enqueue, end to end over gRPC: validation (order, messages, codes),
 * warnings, routing, run_at/created_at, shadow, backend error mapping and
 * job ids (other settings: enqueue-settings.test.ts). A recording backend
 * shows exactly what would land on a topic.
 */
import { createHash } from 'node:crypto';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Timestamp } from '../../src/gen/google/protobuf/timestamp.js';
import { EnqueueRequest } from '../../src/gen/jack/jack.js';
import { Queue } from '../../src/gen/jack/storage.js';
import { decodeJobId } from '../../src/jobid/job-id.js';
import {
  createJobType,
  createProducerId as createProducer,
  type Harness,
  job,
  startWithRecorder,
} from '../support/enqueue-harness.js';
import { call, callError } from '../support/jack.js';

describe('Enqueue (default configuration)', () => {
  let h: Harness;
  let producerId: string;

  beforeAll(async () => {
    h = await startWithRecorder();
    producerId = await createProducer(h.jack);
    await createJobType(h.jack, producerId, 'unspecified_job', Queue.QUEUE_UNSPECIFIED, 1);
    await createJobType(h.jack, producerId, 'immediate_job', Queue.QUEUE_IMMEDIATE, 2);
    await createJobType(h.jack, producerId, 'high_job', Queue.QUEUE_HIGH, 4);
    await createJobType(h.jack, producerId, 'medium_job', Queue.QUEUE_MEDIUM, 5);
    await createJobType(h.jack, producerId, 'low_job', Queue.QUEUE_LOW, 6);
    await createJobType(h.jack, producerId, 'default_retries_job', Queue.QUEUE_LOW, 0);
  });
  afterAll(async () => {
    await h.jack.close();
  });
  afterEach(() => {
    h.backend.reset();
  });

  const enqueue = (request: EnqueueRequest, metadata: Record<string, string> = {}) =>
    call(h.jack.jobs, 'enqueue', request, metadata);

  describe('validation', () => {
    const over = (n: number) => 'x'.repeat(n);
    const tooLargePayload = Buffer.alloc(1_048_577, 0x61);

    it.each([
      {
        name: 'empty producer_id',
        request: job({ producerId: '' }),
        details: 'producer_id is required',
      },
      {
        name: 'producer_id before job_type',
        request: job({ producerId: '', jobType: '', payload: tooLargePayload }),
        details: 'producer_id is required',
      },
      {
        name: 'empty job_type',
        request: job({ jobType: '' }),
        details: 'job_type is required',
      },
      {
        name: 'job_type before the payload size',
        request: job({ jobType: '', payload: tooLargePayload }),
        details: 'job_type is required',
      },
      {
        name: 'payload one byte over MAX_PAYLOAD_BYTES, naming the limit',
        request: job({ payload: tooLargePayload }),
        details:
          'payload is 1048577 bytes, larger than the limit of 1048576 bytes (MAX_PAYLOAD_BYTES)',
      },
      {
        name: 'payload size before field lengths',
        request: job({ payload: tooLargePayload, producerId: over(1025) }),
        details:
          'payload is 1048577 bytes, larger than the limit of 1048576 bytes (MAX_PAYLOAD_BYTES)',
      },
      {
        name: 'producer_id over 1024 bytes',
        request: job({ producerId: over(1025), jobType: over(1025) }),
        details: 'producer_id is longer than 1024 bytes (the Pub/Sub attribute limit)',
      },
      {
        name: 'job_type over 1024 bytes',
        request: job({ jobType: over(1025), traceId: over(1025) }),
        details: 'job_type is longer than 1024 bytes (the Pub/Sub attribute limit)',
      },
      {
        name: 'trace_id over 1024 bytes',
        request: job({ traceId: over(1025), correlationId: over(1025) }),
        details: 'trace_id is longer than 1024 bytes (the Pub/Sub attribute limit)',
      },
      {
        name: 'correlation_id over 1024 bytes',
        request: job({ correlationId: over(1025) }),
        details: 'correlation_id is longer than 1024 bytes (the Pub/Sub attribute limit)',
      },
      {
        name: 'multi-byte UTF-8 counted in bytes: 513 × "é" = 1026 bytes',
        request: job({ traceId: 'é'.repeat(513) }),
        details: 'trace_id is longer than 1024 bytes (the Pub/Sub attribute limit)',
      },
      {
        name: 'multi-byte UTF-8 counted in bytes: 342 × "€" = 1026 bytes',
        request: job({ jobType: '€'.repeat(342) }),
        details: 'job_type is longer than 1024 bytes (the Pub/Sub attribute limit)',
      },
      {
        name: 'multi-byte UTF-8 counted in bytes: 257 emoji = 1028 bytes',
        request: job({ correlationId: '😀'.repeat(257) }),
        details: 'correlation_id is longer than 1024 bytes (the Pub/Sub attribute limit)',
      },
    ])('rejects $name with INVALID_ARGUMENT', async ({ request, details }) => {
      const err = await callError(enqueue(request));
      expect(err).toEqual({ code: status.INVALID_ARGUMENT, details });
      expect(h.backend.published).toHaveLength(0);
    });

    it.each([
      { name: 'after 9999-12-31', runAt: new Date('+010000-01-01T00:00:00.000Z') },
      { name: 'before 0001-01-01', runAt: new Date('0000-12-31T23:59:59.999Z') },
    ])('rejects a run_at $name (outside the Timestamp range)', async ({ runAt }) => {
      const err = await callError(enqueue(job({ runAt })));
      expect(err).toEqual({
        code: status.INVALID_ARGUMENT,
        details: 'run_at is outside the range of a Timestamp (0001-01-01 to 9999-12-31 UTC)',
      });
      expect(h.backend.published).toHaveLength(0);
    });

    it('rejects a run_at too large for a date with INVALID_ARGUMENT, not an unknown error', async () => {
      // seconds = 10^13 cannot be sent from a Date: encode the request by hand.
      const request = Buffer.concat([
        Buffer.from(EnqueueRequest.encode(job()).finish()),
        Buffer.from(
          new BinaryWriter()
            .uint32((4 << 3) | 2)
            .bytes(Timestamp.encode({ seconds: 1e13, nanos: 0 }).finish())
            .finish(),
        ),
      ]);
      const err = await callError(
        new Promise((resolve, reject) => {
          h.jack.jobs.makeUnaryRequest(
            '/jack.BackgroundJobs/Enqueue',
            (bytes: Buffer) => bytes,
            (bytes: Buffer) => bytes,
            request,
            (error, response) => (error ? reject(error) : resolve(response)),
          );
        }),
      );
      expect(err).toEqual({
        code: status.INVALID_ARGUMENT,
        details: 'run_at is outside the range of a Timestamp (0001-01-01 to 9999-12-31 UTC)',
      });
    });

    it('accepts every limit exactly: payload of MAX_PAYLOAD_BYTES, fields of 1024 bytes', async () => {
      const res = await enqueue(
        job({
          payload: Buffer.alloc(1_048_576, 0x61),
          producerId: 'p'.repeat(1024),
          jobType: 'é'.repeat(512),
          traceId: `${'€'.repeat(341)}x`,
          correlationId: '😀'.repeat(256),
        }),
      );
      expect(res.jobId).toMatch(/^pjob_/);
      expect(h.backend.last().data.length).toBe(1_048_576);
      expect(h.backend.last().attributes.correlation_id).toBe('😀'.repeat(256));
    });
  });

  describe('warnings', () => {
    it('accepts an unknown producer with "unregistered producer_id: <id>"', async () => {
      const res = await enqueue(job({ producerId: 'prod_nobody', jobType: 'send_email' }));
      expect(res.jobId).not.toBe('');
      expect(res.errorMessages).toEqual([
        'unregistered producer_id: prod_nobody',
        'unregistered job_type: send_email (producer: prod_nobody)',
      ]);
      expect(h.backend.published).toHaveLength(1);
    });

    it('routes an unknown job type of a known producer as medium with max_retries 10', async () => {
      const res = await enqueue(job({ producerId, jobType: 'not_registered' }));
      expect(res.errorMessages).toEqual([
        `unregistered job_type: not_registered (producer: ${producerId})`,
      ]);
      const message = h.backend.last();
      expect(message.priority).toBe('medium');
      expect(message.attributes.priority).toBe('medium');
      expect(message.attributes.max_retries).toBe('10');
    });

    it('gives no warning for a registered producer and job type', async () => {
      const res = await enqueue(job({ producerId, jobType: 'high_job' }));
      expect(res.errorMessages).toEqual([]);
    });

    it('does not match a job type registered under another producer', async () => {
      const res = await enqueue(job({ producerId: 'prod_other', jobType: 'high_job' }));
      expect(res.errorMessages).toEqual([
        'unregistered producer_id: prod_other',
        'unregistered job_type: high_job (producer: prod_other)',
      ]);
      expect(h.backend.last().priority).toBe('medium');
    });
  });

  describe('routing by the job-type registry', () => {
    it.each([
      { jobType: 'unspecified_job', priority: 'medium', maxRetries: '1' },
      { jobType: 'immediate_job', priority: 'immediate', maxRetries: '2' },
      { jobType: 'high_job', priority: 'high', maxRetries: '4' },
      { jobType: 'medium_job', priority: 'medium', maxRetries: '5' },
      { jobType: 'low_job', priority: 'low', maxRetries: '6' },
      { jobType: 'default_retries_job', priority: 'low', maxRetries: '3' },
    ])(
      '$jobType → $priority, max_retries $maxRetries',
      async ({ jobType, priority, maxRetries }) => {
        await enqueue(job({ producerId, jobType }));
        const message = h.backend.last();
        expect(message.priority).toBe(priority);
        expect(message.attributes.priority).toBe(priority);
        expect(message.attributes.max_retries).toBe(maxRetries);
      },
    );

    it('ignores a "queue" in the payload when LEGACY_PAYLOAD_QUEUE_ROUTING is off', async () => {
      const res = await enqueue(
        job({ producerId, jobType: 'low_job', payload: Buffer.from('{"queue":"immediate"}') }),
      );
      expect(res.errorMessages).toEqual([]);
      expect(h.backend.last().priority).toBe('low');
      expect(h.backend.last().attributes.max_retries).toBe('6');
    });
  });

  describe('the published message', () => {
    it('carries the payload untouched and every attribute (MESSAGE_FORMAT=native)', async () => {
      const payload = Buffer.from([0, 255, 1, 128, 10]);
      const res = await enqueue(
        job({
          producerId,
          jobType: 'high_job',
          payload,
          traceId: 'trace-1',
          correlationId: 'corr-1',
          idempotencyKey: '',
        }),
      );
      const message = h.backend.last();
      expect(message.jobId).toBe(res.jobId);
      expect(message.data.equals(payload)).toBe(true);
      expect(Object.keys(message.attributes).sort()).toEqual(
        [
          'correlation_id',
          'created_at',
          'job_id',
          'job_type',
          'max_retries',
          'priority',
          'producer_id',
          'run_at',
          'shadow',
          'trace_id',
        ].sort(),
      );
      expect(message.attributes).toMatchObject({
        job_id: res.jobId,
        producer_id: producerId,
        job_type: 'high_job',
        trace_id: 'trace-1',
        correlation_id: 'corr-1',
        shadow: 'false',
      });
    });

    it('leaves trace_id and correlation_id out when they are not set', async () => {
      await enqueue(job());
      const attributes = h.backend.last().attributes;
      expect(attributes).not.toHaveProperty('trace_id');
      expect(attributes).not.toHaveProperty('correlation_id');
    });

    it('echoes correlation_id in the response', async () => {
      const res = await enqueue(job({ correlationId: 'order-42' }));
      expect(res.correlationId).toBe('order-42');
      const none = await enqueue(job());
      expect(none.correlationId).toBe('');
    });

    it('sets created_at to now and run_at to created_at when run_at is unset', async () => {
      const before = Date.now();
      await enqueue(job());
      const after = Date.now();
      const { created_at, run_at } = h.backend.last().attributes;
      expect(created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const createdMs = Date.parse(created_at ?? '');
      expect(createdMs).toBeGreaterThanOrEqual(before);
      expect(createdMs).toBeLessThanOrEqual(after);
      expect(run_at).toBe(created_at);
    });

    it('publishes a future job at once with its run_at when no scheduler is configured', async () => {
      const runAt = new Date(Date.now() + 3_600_000);
      runAt.setUTCMilliseconds(0);
      const res = await enqueue(job({ runAt }));
      expect(res.jobId).not.toBe('');
      expect(h.backend.published).toHaveLength(1);
      expect(h.backend.last().attributes.run_at).toBe(runAt.toISOString());
    });

    it('returns a job id that decodes to created_at and the producer/job-type hashes', async () => {
      const res = await enqueue(job({ producerId, jobType: 'low_job' }));
      const decoded = decodeJobId(res.jobId);
      const sha4 = (text: string) => createHash('sha256').update(text).digest().subarray(0, 4);
      expect(decoded.version).toBe(1);
      expect(decoded.createdAt.toISOString()).toBe(h.backend.last().attributes.created_at);
      expect(decoded.producerHash.equals(sha4(producerId))).toBe(true);
      expect(decoded.jobTypeHash.equals(sha4('low_job'))).toBe(true);
    });
  });

  describe('shadow metadata', () => {
    it.each<{ metadata: Record<string, string>; shadow: string }>([
      { metadata: { shadow: 'true' }, shadow: 'true' },
      { metadata: { shadow: 'TRUE' }, shadow: 'true' },
      { metadata: { shadow: 'True' }, shadow: 'true' },
      { metadata: { shadow: 'false' }, shadow: 'false' },
      { metadata: { shadow: 'yes' }, shadow: 'false' },
      { metadata: {}, shadow: 'false' },
    ])('metadata $metadata → shadow attribute "$shadow"', async ({ metadata, shadow }) => {
      await enqueue(job(), metadata);
      expect(h.backend.last().attributes.shadow).toBe(shadow);
    });
  });

  describe('backend failures', () => {
    it('maps an unreachable backend to UNAVAILABLE', async () => {
      h.backend.failWith = () => 'unavailable';
      const err = await callError(enqueue(job()));
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(err.details).toMatch(/^broker unreachable for pjob_/);
    });

    it('maps any other backend failure to INTERNAL', async () => {
      h.backend.failWith = () => 'internal';
      const err = await callError(enqueue(job()));
      expect(err.code).toBe(status.INTERNAL);
      expect(err.details).toMatch(/^broker refused pjob_/);
    });

    it('maps an unexpected (non-Jack) error to INTERNAL too', async () => {
      h.backend.failWith = () => 'plain-error';
      const err = await callError(enqueue(job()));
      expect(err.code).toBe(status.INTERNAL);
      expect(err.details).toMatch(/^enqueue failed: unexpected failure for pjob_/);
    });

    it('logs one line per failed call with its method and code', async () => {
      h.backend.failWith = () => 'unavailable';
      const correlationId = 'log-check';
      await callError(enqueue(job({ correlationId })));
      const failed = h.jack.logs.filter(
        (l) => l.msg === 'call failed' && l.code === 'UNAVAILABLE' && l.method === 'Enqueue',
      );
      expect(failed.length).toBeGreaterThan(0);
    });
  });
});
