import { describe, expect, it } from 'vitest';
import { BackgroundJobsService, EnqueueBulkResponse, EnqueueResponse } from '../gen/jack/jack.js';
import { reusingSerializer, withReusedWriters } from './codec.js';

const response = (jobId: string) => ({
  jobId,
  errorMessages: ['unregistered producer_id: p'],
  correlationId: 'c-1',
  duplicate: true,
});

describe('reusingSerializer', () => {
  it('writes the same bytes as ts-proto, and an earlier answer is not overwritten by the next', () => {
    const serialize = reusingSerializer(EnqueueResponse);
    const first = serialize(response('pjob_first'));
    const firstCopy = Buffer.from(first);
    const second = serialize(response('pjob_second_and_longer'));
    expect(first).toEqual(firstCopy);
    expect(first).toEqual(Buffer.from(EnqueueResponse.encode(response('pjob_first')).finish()));
    expect(EnqueueResponse.decode(second)).toEqual(response('pjob_second_and_longer'));
  });

  it('starts clean after an encode that threw halfway', () => {
    const serialize = reusingSerializer(EnqueueBulkResponse);
    const bad = { results: [{ index: 0, jobId: 'pjob_x', error: '' }, null] } as never;
    expect(() => serialize(bad)).toThrow();
    const good = {
      results: [
        {
          index: 3,
          jobId: 'pjob_y',
          error: '',
          errorMessages: [],
          correlationId: '',
          reason: '',
          duplicate: false,
        },
      ],
    };
    expect(EnqueueBulkResponse.decode(serialize(good))).toEqual(good);
  });
});

describe('withReusedWriters', () => {
  it('replaces only the listed serializers and leaves the definition given untouched', () => {
    const original = BackgroundJobsService.enqueue.responseSerialize;
    const bound = withReusedWriters(BackgroundJobsService, { enqueue: EnqueueResponse });
    expect(bound.enqueue.responseSerialize).not.toBe(original);
    expect(BackgroundJobsService.enqueue.responseSerialize).toBe(original);
    expect(bound.cancelJob).toBe(BackgroundJobsService.cancelJob);
    expect(bound.enqueue.path).toBe(BackgroundJobsService.enqueue.path);
    expect(bound.enqueue.responseSerialize(response('pjob_z'))).toEqual(
      original(response('pjob_z')),
    );
  });
});
