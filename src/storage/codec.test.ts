import { describe, expect, it } from 'vitest';
import { Queue } from '../gen/jack/storage.js';
import { decodeJobTypes, decodeProducers, encodeJobTypes, encodeProducers } from './codec.js';

describe('codec', () => {
  it('round-trips producers and job types, writing camelCase', () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    const producer = {
      producerId: 'prod_0a1b2c3d',
      name: 'billing',
      description: 'd',
      rateLimitRps: 1000,
      principals: [],
      createdAt: at,
      updatedAt: at,
    };
    const text = encodeProducers([producer]);
    expect(text).toContain('"producerId": "prod_0a1b2c3d"');
    expect(decodeProducers(text)).toEqual([producer]);
    const jobType = {
      producerId: 'prod_0a1b2c3d',
      name: 'send',
      queue: Queue.QUEUE_HIGH,
      maxRetries: 3,
      description: '',
      createdAt: at,
      updatedAt: at,
    };
    const jobTypesText = encodeJobTypes([jobType]);
    expect(jobTypesText).toContain('"jobTypes"');
    expect(decodeJobTypes(jobTypesText)).toEqual([jobType]);
  });

  it('reads snake_case and a missing or empty object as empty', () => {
    expect(decodeProducers(undefined)).toEqual([]);
    expect(decodeProducers('  ')).toEqual([]);
    expect(decodeProducers('{}')).toEqual([]);
    const [jobType] = decodeJobTypes(
      '{"job_types":[{"producer_id":"prod_1","name":"x","queue":"QUEUE_LOW","max_retries":7}]}',
    );
    expect(jobType).toMatchObject({
      producerId: 'prod_1',
      name: 'x',
      queue: Queue.QUEUE_LOW,
      maxRetries: 7,
    });
  });

  // A file misread as empty would be overwritten by the next create: refuse it instead.
  it.each([
    ['[]', 'the top level is not an object'],
    ['{"producer":[]}', 'unknown key "producer"'],
    ['{"producers":{}}', '"producers" is not an array'],
    ['{"producers":[1]}', 'producers[0] is not an object'],
    ['{"producers":[{"name":"x"}]}', 'producers[0] has no producerId'],
    [
      '{"producers":[{"producerId":"p","createdAt":42}]}',
      'producers[0].createdAt is not an RFC 3339 timestamp',
    ],
    ['{"producers":[', 'is not valid JSON'],
  ])('refuses a producers.json of the wrong shape: %s', (text, why) => {
    expect(() => decodeProducers(text)).toThrow(why);
  });

  it('refuses a job type without a name', () => {
    expect(() => decodeJobTypes('{"jobTypes":[{"producerId":"p"}]}')).toThrow(
      'jobTypes[0] has no name',
    );
  });
});
