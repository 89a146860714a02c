/**
 * Issue 3, EnqueueBulk on Pub/Sub: every accepted job is exactly one
 * message, and invalid jobs in a batch never reach a topic.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { EnqueueRequest } from '../../src/gen/jack/jack.js';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import { call, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createPubSubFixture, type PubSubFixture } from '../support/pubsub-topics.js';

/** A request of this file's usual producer and job type, then `fields`. */
const job = (fields: Partial<EnqueueRequest> = {}): EnqueueRequest =>
  enqueueRequest({
    producerId: 'prod_bulk',
    jobType: 'import_row',
    payload: Buffer.from('{}'),
    ...fields,
  });

describe.skipIf(skipWithoutEmulator())('Pub/Sub backend: EnqueueBulk', () => {
  let pubsub: PubSubFixture | undefined;
  let jack: RunningJack | undefined;
  afterEach(async () => {
    await jack?.close();
    await pubsub?.close();
  });

  async function setup(env: Record<string, string> = {}) {
    pubsub = await createPubSubFixture(pubsubEmulatorHost());
    jack = await startJack({ ...pubsub.env(), LOG_LEVEL: 'info', ...env });
    return { pubsub, jack };
  }

  it('delivers 1000 jobs, exactly one message each', async () => {
    const { pubsub, jack } = await setup();
    const jobs = Array.from({ length: 1000 }, (_, i) =>
      job({ payload: Buffer.from(`{"row":${i}}`), correlationId: `row-${i}` }),
    );
    const res = await call(jack.jobs, 'enqueueBulk', { jobs }, {}, 30_000);
    expect(res.results).toHaveLength(1000);
    expect(res.results.filter((r) => r.error !== '' || r.jobId === '')).toEqual([]);

    const messages = await pubsub.pull('medium', 1000, 60_000);
    expect(messages).toHaveLength(1000);
    const byJobId = new Map(messages.map((m) => [m.attributes.job_id, m]));
    expect(byJobId.size).toBe(1000);
    for (const [i, result] of res.results.entries()) {
      const message = byJobId.get(result.jobId);
      expect(message?.data.toString()).toBe(`{"row":${i}}`);
      expect(message?.attributes.correlation_id).toBe(`row-${i}`);
    }
  });

  it('publishes exactly the valid jobs of a batch and reports the others', async () => {
    const { pubsub, jack } = await setup({ MAX_PAYLOAD_BYTES: '16' });
    const res = await call(jack.jobs, 'enqueueBulk', {
      jobs: [
        job({ correlationId: 'ok-0' }),
        job({ producerId: '', correlationId: 'no-producer' }),
        job({ correlationId: 'ok-2' }),
        job({ payload: Buffer.alloc(17, 'x'), correlationId: 'too-large' }),
        job({ jobType: '', correlationId: 'no-type' }),
        job({ correlationId: 'ok-5' }),
      ],
    });
    expect(res.results.map((r) => [r.index, r.correlationId, r.reason])).toEqual([
      [0, 'ok-0', ''],
      [1, 'no-producer', 'validation_error'],
      [2, 'ok-2', ''],
      [3, 'too-large', 'payload_too_large'],
      [4, 'no-type', 'validation_error'],
      [5, 'ok-5', ''],
    ]);
    const accepted = res.results.filter((r) => r.jobId !== '');
    expect(accepted.map((r) => r.index)).toEqual([0, 2, 5]);

    const messages = await pubsub.pull('medium', 3);
    expect(messages.map((m) => [m.attributes.job_id, m.attributes.correlation_id]).sort()).toEqual(
      accepted.map((r) => [r.jobId, r.correlationId]).sort(),
    );
  });
});
