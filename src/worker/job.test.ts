import { describe, expect, it } from 'vitest';
import type { Job as QueueJob } from '../queue/backend.js';
import { encodeMessage } from '../queue/message.js';
import { decodeJob, decodePayload, isJackMessage } from './job.js';

function queueJob(fields: Partial<QueueJob> = {}): QueueJob {
  return {
    id: 'pjob_TEST',
    producerId: 'prod_1a2b3c4d',
    jobType: 'send_email',
    priority: 'high',
    payload: Buffer.from('{"to":"a@example.com","n":1.50,"tag":"<b>"}'),
    runAt: new Date('2026-11-22T11:00:00.000Z'),
    createdAt: new Date('2026-11-22T10:20:30.456Z'),
    traceId: 'trace-1',
    correlationId: '',
    maxRetries: 4,
    shadow: false,
    ...fields,
  };
}

/** Encodes as Jack does, then decodes as the worker does. */
function roundTrip(format: 'native' | 'legacy', fields: Partial<QueueJob> = {}) {
  const message = encodeMessage(queueJob(fields), format, new Date());
  return decodeJob(
    { data: message.data, attributes: message.attributes, messageId: 'm1' },
    'low',
    2,
  );
}

describe('decodeJob', () => {
  it('reads a native message: the data is the payload, the attributes name the job', () => {
    const job = roundTrip('native');
    expect(job).toMatchObject({
      id: 'pjob_TEST',
      producerId: 'prod_1a2b3c4d',
      type: 'send_email',
      priority: 'high',
      attempt: 2,
      maxRetries: 4,
      format: 'native',
      messageId: 'm1',
    });
    expect(job.payload.toString()).toBe('{"to":"a@example.com","n":1.50,"tag":"<b>"}');
    expect(job.attributes.trace_id).toBe('trace-1');
  });

  it('reads a legacy message: the payload is its args, number spelling kept (Go escapes stay as sent)', () => {
    const job = roundTrip('legacy');
    expect(job.format).toBe('legacy');
    expect(job.payload.toString()).toBe('{"to":"a@example.com","n":1.50,"tag":"\\u003cb\\u003e"}');
    expect(JSON.parse(job.payload.toString())).toEqual({ to: 'a@example.com', n: 1.5, tag: '<b>' });
  });

  it('finds the args of a legacy message even when they hold a "status" key of their own', () => {
    const job = roundTrip('legacy', { payload: Buffer.from('{"status":"x","args":[1]}') });
    expect(job.payload.toString()).toBe('{"status":"x","args":[1]}');
  });

  it('reads legacy null args as an empty payload', () => {
    expect(roundTrip('legacy', { payload: Buffer.alloc(0) }).payload.length).toBe(0);
  });

  it('keeps a native JSON payload that merely looks legacy but names another job', () => {
    const data = Buffer.from('{"id":"other","args":1,"status":"x","queue":"low"}');
    expect(decodePayload(data, 'pjob_TEST')).toEqual({ payload: data, format: 'native' });
  });

  it('falls back to the lane when the priority attribute is missing, and allows unlimited retries without max_retries', () => {
    const job = decodeJob(
      { data: Buffer.from('x'), attributes: { job_id: 'j', job_type: 't' }, messageId: '' },
      'low',
      1,
    );
    expect(job.priority).toBe('low');
    expect(job.maxRetries).toBe(Number.POSITIVE_INFINITY);
  });

  it('a message without job_id or job_type is not Jack’s', () => {
    expect(isJackMessage({ job_type: 't' })).toBe(false);
    expect(isJackMessage({ job_id: 'j' })).toBe(false);
    expect(isJackMessage({ job_id: 'j', job_type: 't' })).toBe(true);
  });
});
