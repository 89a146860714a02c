/**
 * SPEC §2 Enqueue under non-default settings, end to end over gRPC: legacy
 * payload routing, the legacy message format and small request limits. A
 * recording backend shows exactly what would land on a topic.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnqueueRequest } from '../../src/gen/jack/jack.js';
import { Queue } from '../../src/gen/jack/storage.js';
import {
  createJobType,
  createProducerId as createProducer,
  type Harness,
  job,
  startWithRecorder,
} from '../support/enqueue-harness.js';
import { call, callError } from '../support/jack.js';

describe('Enqueue with LEGACY_PAYLOAD_QUEUE_ROUTING=t', () => {
  let h: Harness;
  let producerId: string;

  beforeAll(async () => {
    // `t`: a Go strconv.ParseBool spelling, as the Go service's env files may have it.
    h = await startWithRecorder({ LEGACY_PAYLOAD_QUEUE_ROUTING: 't' });
    producerId = await createProducer(h.jack);
    await createJobType(h.jack, producerId, 'low_job', Queue.QUEUE_LOW, 7);
  });
  afterAll(async () => {
    await h.jack.close();
  });

  const enqueue = (request: EnqueueRequest) => call(h.jack.jobs, 'enqueue', request);

  it.each(['immediate', 'high', 'medium', 'low'])(
    'routes {"queue":"%s"} by the payload with max_retries 10, without consulting the registry',
    async (queue) => {
      const res = await enqueue(
        job({
          producerId,
          jobType: 'low_job',
          payload: Buffer.from(`{"id":1,"queue":"${queue}"}`),
        }),
      );
      expect(res.errorMessages).toEqual([]);
      expect(h.backend.last().priority).toBe(queue);
      expect(h.backend.last().attributes.max_retries).toBe('10');
    },
  );

  it.each([
    { payload: '{"Queue":"high"}', priority: 'high' },
    { payload: '{"QUEUE":"immediate"}', priority: 'immediate' },
    { payload: '{"queue":"high","Queue":"low"}', priority: 'low' },
  ])('matches the key as Go does: $payload → $priority', async ({ payload, priority }) => {
    await enqueue(job({ producerId, jobType: 'medium_or_unknown', payload: Buffer.from(payload) }));
    expect(h.backend.last().priority).toBe(priority);
  });

  it('gives no job-type warning for an unregistered type routed by its payload', async () => {
    const res = await enqueue(
      job({ producerId, jobType: 'never_registered', payload: Buffer.from('{"queue":"high"}') }),
    );
    expect(res.errorMessages).toEqual([]);
    expect(h.backend.last().priority).toBe('high');
  });

  it('still warns about an unknown producer', async () => {
    const res = await enqueue(
      job({ producerId: 'prod_ghost', jobType: 'x', payload: Buffer.from('{"queue":"low"}') }),
    );
    expect(res.errorMessages).toEqual(['unregistered producer_id: prod_ghost']);
    expect(h.backend.last().priority).toBe('low');
  });

  it.each([
    { name: 'an upper-case queue name', payload: '{"queue":"HIGH"}' },
    { name: 'a queue name with spaces', payload: '{"queue":" high"}' },
    { name: 'an unknown queue name', payload: '{"queue":"urgent"}' },
    { name: 'a non-string queue', payload: '{"queue":1}' },
    { name: 'a nested queue only', payload: '{"args":{"queue":"high"}}' },
    { name: 'a JSON array', payload: '["queue","high"]' },
    { name: 'a JSON string', payload: '"queue"' },
    { name: 'a payload that is not JSON', payload: '{"queue":"high"' },
    { name: 'an empty payload', payload: '' },
  ])('falls back to the registry for $name', async ({ payload }) => {
    const registered = await enqueue(
      job({ producerId, jobType: 'low_job', payload: Buffer.from(payload) }),
    );
    expect(registered.errorMessages).toEqual([]);
    expect(h.backend.last().priority).toBe('low');
    expect(h.backend.last().attributes.max_retries).toBe('7');

    const unregistered = await enqueue(
      job({ producerId, jobType: 'unknown_job', payload: Buffer.from(payload) }),
    );
    expect(unregistered.errorMessages).toEqual([
      `unregistered job_type: unknown_job (producer: ${producerId})`,
    ]);
    expect(h.backend.last().priority).toBe('medium');
    expect(h.backend.last().attributes.max_retries).toBe('10');
  });
});

describe('Enqueue with MESSAGE_FORMAT=legacy', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startWithRecorder({ MESSAGE_FORMAT: 'legacy' });
  });
  afterAll(async () => {
    await h.jack.close();
  });

  it('refuses a payload that is not JSON with INVALID_ARGUMENT', async () => {
    const err = await callError(
      call(h.jack.jobs, 'enqueue', job({ payload: Buffer.from('not json') })),
    );
    expect(err).toEqual({
      code: status.INVALID_ARGUMENT,
      details:
        'payload is not valid JSON, which MESSAGE_FORMAT=legacy requires (it is embedded as "args")',
    });
    expect(h.backend.published).toHaveLength(0);
  });

  it('publishes a JSON envelope with the payload as args', async () => {
    const res = await call(
      h.jack.jobs,
      'enqueue',
      job({ payload: Buffer.from('{"b":1.50,"a":[1]}') }),
    );
    const message = h.backend.last();
    const data = message.data.toString('utf8');
    expect(data).toContain('"args":{"b":1.50,"a":[1]}');
    expect(JSON.parse(data)).toMatchObject({
      id: res.jobId,
      queue: 'medium',
      status: 'not_published',
      job_type: 'send_email',
      error_count: 0,
    });
  });
});

describe('Enqueue with small request limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startWithRecorder({ GRPC_MAX_RECEIVE_BYTES: '16KiB', MAX_PAYLOAD_BYTES: '1000' });
  });
  afterAll(async () => {
    await h.jack.close();
  });

  it('answers a request larger than GRPC_MAX_RECEIVE_BYTES with RESOURCE_EXHAUSTED', async () => {
    const err = await callError(
      call(h.jack.jobs, 'enqueue', job({ payload: Buffer.alloc(20_000, 0x61) })),
    );
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(h.backend.published).toHaveLength(0);
  });

  it('answers a payload over a configured MAX_PAYLOAD_BYTES with INVALID_ARGUMENT naming it', async () => {
    const err = await callError(
      call(h.jack.jobs, 'enqueue', job({ payload: Buffer.alloc(1001, 0x61) })),
    );
    expect(err).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'payload is 1001 bytes, larger than the limit of 1000 bytes (MAX_PAYLOAD_BYTES)',
    });
  });
});
