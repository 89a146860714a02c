import { describe, expect, it } from 'vitest';
import { Queue } from '../gen/jack/storage.js';
import {
  decodeApiKeys,
  decodeJobTypes,
  decodeProducers,
  encodeApiKeys,
  encodeJobTypes,
  encodeProducers,
} from './codec.js';

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

  it('round-trips API keys with their hash as base64, and reads snake_case', () => {
    const stored = {
      key: {
        keyId: 'key_0123456789abcdef',
        producerId: 'prod_0a1b2c3d',
        description: 'ci',
        createdAt: new Date('2026-01-02T03:04:05Z'),
        role: 0,
      },
      tokenSha256: Buffer.alloc(32, 7),
    };
    const text = encodeApiKeys([stored]);
    expect(text).toContain('"apiKeys"');
    expect(text).toContain(Buffer.alloc(32, 7).toString('base64'));
    expect(decodeApiKeys(text)).toEqual([stored]);
    const [snake] = decodeApiKeys(
      '{"api_keys":[{"key":{"key_id":"key_1","producer_id":""},"token_sha256":"AAAA"}]}',
    );
    expect(snake?.key?.keyId).toBe('key_1');
    expect(decodeApiKeys(undefined)).toEqual([]);
  });

  it.each([
    ['{"apiKeys":[{"tokenSha256":"AAAA"}]}', 'apiKeys[0] has no key'],
    ['{"apiKeys":[{"key":{},"tokenSha256":"AAAA"}]}', 'apiKeys[0] has no keyId'],
    ['{"apiKeys":[{"key":{"keyId":"k"}}]}', 'apiKeys[0] has no base64 tokenSha256'],
    ['{"apiKeys":[{"key":{"keyId":"k"},"tokenSha256":"not base64!"}]}', 'has no base64'],
    [
      '{"apiKeys":[{"key":{"keyId":"k","createdAt":"soon"},"tokenSha256":"AAAA"}]}',
      'apiKeys[0].createdAt is not an RFC 3339 timestamp',
    ],
  ])('refuses an api_keys.json of the wrong shape: %s', (text, why) => {
    expect(() => decodeApiKeys(text)).toThrow(why);
  });
});
