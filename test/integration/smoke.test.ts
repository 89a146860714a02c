import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJobId } from '../../src/jobid/job-id.js';
import { call, callError, type RunningJack, startJack } from '../support/jack.js';

describe('smoke: noop backend, memory store', () => {
  let jack: RunningJack;
  beforeAll(async () => {
    jack = await startJack();
  });
  afterAll(async () => {
    await jack.close();
  });

  it('enqueues a job with warnings for an unregistered producer and job type', async () => {
    const res = await call(jack.jobs, 'enqueue', {
      producerId: 'prod_x',
      jobType: 'send_email',
      payload: Buffer.from('{}'),
      runAt: undefined,
      traceId: '',
      correlationId: 'c1',
      idempotencyKey: '',
    });
    expect(res.correlationId).toBe('c1');
    expect(res.errorMessages).toEqual([
      'unregistered producer_id: prod_x',
      'unregistered job_type: send_email (producer: prod_x)',
    ]);
    expect(decodeJobId(res.jobId).version).toBe(1);
  });

  it('rejects an empty producer_id', async () => {
    const err = await callError(
      call(jack.jobs, 'enqueue', {
        producerId: '',
        jobType: 'x',
        payload: Buffer.alloc(0),
        runAt: undefined,
        traceId: '',
        correlationId: '',
        idempotencyKey: '',
      }),
    );
    expect(err).toEqual({ code: status.INVALID_ARGUMENT, details: 'producer_id is required' });
  });
});
