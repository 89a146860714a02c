import { describe, expect, it } from 'vitest';
import { Queue } from '../gen/jack/storage.js';
import { buildSnapshot } from './snapshot.js';

const at = new Date(1_000);
const producer = (producerId: string) => ({
  producerId,
  name: producerId,
  description: '',
  rateLimitRps: 1000,
  principals: [],
  createdAt: at,
  updatedAt: at,
});

describe('snapshot', () => {
  it('hides job types and API keys whose producer is gone, but keeps admin keys', () => {
    const key = (keyId: string, producerId: string) => ({
      key: { keyId, producerId, description: '', createdAt: at, role: 0 },
      tokenSha256: Buffer.alloc(32),
    });
    const jobType = (producerId: string) => ({
      producerId,
      name: 'send',
      queue: Queue.QUEUE_HIGH,
      maxRetries: 3,
      description: '',
      createdAt: at,
      updatedAt: at,
    });
    const snapshot = buildSnapshot({
      producers: { generation: '1', records: [producer('prod_live')] },
      jobTypes: { generation: '1', records: [jobType('prod_live'), jobType('prod_gone')] },
      apiKeys: {
        generation: '1',
        records: [key('key_a', ''), key('key_b', 'prod_live'), key('key_c', 'prod_gone')],
      },
    });
    expect(
      [...snapshot.jobTypeByName.values()].flatMap((m) => [...m.values()]).map((t) => t.producerId),
    ).toEqual(['prod_live']);
    expect(snapshot.jobTypesByProducer.get('prod_gone')).toBeUndefined();
    expect(snapshot.apiKeys.map((k) => k.keyId)).toEqual(['key_a', 'key_b']);
    expect(snapshot.apiKeyById.has('key_c')).toBe(false);
    // The stored lists stay as read: another replica may simply be ahead.
    expect(snapshot.lists.jobTypes.records).toHaveLength(2);
  });
});
